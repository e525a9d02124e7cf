"""Who has replied: per requirement and period, each unit's state and the completeness figures.

Counted as DHIS2 counts data sets: expected = the units a requirement applies to; actual = units with
an accepted reply; on time = accepted no later than the deadline; a rejected reply is not actual until a
corrected one is accepted. Pure functions: the store hands in facts, these give the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from followup.domain.periods import Due
from followup.domain.states import SubmissionStatus
from followup.domain.states import UnitState as State

OWING = (State.MISSING, State.REJECTED)  # a reply in triage waits for the clerk, not for the unit


@dataclass(frozen=True)
class Fact:
    """One submission as the status needs it."""

    unit: str
    status: SubmissionStatus
    received_at: dt.datetime


@dataclass(frozen=True)
class UnitState:
    unit: str
    state: State
    received_at: dt.datetime | None  # of the reply that decides the state
    replies: int  # submissions received up to as_of
    overdue: bool  # missing (or only rejected) and past the deadline


def unit_state(unit: str, facts: Iterable[Fact], due: Due, as_of: dt.datetime) -> UnitState:
    seen = sorted(
        (f for f in facts if f.received_at <= as_of and SubmissionStatus(f.status).counts_as_reply),
        key=lambda f: f.received_at,
    )
    past_due = as_of >= due.cutoff
    accepted = [f for f in seen if SubmissionStatus(f.status).was_accepted]
    if accepted:
        first = accepted[0]
        state = State.ON_TIME if due.on_time(first.received_at) else State.LATE
        return UnitState(unit, state, first.received_at, len(seen), False)
    for status, state in ((SubmissionStatus.REJECTED, State.REJECTED), (SubmissionStatus.TRIAGE, State.PENDING)):
        latest = [f for f in seen if f.status == status]
        if latest:
            return UnitState(unit, state, latest[-1].received_at, len(seen), past_due)
    return UnitState(unit, State.MISSING, None, len(seen), past_due)


@dataclass
class SlotStatus:
    directive: str
    requirement: str
    period: str
    due_date: dt.date
    as_of: dt.datetime
    units: list[UnitState] = field(default_factory=list)

    def count(self, state: State) -> int:
        return sum(1 for u in self.units if u.state == state)

    @property
    def expected(self) -> int:
        return len(self.units)

    @property
    def accepted(self) -> int:
        return self.count(State.ON_TIME) + self.count(State.LATE)

    @property
    def reporting_rate(self) -> float:
        return self.accepted / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.count(State.ON_TIME) / self.expected if self.expected else 0.0

    def counts(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "accepted": self.accepted,
            "on_time": self.count(State.ON_TIME),
            "late": self.count(State.LATE),
            "rejected": self.count(State.REJECTED),
            "pending": self.count(State.PENDING),
            "missing": self.count(State.MISSING),
            "overdue": sum(1 for u in self.units if u.overdue),
            "reporting_rate": round(self.reporting_rate, 4),
            "on_time_rate": round(self.on_time_rate, 4),
        }


class Only(StrEnum):
    """The units the clerk asks to see (``followup status --only``), in the words of the question."""

    MISSING = "missing"  # still owe a reply: nothing accepted, nothing waiting in triage (rejected included)
    LATE = "late"  # the deadline caught them: accepted after it, or still owing a reply past it
    REJECTED = "rejected"  # their reply was rejected and no corrected one was accepted


def selected(unit: UnitState, only: Only) -> bool:
    """Whether a unit answers the clerk's question; a reply waiting in triage is the clerk's, not the unit's."""
    if only is Only.MISSING:
        return unit.state in OWING
    if only is Only.LATE:
        return unit.state == State.LATE or (unit.state in OWING and unit.overdue)
    return unit.state == State.REJECTED


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
