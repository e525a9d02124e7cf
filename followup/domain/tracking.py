"""Who has replied: per requirement and period, each unit's state and the completeness figures.

Counted as DHIS2 counts data sets: expected = the units a requirement applies to; actual = units with
an accepted reply; on time = accepted no later than the deadline; a rejected reply is not actual until a
corrected one is accepted. Pure functions: the store hands in facts, these give the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from followup.domain.periods import Due

ACCEPTED = ("accepted", "superseded")  # a superseded reply was accepted in its time

STATES = ("on_time", "late", "rejected", "pending", "missing")


@dataclass(frozen=True)
class Fact:
    """One submission as the status needs it."""

    unit: str
    status: str  # accepted, superseded, rejected, triage, discarded
    received_at: dt.datetime


@dataclass(frozen=True)
class UnitState:
    unit: str
    state: str  # one of STATES
    received_at: dt.datetime | None  # of the reply that decides the state
    replies: int  # submissions received up to as_of
    overdue: bool  # missing (or only rejected) and past the deadline


def unit_state(unit: str, facts: Iterable[Fact], due: Due, as_of: dt.datetime) -> UnitState:
    seen = sorted(
        (f for f in facts if f.received_at <= as_of and f.status not in ("discarded", "assigned")),
        key=lambda f: f.received_at,
    )
    past_due = as_of >= due.cutoff
    accepted = [f for f in seen if f.status in ACCEPTED]
    if accepted:
        first = accepted[0]
        state = "on_time" if due.on_time(first.received_at) else "late"
        return UnitState(unit, state, first.received_at, len(seen), False)
    for status, state in (("rejected", "rejected"), ("triage", "pending")):
        latest = [f for f in seen if f.status == status]
        if latest:
            return UnitState(unit, state, latest[-1].received_at, len(seen), past_due)
    return UnitState(unit, "missing", None, len(seen), past_due)


@dataclass
class SlotStatus:
    directive: str
    requirement: str
    period: str
    due_date: dt.date
    as_of: dt.datetime
    units: list[UnitState] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for u in self.units if u.state == state)

    @property
    def expected(self) -> int:
        return len(self.units)

    @property
    def accepted(self) -> int:
        return self.count("on_time") + self.count("late")

    @property
    def reporting_rate(self) -> float:
        return self.accepted / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.count("on_time") / self.expected if self.expected else 0.0

    def counts(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "accepted": self.accepted,
            "on_time": self.count("on_time"),
            "late": self.count("late"),
            "rejected": self.count("rejected"),
            "pending": self.count("pending"),
            "missing": self.count("missing"),
            "overdue": sum(1 for u in self.units if u.overdue),
            "reporting_rate": round(self.reporting_rate, 4),
            "on_time_rate": round(self.on_time_rate, 4),
        }


def slot_status(
    directive: str,
    due: Due,
    expected_units: Iterable[str],
    facts: Mapping[str, list[Fact]],
    as_of: dt.datetime,
) -> SlotStatus:
    """The state of every expected unit for one requirement and period, as of a moment."""
    status = SlotStatus(directive, due.requirement, str(due.period), due.due_date, as_of)
    status.units = [unit_state(unit, facts.get(unit, []), due, as_of) for unit in expected_units]
    return status
