"""The product's clock: one place every command asks for the time.

``FOLLOWUP_NOW`` sets it (an ISO date or date-time), so the 2023 seed can be played through today in
demos, tests and replays. Without it, the real clock. Times are aware, in the office's zone.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def parse_moment(text: str, tz: dt.tzinfo = OFFICE_TZ) -> dt.datetime:
    """Read an ISO date (taken as 08:00 that morning) or date-time; naive times are office time."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not an ISO date or date-time; write e.g. 2023-02-06 or 2023-02-06T08:00+07:00"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def end_of(text: str, tz: dt.tzinfo = OFFICE_TZ) -> dt.datetime:
    """A moment as "the state as of": a bare date means the end of that day, a date-time itself."""
    moment = parse_moment(text, tz)
    return moment.replace(hour=23, minute=59, second=59) if len(text.strip()) == 10 else moment


def now(tz: dt.tzinfo = OFFICE_TZ) -> dt.datetime:
    """The current moment as the product believes it: FOLLOWUP_NOW if set, else the real clock."""
    fixed = os.environ.get("FOLLOWUP_NOW")
    if fixed:
        return parse_moment(fixed, tz).astimezone(tz)
    return dt.datetime.now(tz)


def today(tz: dt.tzinfo = OFFICE_TZ) -> dt.date:
    return now(tz).date()
