"""Completeness as DHIS2 counts it, computed here independently of the code under test."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from followup.domain.periods import Due, Period
from followup.domain.tracking import Fact, Only, selected, slot_status

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = Due("danh-sach-tre-em", Period(2023), dt.date(2023, 2, 20), dt.datetime(2023, 2, 21, tzinfo=TZ))


def at(day: int, hour: int = 9, month: int = 2) -> dt.datetime:
    return dt.datetime(2023, month, day, hour, tzinfo=TZ)


FACTS = {
    "A": [Fact("A", "accepted", at(10))],  # on time
    "B": [Fact("B", "rejected", at(12)), Fact("B", "accepted", at(25))],  # corrected after the deadline: late
    "C": [Fact("C", "rejected", at(15))],  # still waiting for a correction
    "D": [Fact("D", "superseded", at(11)), Fact("D", "accepted", at(22))],  # on time, then replaced
    "E": [Fact("E", "triage", at(18))],  # a scan waiting for the clerk
    "F": [],  # never
    "G": [Fact("G", "discarded", at(12))],  # set aside by the clerk: as if never sent
}


def test_states_and_rates_after_the_deadline():
    status = slot_status("d", DUE, list(FACTS), FACTS, at(28))
    states = {u.unit: u.state for u in status.units}
    assert states == {
        "A": "on_time",
        "B": "late",
        "C": "rejected",
        "D": "on_time",
        "E": "pending",
        "F": "missing",
        "G": "missing",
    }
    counts = status.counts()
    assert counts["expected"] == 7 and counts["accepted"] == 3 and counts["on_time"] == 2 and counts["late"] == 1
    assert counts["reporting_rate"] == round(3 / 7, 4) and counts["on_time_rate"] == round(2 / 7, 4)
    assert counts["overdue"] == 4  # C, E, F, G: nothing accepted and the deadline has passed


def test_as_of_before_the_deadline_sees_only_what_had_arrived():
    status = slot_status("d", DUE, list(FACTS), FACTS, at(14))
    states = {u.unit: u.state for u in status.units}
    assert states == {
        "A": "on_time",
        "B": "rejected",
        "C": "missing",
        "D": "on_time",
        "E": "missing",
        "F": "missing",
        "G": "missing",
    }
    assert status.counts()["overdue"] == 0  # nobody is late before the deadline


def test_only_picks_the_units_that_answer_the_clerks_question():
    def picked(only: Only, moment: dt.datetime) -> set[str]:
        return {u.unit for u in slot_status("d", DUE, list(FACTS), FACTS, moment).units if selected(u, only)}

    # after the deadline: C's reply was rejected, F and G sent nothing (G's was set aside); E's scan waits for the
    # clerk, so E owes nothing yet; B's correction came after the deadline
    assert picked(Only.MISSING, at(28)) == {"C", "F", "G"}
    assert picked(Only.REJECTED, at(28)) == {"C"}
    assert picked(Only.LATE, at(28)) == {"B", "C", "F", "G"}
    # before it, nobody is late yet, though some still owe (E's scan has not come yet)
    assert picked(Only.LATE, at(16)) == set()
    assert picked(Only.MISSING, at(16)) == {"B", "C", "E", "F", "G"}
