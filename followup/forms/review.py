"""Deciding on a returned form: accepted, or rejected with every problem and how to fix it.

Only errors reject; warnings travel with an accepted reply. The summary holds counts only, so it can be
shown to leadership and put in an acknowledgement without a child's name or circumstance.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from followup.domain.config import Requirement
from followup.forms.reading import ChildRow, FormProblem, read_children_list, read_periodic_report

#: Indicator a children list is compared with (rows with a special-circumstances group).
SPECIAL_INDICATOR = "tre_em_hcdb"


@dataclass
class Verdict:
    status: str  # accepted, rejected
    problems: list[FormProblem]
    summary: dict[str, Any]
    content: dict[str, Any] = field(default_factory=dict)
    children: list[ChildRow] = field(default_factory=list)

    @property
    def errors(self) -> list[FormProblem]:
        return [p for p in self.problems if p.severity == "error"]


def children_summary(rows: list[ChildRow]) -> dict[str, Any]:
    by_group = Counter(letter for row in rows for letter in row.groups)
    return {
        "rows": len(rows),
        "special": sum(1 for row in rows if row.groups),
        "difficult": sum(1 for row in rows if row.difficult),
        "by_group": dict(sorted(by_group.items())),
    }


def review(requirement: Requirement, data: bytes, filename: str, as_of: dt.date) -> Verdict:
    """Read and check one returned form against its requirement (UnreadableForm propagates)."""
    if requirement.form == "children-list":
        reading = read_children_list(data, filename, as_of=as_of)
        problems = list(reading.problems)
        status = "rejected" if reading.errors else "accepted"
        return Verdict(
            status, problems, children_summary(reading.rows), {}, reading.rows if status == "accepted" else []
        )
    report = read_periodic_report(data, filename, requirement)
    values = {k: v for k, v in report.values.items()}
    status = "rejected" if report.errors else "accepted"
    return Verdict(status, list(report.problems), {"values": values}, {"values": values, "narrative": report.narrative})


def cross_check(listed_special: int | None, report_values: dict[str, Any]) -> list[FormProblem]:
    """The report's count of children in special circumstances against the rows of the unit's list."""
    reported = report_values.get(SPECIAL_INDICATOR)
    if listed_special is None or reported is None or reported == listed_special:
        return []
    return [
        FormProblem.whole(
            f"Báo cáo ghi {reported} trẻ em có hoàn cảnh đặc biệt, nhưng danh sách đã gửi có {listed_special} trẻ "
            "thuộc nhóm hoàn cảnh đặc biệt. Vui lòng kiểm tra lại số liệu hoặc danh sách.",
            "warning",
            field=SPECIAL_INDICATOR,
        )
    ]


def problem_record(problem: FormProblem) -> dict[str, Any]:
    """How a problem is kept in the store: location and message, never the cell's content."""
    return {"where": problem.location_vi, "message": problem.message_vi, "severity": problem.severity}
