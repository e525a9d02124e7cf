"""Who hears from the office, and when: the reminder steps of a deadline, on working days.

Days count from the *last day to reply*: the 20/02 of "chậm nhất ngày 20/02", the 14/05 of "trước ngày 15/05".
A step before it (or on it) that falls on a day off moves to the working day before; a step after it moves to
the working day after; two steps on one day make one (the later). On a given day the step due is the latest
whose day has come: after days without a run one message catches up, never a burst. Pure functions: the
service knows what was already sent and who still owes what.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from followup.domain.calendar import OfficeCalendar
from followup.domain.config import ReminderPolicy
from followup.domain.periods import Due


@dataclass(frozen=True, order=True)
class Step:
    days: int  # from the last day to reply: -7 before it, 0 on it, 3 late

    @property
    def key(self) -> str:
        return f"{self.days:+d}" if self.days else "0"


LETTER = "letter"  # the công văn đôn đốc, once per requirement and period
ESCALATION = "escalation"  # leadership hears of the late units, once per requirement and period


def last_day(due: Due) -> dt.date:
    """The last day a reply counts as on time."""
    return (due.cutoff - dt.timedelta(microseconds=1)).date()


def schedule(policy: ReminderPolicy, calendar: OfficeCalendar, last: dt.date) -> list[tuple[Step, dt.date]]:
    """Every step of a deadline and the working day it falls on, in order."""
    offsets = [-d for d in policy.before] + ([0] if policy.on_the_day else []) + list(policy.after)
    if policy.then_every and offsets:
        day = max(offsets[-1], 0) + policy.then_every
        while day <= policy.stop_after:
            offsets.append(day)
            day += policy.then_every
    by_day: dict[dt.date, Step] = {}
    for offset in offsets:
        target = last + dt.timedelta(days=offset)
        when = calendar.on_or_before(target) if offset <= 0 else calendar.on_or_after(target)
        by_day[when] = max(by_day.get(when, Step(offset)), Step(offset))
    return sorted(((step, day) for day, step in by_day.items()), key=lambda pair: pair[1])


def step_due(
    policy: ReminderPolicy, calendar: OfficeCalendar, last: dt.date, today: dt.date, issued: dt.date | None = None
) -> Step | None:
    """The step a unit that still owes the reply should hear of today; None on a day off or before any step.

    Steps on or before ``issued`` (the day the directive went out) are not caught up: a unit that received the
    letter on 14/02 does not hear of the -7 step of 13/02 the next morning, but of the next step when it comes.
    """
    if not calendar.works(today) or (today - last).days > policy.stop_after:
        return None
    came = [step for step, day in schedule(policy, calendar, last) if day <= today and (not issued or day > issued)]
    return came[-1] if came else None


def days_late(last: dt.date, today: dt.date) -> int:
    """Positive when late, 0 on the last day, negative while there is time left."""
    return (today - last).days


def threshold_reached(after: int | None, calendar: OfficeCalendar, last: dt.date, today: dt.date) -> bool:
    """Whether a letter or an escalation set ``after`` days late is due today (on a working day)."""
    if after is None or not calendar.works(today):
        return False
    return after <= days_late(last, today)


def remaining_words(last: dt.date, today: dt.date) -> str:
    """What a reminder says of the time: "còn 3 ngày", "hôm nay là hạn cuối", "đã quá hạn 2 ngày"."""
    late = days_late(last, today)
    if late < 0:
        return f"còn {-late} ngày"
    if late == 0:
        return "hôm nay là hạn cuối"
    return f"đã quá hạn {late} ngày"
