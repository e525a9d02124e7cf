"""Reminders on fakes, walked through the seed's 2023 calendar with a scripted pattern of replies.

The seed directive goes out on 10/01/2023: the communes owe the children's list by 20/02 ("chậm nhất ngày
20/02/2023"), every unit owes the first-half report before 15/05 ("trước ngày 15/05"). ``followup remind``
then runs every morning from 10/01 to 30/06, Sundays, Tết and 30/4-3/5 included, and the units reply as
scripted below. What each unit and leadership receive on each day is written out by hand from the policy of
schedules.yaml (before [7, 3, 1], on the day, after [1, 3, 7], then weekly up to 90 days late; the công văn
đôn đốc and leadership's summary at 7 days late), and compared with what reached the fake sender.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from cronsim import CronSim
from sqlalchemy import select

from followup import simulation as simulate
from followup.documents.letter import docx_text
from followup.domain.calendar import OfficeCalendar
from followup.domain.config import Config, ConfigError, load_config
from followup.domain.states import Source
from followup.forms.identity import read_identity
from followup.services.dispatch import dispatch
from followup.services.interpret import Interpreter
from followup.services.remind import IssuedElsewhere, RemindReport, decide, issue_follow_up, remind
from followup.services.store import store_message
from followup.settings import DEFAULTS
from followup.storage.models import IssuedNumber, OutgoingMessage, Reminder, Submission
from followup.storage.uow import UnitOfWork

from fakes import FakeSender, Sent, fake_uow, fixed_clock

DIRECTIVE = "2023-child-protection"
LIST, H1 = "danh-sach-tre-em", "bao-cao-6-thang"
LEADERSHIP = "leadership"
LEADERS = ["chutich@bachthong.example", "pct.luan@bachthong.example"]  # recipients.yaml, by hand
FIRST, LAST = dt.date(2023, 1, 10), dt.date(2023, 6, 30)


def d(text: str) -> dt.date:
    """'13/02' is 13/02/2023."""
    day, month = map(int, text.split("/"))
    return dt.date(2023, month, day)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def plain(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def files_of(sent: Sent) -> dict[str, bytes]:
    return simulate.attachments_of(sent.data)


# --------------------------------------------------------------------------- the script of replies

# Who replies what, when (dates of 2023). Every other commune sends its list on 01/02 and every other unit
# its report on 20/04, both on time (the report's window opens on 16/03).
ON_TIME_LIST, ON_TIME_REPORT = d("01/02"), d("20/04")
NEVER = "XA-QUANHA"  # never replies
LATE = "XA-DONPHONG"  # sends its list on 24/02, four days late
REJECTED = "XA-VUMUON"  # its list is rejected on 15/02 and corrected on 01/03 (late)
LIST_ONLY = "XA-CAOSON"  # sends its list on time and never the report
LATE_REPORT = "P-TUPHAP"  # a department: its report comes on 18/05, four days late
SPECIAL = {
    (LIST, LATE): [(d("24/02"), None)],
    (LIST, REJECTED): [(d("15/02"), "bad-group"), (d("01/03"), None)],
    (LIST, NEVER): [],
    (H1, NEVER): [],
    (H1, LIST_ONLY): [],
    (H1, LATE_REPORT): [(d("18/05"), None)],
}


# --------------------------------------------------------------------------- the expectation, by hand

# The list, last day Monday 20/02: -7 Monday 13/02; -3 Friday 17/02 and -1 Sunday 19/02, moved back to
# Friday 17/02, make one; 0 on 20/02; +1 21/02; +3 23/02; +7 27/02; then weekly to +84; +70 is 01/05, a
# holiday like 02/05 and 03/05 after it: Thursday 04/05.
LIST_STEPS = {
    "13/02": "-7", "17/02": "-1", "20/02": "0", "21/02": "+1", "23/02": "+3", "27/02": "+7", "06/03": "+14",
    "13/03": "+21", "20/03": "+28", "27/03": "+35", "03/04": "+42", "10/04": "+49", "17/04": "+56",
    "24/04": "+63", "04/05": "+70", "08/05": "+77", "15/05": "+84",
}  # fmt: skip
# The report, "trước ngày 15/05": last day Sunday 14/05. -7 Sunday 07/05 -> Friday 05/05; -3 Thursday 11/05;
# -1 (Saturday 13/05) and the day itself (Sunday 14/05) both move back to Friday 12/05 and make one (0);
# +1 Monday 15/05; +3 17/05; +7 Sunday 21/05 -> Monday 22/05; then every Sunday -> Monday.
H1_STEPS = {
    "05/05": "-7", "11/05": "-3", "12/05": "0", "15/05": "+1", "17/05": "+3", "22/05": "+7", "29/05": "+14",
    "05/06": "+21", "12/06": "+28", "19/06": "+35", "26/06": "+42",
}  # fmt: skip
# Who still owes what on those days: (unit, first day it no longer owes, or None).
LIST_OWING = [(LATE, d("24/02")), (REJECTED, d("01/03")), (NEVER, None)]
H1_OWING = [(LIST_ONLY, None), (NEVER, None), (LATE_REPORT, d("18/05"))]
LIST_LETTER = ESCALATE_LIST = d("27/02")  # 7 days late
H1_LETTER = ESCALATE_H1 = d("22/05")  # 7 days late is Sunday 21/05


def expected_steps() -> dict[tuple[dt.date, str], dict[str, str]]:
    """(day, unit) -> {requirement: step} of every reminder, from the tables above."""
    out: dict[tuple[dt.date, str], dict[str, str]] = {}
    for requirement, steps, owing in ((LIST, LIST_STEPS, LIST_OWING), (H1, H1_STEPS, H1_OWING)):
        for text, step in steps.items():
            for unit, until in owing:
                if until is None or d(text) < until:
                    out.setdefault((d(text), unit), {})[requirement] = step
    return out


def test_the_expectation_reads_as_the_issue_says():
    """The tables above, spelled out for the days the issue names."""
    steps = expected_steps()
    assert steps[(d("13/02"), LATE)] == {LIST: "-7"}
    assert (d("27/02"), LATE) not in steps and steps[(d("27/02"), REJECTED)] == {LIST: "+7"}
    assert (d("06/03"), REJECTED) not in steps
    assert steps[(d("15/05"), NEVER)] == {LIST: "+84", H1: "+1"}  # both owed on one day: one message
    assert steps[(d("15/05"), LIST_ONLY)] == {H1: "+1"}
    assert (d("22/05"), LATE_REPORT) not in steps
    assert len({day for day, _ in steps}) == 27


# --------------------------------------------------------------------------- the walk


@dataclass
class Walk:
    config: Config
    uow: UnitOfWork
    dispatched: dict[str, bytes]  # unit -> the directive's message it received
    children: set[str]  # the names of every synthetic child sent in a list
    sent: dict[dt.date, list[Sent]] = field(default_factory=dict)  # by the morning run of each day
    reports: dict[dt.date, RemindReport] = field(default_factory=dict)
    again: dict[dt.date, RemindReport] = field(default_factory=dict)  # the second run of the day

    def who(self, sent: Sent) -> str:
        if sent.recipients == LEADERS:
            return LEADERSHIP
        [unit] = [u.code for u in self.config.recipients.units if u.emails == sent.recipients]
        return unit

    def messages(self) -> dict[tuple[dt.date, str], list[Sent]]:
        out: dict[tuple[dt.date, str], list[Sent]] = {}
        for day, sent in self.sent.items():
            for one in sent:
                out.setdefault((day, self.who(one)), []).append(one)
        return out

    def to(self, unit: str) -> dict[dt.date, Sent]:
        return {day: one for (day, who), [one] in self.messages().items() if who == unit}

    def rows(self, model: type) -> list:  # type: ignore[type-arg]
        with self.uow:
            found = list(self.uow.session.scalars(select(model).order_by(model.id)))
            self.uow.session.expunge_all()
            return found


def _reply(config: Config, original: bytes, requirement: str, unit: str, day: dt.date, error: str | None):
    """A unit's reply to the directive with the one form of ``requirement`` filled (or broken by ``error``)."""
    [(name, blank)] = [
        (name, data)
        for name, data in simulate.attachments_of(original).items()
        if (identity := read_identity(data, name)) is not None and identity.requirement == requirement
    ]
    kids: list[simulate.SyntheticChild] = []
    if requirement == LIST:
        kids = simulate.synthetic_children(4, seed=f"{unit}:{day}", as_of=day)
        data = simulate.fill_children_list(blank, kids)
        if error:
            data = simulate.break_children_list(data, error, as_of=day)
    else:
        values = simulate.plausible_report_values(unit, requirement=config.directive(DIRECTIVE).requirement(H1))
        data = simulate.fill_periodic_report(blank, values, seed=unit)
    return simulate.reply_email(original, [(name, data)], date=at(day, 9)), [k.name for k in kids]


