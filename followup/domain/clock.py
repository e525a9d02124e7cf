"""The product's clock: one place every command asks for the time, in the office's time zone.

The zone is the one of ``schedules.yaml``. ``FOLLOWUP_NOW`` fixes the moment (an ISO date or date-time),
so the 2023 seed can be played through today in demos, tests and replays. Without it, the real clock.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from followup.i18n import _


@dataclass(frozen=True)
class Clock:
    tz: dt.tzinfo
    fixed: dt.datetime | None = None

    @classmethod
    def from_env(cls, tz: dt.tzinfo) -> Clock:
        fixed = os.environ.get("FOLLOWUP_NOW")
        return cls(tz, parse_moment(fixed, tz) if fixed else None)

    def now(self) -> dt.datetime:
        """The current moment as the product believes it: FOLLOWUP_NOW if set, else the real clock."""
        if self.fixed is not None:
            return self.fixed.astimezone(self.tz)
        return dt.datetime.now(self.tz)

    def today(self) -> dt.date:
        return self.now().date()

    def local(self, moment: dt.datetime) -> dt.datetime:
        """A stored (UTC) moment as the office reads it."""
        return moment.astimezone(self.tz)

    def moment(self, text: str) -> dt.datetime:
        return parse_moment(text, self.tz)

    def end_of(self, text: str) -> dt.datetime:
        """A moment as "the state as of": a bare date means the end of that day, a date-time itself."""
        moment = parse_moment(text, self.tz)
        return moment.replace(hour=23, minute=59, second=59) if len(text.strip()) == 10 else moment


def parse_moment(text: str, tz: dt.tzinfo) -> dt.datetime:
    """Read an ISO date (taken as 08:00 that morning) or date-time; naive times are office time."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            _("{text} is not an ISO date or date-time; write e.g. 2023-02-06 or 2023-02-06T08:00+07:00").format(
                text=repr(text)
            )
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
