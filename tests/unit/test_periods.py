"""Deadlines as the letter states them: which period a reply is for, and when it turns late."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from followup.domain.clock import Clock, parse_moment
from followup.domain.periods import Period, due_for, dues, first_due

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(text: str) -> dt.datetime:
    return parse_moment(text, TZ)


def test_children_list_day_itself_is_on_time(config):
    directive = config.directive("2023-child-protection")
    due = first_due(directive, directive.requirement("danh-sach-tre-em"), dt.date(2023, 2, 6), TZ)
    assert str(due.period) == "2023" and due.due_date == dt.date(2023, 2, 20)
    assert due.on_time(at("2023-02-20T23:59"))
    assert not due.on_time(at("2023-02-21T00:00"))


def test_before_15_may_makes_the_15th_late(config):
    directive = config.directive("2023-child-protection")
    due = first_due(directive, directive.requirement("bao-cao-6-thang"), dt.date(2023, 2, 6), TZ)
    assert str(due.period) == "2023-H1"
    assert due.on_time(at("2023-05-14T17:00"))
    assert not due.on_time(at("2023-05-15T07:30"))


def test_recurring_requirements_open_a_period_every_year(config):
    directive = config.directive("2023-child-protection")
    annual = directive.requirement("bao-cao-nam")
    assert [str(d.period) for d in dues(directive, annual, dt.date(2025, 1, 1), TZ)] == ["2023", "2024", "2025"]
    assert [
        str(d.period) for d in dues(directive, directive.requirement("danh-sach-tre-em"), dt.date(2026, 1, 1), TZ)
    ] == ["2023"]
    assert due_for(directive, annual, Period.parse("2024"), TZ).due_date == dt.date(2024, 11, 10)
    with pytest.raises(ValueError, match="has no period 2024-H1; its periods look like 2023"):
        due_for(directive, annual, Period.parse("2024-H1"), TZ)


def test_dispatch_after_the_deadline_asks_for_next_year(config):
    directive = config.directive("2023-child-protection")
    due = first_due(directive, directive.requirement("bao-cao-6-thang"), dt.date(2023, 6, 1), TZ)
    assert str(due.period) == "2024-H1"


@pytest.mark.parametrize("text", ["2023-H2", "23", "2023-h1x", ""])
def test_bad_period_is_explained(text):
    with pytest.raises(ValueError, match="write 2023 for a year or 2023-H1"):
        Period.parse(text)


def test_the_clock_follows_followup_now_in_the_office_zone(monkeypatch):
    def now():
        return Clock.from_env(TZ).now()

    monkeypatch.setenv("FOLLOWUP_NOW", "2023-02-06")
    assert now() == dt.datetime(2023, 2, 6, 8, 0, tzinfo=TZ)
    monkeypatch.setenv("FOLLOWUP_NOW", "2023-02-06T01:00:00+00:00")
    assert now().hour == 8 and now().utcoffset() == dt.timedelta(hours=7)
    monkeypatch.setenv("FOLLOWUP_NOW", "6/2/2023")
    with pytest.raises(ValueError, match="not an ISO date"):
        now()
    monkeypatch.delenv("FOLLOWUP_NOW")
    assert abs((now() - dt.datetime.now(dt.UTC)).total_seconds()) < 5
    other = Clock.from_env(ZoneInfo("Europe/Paris")).now()
    assert other.utcoffset() != now().utcoffset()  # the zone is the configured one, not a constant


def test_a_report_before_its_window_is_premature(directive):
    """The first-half report counts from 60 days before 15/05 (the seed's window); earlier it reports on too little."""
    due = first_due(directive, directive.requirement("bao-cao-6-thang"), dt.date(2023, 2, 6), TZ)
    assert due.opens == dt.date(2023, 3, 16)
    assert due.premature(at("2023-02-10T09:00"))
    assert not due.premature(at("2023-03-16T07:00"))
    one_off = first_due(directive, directive.requirement("danh-sach-tre-em"), dt.date(2023, 2, 6), TZ)
    assert one_off.opens is None and not one_off.premature(at("2023-01-02T09:00"))