def _collect(uow: UnitOfWork, config: Config, raws: list[bytes], day: dt.date) -> None:
    uow.clock = fixed_clock(config.tz, at(day, 10).isoformat())
    with uow:
        for raw in raws:
            store_message(uow, raw, Source.IMAP)
        result = Interpreter(uow, config).process_stored()
        assert result.failed == 0


def _run(walk: Walk, sender: FakeSender, documents: Path, moment: dt.datetime) -> RemindReport:
    walk.uow.clock = fixed_clock(walk.config.tz, moment.isoformat())
    with walk.uow:
        return remind(walk.uow, sender, walk.config, documents, moment)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walk:
    """The whole walk, once for the module: dispatch on 10/01, then every day a run at 07:30 and a second one
    at 07:45 (which must send nothing), the day's replies collected at 10:00."""
    config = load_config(DEFAULTS)
    tmp = tmp_path_factory.mktemp("walk")
    documents = tmp / "documents"
    uow = fake_uow(tmp, fixed_clock(config.tz, at(FIRST, 8).isoformat()))
    office = FakeSender()
    with uow:
        dispatch(uow, office, config, config.directive(DIRECTIVE), documents)
    dispatched = {
        next(u.code for u in config.recipients.units if u.emails == s.recipients): s.data for s in office.sent
    }
    assert len(dispatched) == 36

    directive = config.directive(DIRECTIVE)
    replies: dict[dt.date, list[bytes]] = {}
    children: set[str] = set()
    for requirement, on_time in ((LIST, ON_TIME_LIST), (H1, ON_TIME_REPORT)):
        for unit in config.recipients.units_in(directive.requirement(requirement).from_groups):
            for day, error in SPECIAL.get((requirement, unit.code), [(on_time, None)]):
                raw, names = _reply(config, dispatched[unit.code], requirement, unit.code, day, error)
                replies.setdefault(day, []).append(raw)
                children.update(names)

    result = Walk(config, uow, dispatched, children)
    sender = FakeSender()
    day = FIRST
    while day <= LAST:
        before = len(sender.sent)
        result.reports[day] = _run(result, sender, documents, at(day, 7, 30))
        result.sent[day] = sender.sent[before:]
        result.again[day] = _run(result, sender, documents, at(day, 7, 45))
        assert len(sender.sent) == before + len(result.sent[day]), f"the second run of {day} sent again"
        if day in replies:
            _collect(uow, config, replies[day], day)
        day += dt.timedelta(days=1)
    return result


