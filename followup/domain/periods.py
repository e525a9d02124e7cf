"""Periods and deadlines: which reply is due when, and whether it came on time.

A requirement asks for one reply per unit and period. A one-off deadline (20/02/2023) has one period,
its year; a recurring one (15/05) has one per year from the directive's year on. "Trước ngày 15/05"
makes 15/05 itself late; "chậm nhất ngày 20/02" keeps the day itself on time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from followup.domain.config import Directive, Requirement
from followup.i18n import _

PERIOD_RE = re.compile(r"^(\d{4})(?:-(H1))?$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    half: int | None = None  # 1 for the first half; None for the whole year

    @classmethod
    def parse(cls, text: str) -> Period:
        match = PERIOD_RE.match(text.strip())
        if not match:
            raise ValueError(
                _("period {text} does not parse; write 2023 for a year or 2023-H1 for its first half").format(
                    text=repr(text)
                )
            )
        return cls(int(match[1]), 1 if match[2] else None)

    def __str__(self) -> str:
        return f"{self.year}-H{self.half}" if self.half else str(self.year)

    @property
    def label_vi(self) -> str:
        return f"6 tháng đầu năm {self.year}" if self.half == 1 else f"năm {self.year}"


@dataclass(frozen=True)
class Due:
    """One reply expected for a requirement and period, and the moment it turns late."""

    requirement: str
    period: Period
    due_date: dt.date  # the date printed in the letter
    cutoff: dt.datetime  # replies received before this moment are on time
    opens: dt.date | None = None  # replies received before this day report on a period that is not over

    def premature(self, received: dt.datetime) -> bool:
        return self.opens is not None and received.astimezone(self.cutoff.tzinfo).date() < self.opens

    def on_time(self, received: dt.datetime) -> bool:
        return received < self.cutoff


def period_for(requirement: Requirement, year: int) -> Period:
    return Period(year, 1 if requirement.period == "H1" else None)


def due_in(requirement: Requirement, year: int, tz: dt.tzinfo) -> Due:
    """The reply a requirement expects for the period of ``year``."""
    deadline = requirement.deadline
    due_date = dt.date(deadline.year or year, deadline.month, deadline.day)
    last_day = due_date - dt.timedelta(days=1) if requirement.before else due_date
    cutoff = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz)
    opens = due_date - dt.timedelta(days=requirement.window_days) if requirement.window_days else None
    return Due(requirement.code, period_for(requirement, deadline.year or year), due_date, cutoff, opens)


def dues(directive: Directive, requirement: Requirement, until: dt.date, tz: dt.tzinfo) -> list[Due]:
    """Every period the requirement has opened from the directive's year up to ``until``'s year."""
    if not requirement.recurring:
        return [due_in(requirement, requirement.deadline.year or directive.year, tz)]
    return [due_in(requirement, year, tz) for year in range(directive.year, max(until.year, directive.year) + 1)]


def due_for(directive: Directive, requirement: Requirement, period: Period, tz: dt.tzinfo) -> Due:
    """The reply expected for a given period; raises ValueError naming the periods that exist."""
    expected = period_for(requirement, period.year)
    if period != expected or (not requirement.recurring and period.year != requirement.deadline.year):
        first = requirement.deadline.year or directive.year
        raise ValueError(
            _("requirement {code} has no period {period}; its periods look like {example}").format(
                code=repr(requirement.code), period=period, example=period_for(requirement, first)
            )
        )
    return due_in(requirement, period.year, tz)


def first_due(directive: Directive, requirement: Requirement, on: dt.date, tz: dt.tzinfo) -> Due:
    """The period a dispatch on ``on`` asks for: the first whose deadline is not yet past, else the last."""
    options = dues(directive, requirement, on.replace(year=on.year + 1), tz)
    for due in options:
        if due.due_date >= on:
            return due
    return options[-1]
