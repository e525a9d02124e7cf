"""Deciding on a returned form: accepted, or rejected with every problem and how to fix it.

Only errors reject; warnings travel with an accepted reply. How a form is read is its kind's business
(``followup.forms.registry``); what is decided from the reading is the same for every kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from followup.domain.config import Requirement
from followup.domain.summaries import ListSummary, ReportSummary
from followup.forms.problems import FormProblem

if TYPE_CHECKING:  # the kinds import this module
    from followup.forms.children_list import ChildRow


@dataclass
class Verdict:
    status: str  # accepted, rejected
    problems: list[FormProblem]
    summary: ListSummary | ReportSummary | None = None
    children: list[ChildRow] = field(default_factory=list)

    @classmethod
    def decide(
        cls, problems: Iterable[FormProblem], summary: ListSummary | ReportSummary, children: Iterable[ChildRow] = ()
    ) -> Verdict:
        """Accepted unless a problem is an error; the children of a rejected list are not kept."""
        problems = list(problems)
        status = "rejected" if any(p.severity == "error" for p in problems) else "accepted"
        return cls(status, problems, summary, list(children) if status == "accepted" else [])

    @property
    def errors(self) -> list[FormProblem]:
        return [p for p in self.problems if p.severity == "error"]

    def stored(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(summary, content) as the store keeps them: counts in ``summary``, which leadership may see; a
        report's narrative, free text that may name a child, only in ``content``."""
        if isinstance(self.summary, ReportSummary):
            return {"values": self.summary.values}, self.summary.to_json()
        return (self.summary.to_json() if self.summary else {}), {}


def cross_check(requirement: Requirement, report: ReportSummary, lists: Mapping[str, ListSummary]) -> list[FormProblem]:
    """The checks the directive declares between a report and the same unit's accepted lists, by requirement code.

    Warnings only: either side may be the one to correct. A list not received yet, or a value not given, is
    not compared.
    """
    labels = {indicator.code: indicator.label for indicator in requirement.indicators}
    problems = []
    for check in requirement.cross_checks:
        reported, listed = report.values.get(check.indicator), lists.get(check.of)
        if reported is None or listed is None or reported == listed.count(check.equals):
            continue
        message = check.message.format(
            reported=reported, listed=listed.count(check.equals), label=labels.get(check.indicator, check.indicator)
        )
        problems.append(FormProblem.whole(message, "warning", field=check.indicator))
    return problems