def test_the_exact_messages_of_each_day(walk: Walk):
    expected = {key for key in expected_steps()} | {(ESCALATE_LIST, LEADERSHIP), (ESCALATE_H1, LEADERSHIP)}
    got = walk.messages()
    assert sorted(got) == sorted(expected)
    assert all(len(sent) == 1 for sent in got.values())  # one message per unit (and leadership) per day
    assert len({day for day, _ in got}) == 27


def test_nothing_goes_out_on_a_day_off_and_every_day_with_mail_is_a_day_the_scheduled_run_runs(walk: Walk):
    calendar = OfficeCalendar()
    days_with_mail = {day for day, sent in walk.sent.items() if sent}
    assert all(calendar.works(day) for day in days_with_mail)
    off = [day for day in walk.sent if not calendar.works(day)]
    assert d("20/01") in off and d("26/01") in off and d("29/04") in off and d("03/05") in off
    assert all(walk.reports[day].plan.empty for day in off)
    cron = walk.config.schedules.flows["remind"]
    runs = {moment.date() for moment in itertools.takewhile(lambda m: m.year == 2023, CronSim(cron, at(FIRST, 0)))}
    assert days_with_mail <= runs  # the run Monday to Saturday at 07:30 meets every one of them


def test_a_second_run_of_the_day_decides_and_sends_nothing(walk: Walk):
    assert all(report.plan.empty and report.outcomes == [] for report in walk.again.values())
    with walk.uow:  # and nothing is owed any more on the busiest day of the walk
        assert decide(walk.uow, walk.config, at(d("15/05"), 16)).empty


