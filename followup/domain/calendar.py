"""The office's working days: no reminder lands on a day off.

Days off are Sundays, Saturdays unless the office works them, Vietnamese public holidays as the ``holidays``
package knows them (Tết and the substitute days included), and the office's own days off from
schedules.yaml.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property

from holidays.countries import Vietnam


class OfficeHolidays(Vietnam):
    """Vietnam's public holidays plus the office's own days off."""

    def __init__(self, extra: Iterable[dt.date] = (), **kwargs: object):
        self._extra = tuple(extra)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _populate(self, year: int) -> None:
        super()._populate(year)
        for day in self._extra:
            if day.year == year:
                self[day] = "Nghỉ theo lịch của cơ quan"


class OfficeCalendar:
    def __init__(self, saturday_works: bool = False, days_off: Iterable[dt.date] = ()):
        self.saturday_works = saturday_works
        self._days_off = tuple(days_off)

    @cached_property
    def holidays(self) -> OfficeHolidays:
        return OfficeHolidays(self._days_off)

    def works(self, day: dt.date) -> bool:
        weekday = day.weekday()
        if weekday == 6 or (weekday == 5 and not self.saturday_works):
            return False
        return day not in self.holidays

    def on_or_before(self, day: dt.date) -> dt.date:
        """The working day itself, else the last one before it."""
        while not self.works(day):
            day -= dt.timedelta(days=1)
        return day

    def on_or_after(self, day: dt.date) -> dt.date:
        while not self.works(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """``count`` working days after ``day``."""
        while count > 0:
            day += dt.timedelta(days=1)
            count -= self.works(day)
        return day
