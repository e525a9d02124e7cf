"""The office's working days and the reminder steps on them, checked against the 2023 calendar by hand.

2023: Tết is 20-26/01 (29 tháng Chạp to mùng 5); 29/04 (Giỗ Tổ, a Saturday), 30/04 (a Sunday) and 01/05 are
holidays, and 02/05 and 03/05 are the substitute days of the two that fell on the weekend.
"""

from __future__ import annotations

import datetime as dt

import pytest

from followup.domain.calendar import OfficeCalendar
from followup.domain.config import ReminderPolicy
from followup.domain.periods import due_in
from followup.domain.reminders import Step, last_day, remaining_words, schedule, step_due, threshold_reached

POLICY = ReminderPolicy()  # schedules.yaml's: before [7, 3, 1], on the day, after [1, 3, 7], weekly to 90
OFFICE = OfficeCalendar()


def d(text: str) -> dt.date:
    """'13/02' is 13/02/2023."""
    day, month = map(int, text.split("/"))
    return dt.date(2023, month, day)


def days(first: str, last: str) -> list[dt.date]:
    start, end = d(first), d(last)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def steps(pairs: list[tuple[Step, dt.date]]) -> list[tuple[str, str]]:
    return [(step.key, f"{day:%d/%m}") for step, day in pairs]


# --------------------------------------------------------------------------- working days


def test_tet_2023_is_off_from_20_to_26_january():
    assert [day for day in days("16/01", "31/01") if OFFICE.works(day)] == [
        d("16/01"), d("17/01"), d("18/01"), d("19/01"), d("27/01"), d("30/01"), d("31/01"),
    ]  # fmt: skip
    assert OFFICE.on_or_before(d("24/01")) == d("19/01")
    assert OFFICE.on_or_after(d("20/01")) == d("27/01")


def test_30_april_and_1_may_2023_are_off_with_their_substitute_days():
    off = [day for day in days("27/04", "05/05") if not OFFICE.works(day)]
    assert off == [d("29/04"), d("30/04"), d("01/05"), d("02/05"), d("03/05")]
    assert OFFICE.on_or_after(d("29/04")) == d("04/05")
    assert OFFICE.on_or_before(d("03/05")) == d("28/04")
    assert OFFICE.add_working_days(d("27/04"), 2) == d("04/05")


def test_new_year_2023_falls_on_a_sunday_and_monday_2_january_is_off():
    assert not OFFICE.works(d("01/01")) and not OFFICE.works(d("02/01")) and OFFICE.works(d("03/01"))


def test_saturdays_are_off_unless_the_office_works_them():
    saturday, sunday = d("18/02"), d("19/02")
    assert not OFFICE.works(saturday) and not OFFICE.works(sunday)
    works_saturdays = OfficeCalendar(saturday_works=True)
    assert works_saturdays.works(saturday) and not works_saturdays.works(sunday)
    assert not works_saturdays.works(d("29/04"))  # Giỗ Tổ on a Saturday is a holiday all the same
    assert not works_saturdays.works(d("21/01"))  # and so is Saturday in Tết
    assert works_saturdays.on_or_before(sunday) == saturday


def test_the_offices_own_days_off_are_added():
    bridge = OfficeCalendar(days_off=[d("04/05"), dt.date(2024, 2, 19)])
    assert not bridge.works(d("04/05")) and bridge.works(d("05/05"))
    assert bridge.on_or_after(d("29/04")) == d("05/05")
    assert not bridge.works(dt.date(2024, 2, 19))  # a day off of another year is kept too
    assert OFFICE.works(d("04/05"))  # the shared calendar is not changed


# --------------------------------------------------------------------------- the steps of a deadline


def test_the_list_due_20_february_its_steps_by_hand(children_req, config):
    last = last_day(due_in(children_req, 2023, config.tz))
    assert last == d("20/02")  # "chậm nhất ngày 20/02/2023": the day itself is on time
    # -1 is Sunday 19/02: it moves back to Friday 17/02, where -3 already is, and the two make one (-1).
    # +70 is 01/05: off, and so are 02/05 and 03/05; it moves on to Thursday 04/05.
    assert steps(schedule(POLICY, OFFICE, last)) == [
        ("-7", "13/02"), ("-1", "17/02"), ("0", "20/02"), ("+1", "21/02"), ("+3", "23/02"), ("+7", "27/02"),
        ("+14", "06/03"), ("+21", "13/03"), ("+28", "20/03"), ("+35", "27/03"), ("+42", "03/04"),
        ("+49", "10/04"), ("+56", "17/04"), ("+63", "24/04"), ("+70", "04/05"), ("+77", "08/05"),
        ("+84", "15/05"),
    ]  # fmt: skip