def test_each_step_is_recorded_once_per_unit_requirement_and_period(walk: Walk):
    rows = walk.rows(Reminder)
    steps = Counter((r.unit_code, r.requirement_code, r.period, r.step) for r in rows)
    assert set(steps.values()) == {1}
    recorded = {
        (unit, requirement, step) for (unit, requirement, period, step) in steps if step not in ("letter", "escalation")
    }
    by_hand = {(unit, req, step) for (_, unit), items in expected_steps().items() for req, step in items.items()}
    assert recorded == by_hand
    assert [r.step for r in rows if r.unit_code == NEVER and r.requirement_code == LIST][:7] == [
        "-7", "-1", "0", "+1", "+3", "+7", "letter",
    ]  # fmt: skip
    assert {r.period for r in rows if r.requirement_code == H1} == {"2023-H1"}


def test_a_unit_owing_two_replies_on_one_day_gets_one_message_with_both_forms(walk: Walk):
    message = walk.to(NEVER)[d("15/05")]
    body = plain(message.message)
    assert "Danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc biệt (năm 2023): chậm nhất ngày 20/02/2023, " \
        "đã quá hạn 84 ngày" in body  # fmt: skip
    assert "Báo cáo kết quả thực hiện công tác trẻ em 6 tháng đầu năm (6 tháng đầu năm 2023): trước ngày " \
        "15/05/2023, đã quá hạn 1 ngày" in body  # fmt: skip
    forms = {read_identity(data, name) for name, data in files_of(message).items()}
    assert {(f.requirement, f.period, f.unit) for f in forms if f} == {(LIST, "2023", NEVER), (H1, "2023-H1", NEVER)}
    assert len(files_of(message)) == 2
    assert "(đã quá hạn)" in message.message["Subject"] and f"[FU:{DIRECTIVE}:{NEVER}]" in message.message["Subject"]

    only_report = walk.to(LIST_ONLY)[d("15/05")]
    assert "Danh sách trẻ em" not in plain(only_report.message)
    assert [read_identity(data, name).requirement for name, data in files_of(only_report).items()] == [H1]  # type: ignore[union-attr]


def test_what_the_reminders_say_of_the_time_left(walk: Walk):
    to_late = walk.to(LATE)
    words = {day: plain(to_late[day].message) for day in to_late}
    assert "còn 7 ngày" in words[d("13/02")] and "thời hạn gửi các báo cáo sau" in words[d("13/02")]
    assert "còn 3 ngày" in words[d("17/02")]  # the Friday, for the -1 step of Sunday
    assert "hôm nay là hạn cuối" in words[d("20/02")]
    assert "đã quá hạn 1 ngày" in words[d("21/02")] and "các báo cáo đã quá hạn" in words[d("21/02")]
    assert sorted(to_late) == [d("13/02"), d("17/02"), d("20/02"), d("21/02"), d("23/02")]
    on_friday = plain(walk.to(LIST_ONLY)[d("12/05")].message)  # the report's last day is a Sunday
    assert "trước ngày 15/05/2023, còn 2 ngày" in on_friday