def test_the_first_half_report_due_before_15_may_its_steps_by_hand(report_req, config):
    last = last_day(due_in(report_req, 2023, config.tz))
    assert last == d("14/05")  # "trước ngày 15/05": 15/05 is late; 14/05 is a Sunday
    # -7 is Sunday 07/05 -> Friday 05/05. -1 (Saturday) and the day itself (Sunday) both move back to Friday
    # 12/05 and make one: the on-the-day step. +7 is Sunday 21/05 -> Monday 22/05, and every week after it.
    assert steps(schedule(POLICY, OFFICE, last)) == [
        ("-7", "05/05"), ("-3", "11/05"), ("0", "12/05"), ("+1", "15/05"), ("+3", "17/05"), ("+7", "22/05"),
        ("+14", "29/05"), ("+21", "05/06"), ("+28", "12/06"), ("+35", "19/06"), ("+42", "26/06"),
        ("+49", "03/07"), ("+56", "10/07"), ("+63", "17/07"), ("+70", "24/07"), ("+77", "31/07"),
        ("+84", "07/08"),
    ]  # fmt: skip
    assert remaining_words(last, d("12/05")) == "còn 2 ngày"  # the Friday says how many days are left
    assert remaining_words(last, d("15/05")) == "đã quá hạn 1 ngày"


def test_steps_through_tet_move_before_and_after_it_and_make_one_a_day():
    last = d("27/01")  # the Friday after Tết
    # -7, -3 and -1 (20/01, 24/01, 26/01) all fall in Tết: back to Thursday 19/01, one step (-1).
    # +1 (Saturday 28/01) and +3 (Monday 30/01) make one on 30/01 (+3).
    assert steps(schedule(POLICY, OFFICE, last)[:5]) == [
        ("-1", "19/01"), ("0", "27/01"), ("+3", "30/01"), ("+7", "03/02"), ("+14", "10/02"),
    ]  # fmt: skip
    assert step_due(POLICY, OFFICE, last, d("19/01")) == Step(-1)
    assert all(step_due(POLICY, OFFICE, last, day) is None for day in days("20/01", "26/01"))
    assert step_due(POLICY, OFFICE, last, d("31/01")) == Step(3)  # nothing new, the last step that came

    before_tet = d("19/01")  # a deadline on the Thursday before Tết: +1, +3 and +7 all land on 27/01
    assert steps(schedule(POLICY, OFFICE, before_tet)[:6]) == [
        ("-7", "12/01"), ("-3", "16/01"), ("-1", "18/01"), ("0", "19/01"), ("+7", "27/01"), ("+14", "02/02"),
    ]  # fmt: skip


def test_an_on_the_day_step_on_a_holiday_moves_to_the_working_day_before():
    last = d("01/05")  # a Monday, and a holiday
    assert steps(schedule(POLICY, OFFICE, last)[:5]) == [
        ("-7", "24/04"), ("0", "28/04"), ("+3", "04/05"), ("+7", "08/05"), ("+14", "15/05"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (ReminderPolicy(before=[2], on_the_day=False, after=[2], then_every=None), [("-2", "17/02"), ("+2", "22/02")]),
        (ReminderPolicy(before=[], on_the_day=True, after=[], then_every=None), [("0", "20/02")]),
        (ReminderPolicy(before=[1], on_the_day=False, after=[], then_every=30, stop_after=60),
         [("-1", "17/02"), ("+30", "22/03"), ("+60", "21/04")]),
    ],
)  # fmt: skip
def test_other_policies(policy, expected):  # -2 is Saturday 18/02: Friday 17/02
    assert steps(schedule(policy, OFFICE, d("20/02"))) == expected


def test_the_step_due_on_a_day_is_the_latest_that_came_and_nothing_on_a_day_off():
    last = d("20/02")
    assert step_due(POLICY, OFFICE, last, d("10/02")) is None  # before the first step
    assert step_due(POLICY, OFFICE, last, d("13/02")) == Step(-7)
    assert step_due(POLICY, OFFICE, last, d("16/02")) == Step(-7)
    assert step_due(POLICY, OFFICE, last, d("18/02")) is None  # Saturday
    assert step_due(POLICY, OFFICE, last, d("19/02")) is None  # Sunday
    assert step_due(POLICY, OFFICE, last, d("22/02")) == Step(1)
    assert step_due(POLICY, OFFICE, last, d("24/02")) == Step(3)
    assert step_due(POLICY, OFFICE, last, d("02/05")) is None  # substitute day of Giỗ Tổ
    assert step_due(POLICY, OFFICE, last, d("04/05")) == Step(70)
    assert step_due(POLICY, OFFICE, last, d("19/05")) == Step(84)
    assert step_due(POLICY, OFFICE, last, d("22/05")) is None  # 91 days late: no longer reminded


def test_steps_on_or_before_the_day_the_directive_went_out_are_not_caught_up():
    last = d("20/02")
    assert step_due(POLICY, OFFICE, last, d("14/02"), issued=d("13/02")) is None  # -7 was the day it went out
    assert step_due(POLICY, OFFICE, last, d("16/02"), issued=d("13/02")) is None
    assert step_due(POLICY, OFFICE, last, d("17/02"), issued=d("13/02")) == Step(-1)
    assert step_due(POLICY, OFFICE, last, d("14/02"), issued=d("10/01")) == Step(-7)
    assert step_due(POLICY, OFFICE, last, d("06/03"), issued=d("01/03")) == Step(14)  # sent after the deadline


def test_thresholds_count_days_late_on_working_days():
    last = d("14/05")
    assert not threshold_reached(7, OFFICE, last, d("19/05"))  # 5 days late
    assert not threshold_reached(7, OFFICE, last, d("21/05"))  # 7 days late, but a Sunday
    assert threshold_reached(7, OFFICE, last, d("22/05"))
    assert not threshold_reached(None, OFFICE, last, d("22/05"))