def test_a_rejected_units_reminders_list_its_problems_and_name_no_child(walk: Walk):
    to_rejected = walk.to(REJECTED)
    assert sorted(to_rejected) == [d("13/02"), d("17/02"), d("20/02"), d("21/02"), d("23/02"), d("27/02")]
    assert "chưa đạt" not in plain(to_rejected[d("13/02")].message)  # before it sent anything
    [rejected] = [s for s in walk.rows(Submission) if s.unit_code == REJECTED and s.status == "rejected"]
    assert rejected.problems
    for day in (d("17/02"), d("20/02"), d("21/02"), d("23/02"), d("27/02")):
        message = to_rejected[day].message
        for body in (plain(message), html(message)):
            assert "Báo cáo Quý đơn vị gửi trước đây chưa đạt, cần sửa" in body
            assert all(problem["message"] in body for problem in rejected.problems)
    assert not any("chưa đạt" in plain(one.message) for unit in (LATE, NEVER) for one in walk.to(unit).values())

    assert len(walk.children) >= 40
    for sent in (one for day in walk.sent.values() for one in day):
        message = sent.message
        texts = [plain(message), html(message), str(message["Subject"])]
        for data in files_of(sent).values():  # the letters, and the blank forms attached again
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                texts += [package.read(part).decode("utf-8", "replace") for part in package.namelist()]
        leaked = {child for child in walk.children for text in texts if child in text}
        assert not leaked, f"{walk.who(sent)} received the names {leaked}"


def test_the_follow_up_letter_is_numbered_from_the_register_and_sent_to_the_late_units(walk: Walk, config: Config):
    names = {u.code: u.name for u in config.recipients.units}
    numbers = walk.rows(IssuedNumber)
    assert [(n.number, n.symbol, n.purpose) for n in numbers] == [
        (1, "UBND-LĐTBXH", "directive"), (2, "UBND-LĐTBXH", "follow-up"), (3, "UBND-LĐTBXH", "follow-up"),
    ]  # fmt: skip
    letters = [r for r in walk.rows(Reminder) if r.step == "letter" and r.unit_code == ""]
    assert [(r.requirement_code, r.period) for r in letters] == [(LIST, "2023"), (H1, "2023-H1")]  # once each

    # By hand: the subject, the date line, the directive it follows, and the new deadline: five working days
    # (28/02-06/03; 23/05-29/05) before the day the letter names ("trước ngày ...").
    cases = [
        (LIST_LETTER, "2", [NEVER, REJECTED], [LATE, LIST_ONLY],
         "V/v đôn đốc thực hiện danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc biệt năm 2023",
         "Bạch Thông, ngày 27 tháng 02 năm 2023",
         "gửi danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc biệt năm 2023 chậm nhất ngày 20/02/2023.",
         "trước ngày 07/03/2023./."),
        (H1_LETTER, "3", [LIST_ONLY, NEVER], [LATE_REPORT, LATE, REJECTED],
         "V/v đôn đốc thực hiện báo cáo kết quả thực hiện công tác trẻ em 6 tháng đầu năm 2023",
         "Bạch Thông, ngày 22 tháng 5 năm 2023",
         "gửi báo cáo kết quả thực hiện công tác trẻ em 6 tháng đầu năm 2023 trước ngày 15/05/2023.",
         "trước ngày 30/05/2023./."),
    ]  # fmt: skip
    for day, number, late, not_late, subject, dated, asked, new_deadline in cases:
        filename = f"Công văn số {number}-UBND-LĐTBXH (đôn đốc).docx"
        attached = {unit: files_of(walk.to(unit)[day]).get(filename) for unit in late}
        assert None not in attached.values(), f"the letter of {day} is not attached to every late unit's reminder"
        [letter] = set(attached.values())
        assert all(filename not in files_of(one) for unit in not_late for one in walk.to(unit).values())
        for unit in late:
            assert f"Kèm theo là Công văn số {number}/UBND-LĐTBXH" in plain(walk.to(unit)[day].message)
        later = [one for unit in late for when, one in walk.to(unit).items() if when > day]
        assert later and all(filename not in files_of(one) for one in later)  # attached once

        text = docx_text(letter)
        assert text[4:7] == [f"Số: {number}/UBND-LĐTBXH", subject, dated]
        assert text[7:10] == ["Kính gửi:", f"- {names[late[0]]};", f"- {names[late[1]]}."]  # recipients.yaml order
        assert text[10].startswith(
            "Ngày 10/01/2023, Ủy ban nhân dân huyện ban hành công văn số 1/UBND-LĐTBXH V/v thực hiện công tác bảo "
            "vệ chăm sóc trẻ em năm 2023, trong đó đề nghị các cơ quan, đơn vị " + asked
        ), text[10]
        assert text[11:13] == [f"1. {names[late[0]]}", f"2. {names[late[1]]}"]
        assert text[13].endswith(new_deadline)
        joined = "\n".join(text)
        assert not any(names[unit] in joined for unit in not_late)
        assert not any(child in joined for child in walk.children)


@pytest.mark.parametrize(
    ("title", "period", "reads"),
    [
        ("báo cáo kết quả công tác trẻ em 6 tháng đầu năm", "6 tháng đầu năm 2023",
         "báo cáo kết quả công tác trẻ em 6 tháng đầu năm 2023"),
        ("báo cáo kết quả công tác trẻ em năm", "năm 2023", "báo cáo kết quả công tác trẻ em năm 2023"),
        ("danh sách trẻ em", "năm 2023", "danh sách trẻ em năm 2023"),
        ("năm", "năm 2023", "năm năm 2023"),  # nothing left of the title: it stays as written
    ],
)  # fmt: skip
def test_the_letter_names_a_period_once(title: str, period: str, reads: str):
    from followup.documents.letter import title_before_period

    assert f"{title_before_period(title, period)} {period}" == reads


def test_leadership_hears_once_per_requirement_and_period_with_counts_and_office_names(walk: Walk, config: Config):
    names = {u.code: u.name for u in config.recipients.units}
    to_leaders = {day: one for (day, who), [one] in walk.messages().items() if who == LEADERSHIP}
    assert sorted(to_leaders) == [ESCALATE_LIST, ESCALATE_H1]
    assert all(one.recipients == LEADERS for one in to_leaders.values())  # one message, both leaders

    first = to_leaders[ESCALATE_LIST]
    body = plain(first.message)
    assert "tính đến ngày 27/02/2023" in body and first.message["Subject"].endswith("27/02/2023")
    assert "chậm nhất ngày 20/02/2023, đã quá hạn 7 ngày: đã nhận 12/14 đơn vị; còn 2 đơn vị chưa gửi" in body
    assert f"   - {names[NEVER]}\n   - {names[REJECTED]}\n" in body  # in recipients.yaml order
    assert names[LATE] not in body and "6 tháng" not in body
    assert "Công văn đôn đốc đã ban hành (kèm theo): 2/UBND-LĐTBXH." in body
    assert list(files_of(first)) == ["Công văn số 2-UBND-LĐTBXH (đôn đốc).docx"]

    second = plain(to_leaders[ESCALATE_H1].message)
    assert "trước ngày 15/05/2023, đã quá hạn 8 ngày: đã nhận 34/36 đơn vị; còn 2 đơn vị chưa gửi" in second
    assert f"   - {names[LIST_ONLY]}\n   - {names[NEVER]}\n" in second
    assert names[LATE_REPORT] not in second and "Danh sách trẻ em" not in second  # the list was told already
    assert "3/UBND-LĐTBXH" in second


def test_the_reminders_carry_the_units_forms_again(walk: Walk):
    for (day, unit), [sent] in walk.messages().items():
        if unit == LEADERSHIP:
            continue
        owed = expected_steps()[(day, unit)]
        forms = [read_identity(data, name) for name, data in files_of(sent).items() if "đôn đốc" not in name]
        assert sorted((f.requirement, f.unit) for f in forms if f) == sorted((req, unit) for req in owed)
        assert sent.recipients == walk.config.recipients.unit(unit).emails


# --------------------------------------------------------------------------- catch-up


def _dispatched_store(tmp_path: Path, config: Config, on: dt.date) -> tuple[Walk, Path]:
    """A store of its own where the directive went out to all 36 units on ``on`` at 08:00; no reply comes."""
    documents = tmp_path / "documents"
    uow = fake_uow(tmp_path, fixed_clock(config.tz, at(on, 8).isoformat()))
    with uow:
        dispatch(uow, FakeSender(), config, config.directive(DIRECTIVE), documents)
    return Walk(config, uow, {}, set()), documents


def test_after_a_week_without_runs_one_message_of_the_latest_step_and_no_burst(tmp_path: Path, config: Config):
    walk, documents = _dispatched_store(tmp_path, config, FIRST)
    communes = [u.code for u in config.recipients.units_in(["xa-thi-tran"])]
    sender = FakeSender()

    first = _run(walk, sender, documents, at(d("13/02"), 7, 30))  # -7, then no run until Thursday 23/02
    assert sorted(o.unit_code for o in first.outcomes) == sorted(communes) and len(sender.sent) == 14

    with walk.uow:
        planned = decide(walk.uow, config, at(d("23/02"), 7, 30))
    # -1 (17/02), 0 (20/02) and +1 (21/02) were missed: only +3 is due, once; the report is not due at all.
    assert {unit: [o.step.key for o in items] for unit, items in planned.owed.items()} == {c: ["+3"] for c in communes}
    sender.sent.clear()
    caught_up = _run(walk, sender, documents, at(d("23/02"), 7, 30))
    assert caught_up.counts()["sent"] == 14 and len(sender.sent) == 14
    [to_never] = sender.to("ubnd@quanha.bachthong.example")
    assert "đã quá hạn 3 ngày" in plain(to_never) and "hôm nay là hạn cuối" not in plain(to_never)
    assert Counter(r.step for r in walk.rows(Reminder) if r.unit_code == NEVER) == {"-7": 1, "+3": 1}

    sender.sent.clear()
    for day in ("24/02", "25/02", "26/02"):  # nothing new until +7
        assert _run(walk, sender, documents, at(d(day), 7, 30)).outcomes == []
    assert sender.sent == []
    after = _run(walk, sender, documents, at(d("27/02"), 7, 30))
    assert after.counts()["sent"] == 15 and len(after.letters) == 1  # +7 to each commune, and leadership


def test_steps_before_the_directive_went_out_are_not_caught_up(tmp_path: Path, config: Config):
    """Sent on Tuesday 14/02, a day after the list's -7 step: the communes first hear of it at -1 (17/02)."""
    walk, documents = _dispatched_store(tmp_path, config, d("14/02"))
    sender = FakeSender()
    for moment in (at(d("14/02"), 16), at(d("15/02"), 7, 30), at(d("16/02"), 7, 30)):
        assert _run(walk, sender, documents, moment).outcomes == []
    report = _run(walk, sender, documents, at(d("17/02"), 7, 30))
    assert report.counts()["sent"] == 14
    assert {o.step.key for items in report.plan.owed.values() for o in items} == {"-1"}


def test_units_the_letter_never_reached_are_not_reminded_and_the_clerk_is_told(tmp_path: Path, config: Config):
    """A dispatch limited to two communes: the others owe the list too, but hear nothing of a letter they
    never received; the plan names them for the clerk, who sends them the letter."""
    documents = tmp_path / "documents"
    directive = config.directive(DIRECTIVE)
    communes = [u.code for u in config.recipients.units_in(directive.requirement(LIST).from_groups)]
    uow = fake_uow(tmp_path, fixed_clock(config.tz, at(FIRST, 8).isoformat()))
    with uow:
        dispatch(uow, FakeSender(), config, directive, documents, units=communes[:2])
    walk, sender = Walk(config, uow, {}, set()), FakeSender()
    report = _run(walk, sender, documents, at(d("17/02"), 7, 30))
    assert set(report.plan.owed) == set(communes[:2])
    assert sorted(tuple(m.recipients) for m in sender.sent) == sorted(
        tuple(u.emails) for u in config.recipients.units if u.code in communes[:2]
    )
    assert set(communes[2:]) <= report.plan.unreached[DIRECTIVE]
    assert not set(communes[:2]) & report.plan.unreached[DIRECTIVE]


def test_a_dry_run_says_what_would_go_out_and_records_nothing(tmp_path: Path, config: Config):
    walk, documents = _dispatched_store(tmp_path, config, FIRST)
    sender = FakeSender()
    walk.uow.clock = fixed_clock(config.tz, at(d("27/02"), 7, 30).isoformat())
    with walk.uow:
        report = remind(walk.uow, sender, config, documents, at(d("27/02"), 7, 30), dry_run=True)
    assert sender.sent == [] and report.letters == []
    assert len(report.outcomes) == 15 and f"{LIST} 2023 (+7)" in {o.detail for o in report.outcomes}
    assert "công văn đôn đốc: danh-sach-tre-em 2023" in {o.detail for o in report.outcomes}
    assert walk.rows(Reminder) == [] and len(walk.rows(IssuedNumber)) == 1
    assert {m.purpose for m in walk.rows(OutgoingMessage)} == {"directive"}


def test_a_follow_up_letter_issued_twice_at_once_is_one_letter_and_the_later_run_says_so(
    tmp_path: Path, config: Config
):
    """Two runs of remind at one moment both decide the same công văn đôn đốc: the one that records it second
    gives way with a line for the clerk; its number goes back to the register and its file is removed."""
    walk, documents = _dispatched_store(tmp_path, config, FIRST)
    moment = at(d("27/02"), 7, 30)
    walk.uow.clock = fixed_clock(config.tz, moment.isoformat())
    with walk.uow:
        [late] = decide(walk.uow, config, moment).letters
        issue_follow_up(walk.uow, config, documents, late, moment)
        with pytest.raises(IssuedElsewhere) as refused:
            issue_follow_up(walk.uow, config, documents, late, moment)
    assert f"{LIST} 2023" in str(refused.value) and "run remind again" in str(refused.value)
    assert [(n.number, n.purpose) for n in walk.rows(IssuedNumber)] == [(1, "directive"), (2, "follow-up")]
    assert [p.name for p in (documents / DIRECTIVE).glob("*đôn đốc*")] == ["Công văn số 2-UBND-LĐTBXH (đôn đốc).docx"]
    assert len([r for r in walk.rows(Reminder) if r.step == "letter"]) == 1


# --------------------------------------------------------------------------- schedules.yaml


def _problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return [str(p) for p in caught.value.problems]


def _line_of(path: Path, text: str) -> int:
    [line] = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    return line


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        ("before: [7, 3, 1]", "before: [7, -3, 1]", "reminders.before", "write whole days of 1 or more"),
        ("after: [1, 3, 7]", "after: [0, 3]", "reminders.after", "write whole days of 1 or more"),
        ("stop_after: 90", "stop_after: -90", "reminders.stop_after", "must be 1 or more"),
        ("then_every: 7", "then_evry: 7", "reminders.then_evry", "is not a known field"),
        ("saturday_is_working_day: false", "saturday_is_working: false", "saturday_is_working",
         "is not a known field"),
        ('remind: "30 7 * * 1-6"', 'remind: "30 7 * * 1-8"', "flows.remind", "'30 7 * * 1-8' is not a valid cron"),
        ("days_off: []", "days_off: [2023-02-30]", "days_off[0]",
         "'2023-02-30' is not a date (day is out of range for month); write it as yyyy-mm-dd, e.g. 2023-05-02"),
        ("days_off: []", "days_off: [02/05/2023]", "days_off[0]", "'02/05/2023' is not a date; write it as yyyy-mm"),
    ],
)  # fmt: skip
def test_a_mistake_in_schedules_yaml_is_named_with_file_and_line(workdir: Path, old: str, new: str, where: str,
                                                                  says: str):  # fmt: skip
    path = workdir / "schedules.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    [problem] = _problems(workdir)
    assert problem.startswith(f"{path}:{_line_of(path, new)}: {where}: "), problem
    assert says in problem, problem


def test_every_mistake_of_schedules_yaml_is_listed_at_once(workdir: Path):
    path = workdir / "schedules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["days_off"] = ["2023-05-02", "ngày 3/5"]
    data["reminders"].update(before=[-1], escalate_after=0, weekly=True)
    data["flows"]["remind"] = "every morning"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    problems = _problems(workdir)
    where = sorted(p.split(": ")[1] for p in problems)
    assert where == [
        "days_off[1]", "flows.remind", "reminders.before", "reminders.escalate_after", "reminders.weekly",
    ]  # fmt: skip
    assert all(p.startswith(f"{path}:") and p.split(":")[1].isdigit() for p in problems)


def test_the_offices_days_off_reach_the_reminders(workdir: Path):
    path = workdir / "schedules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("days_off: []", "days_off: [2023-05-04]"))
    config = load_config(workdir)
    assert config.schedules.days_off == [d("04/05")]
    from followup.services.remind import calendar_of

    calendar = calendar_of(config)
    assert not calendar.works(d("04/05")) and calendar.on_or_after(d("01/05")) == d("05/05")
