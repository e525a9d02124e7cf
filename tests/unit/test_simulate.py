"""Simulated units: forms they fill read back as filled, mistakes read back as the expected problems, and
their e-mails answer the dispatched messages the way a mail client does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from followup import simulation as sim
from followup.domain.config import Config, Directive, Requirement
from followup.domain.identity import FormIdentity
from followup.domain.special_groups import SPECIAL_GROUPS
from followup.domain.states import MessageKind
from followup.forms.children_list import LIST_SHEET, children_list_xlsx, read_children_list
from followup.forms.identity import CUSTOM_PROPERTY, read_identity
from followup.forms.periodic_report import periodic_report_docx, read_periodic_report
from followup.forms.prefill import UNIT_CODE, UNIT_NAME, prefill
from followup.forms.registry import form_filename
from followup.mail.compose import Attachment, compose
from followup.services.dispatch import MailKit, addressed_units, letter_filename, render_letter
from followup.services.outgoing import message_id
from followup.storage.models import OutgoingMessage

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT = ("XA-CAOSON", "Ủy ban nhân dân xã Cao Sơn")
AS_OF = dt.date(2023, 2, 20)
DIRECTIVE = "2023-child-protection"


def personalise(template: bytes) -> bytes:
    return prefill(template, {UNIT_CODE: UNIT[0], UNIT_NAME: UNIT[1]})


@pytest.fixture(scope="module")
def list_req(directive: Directive) -> Requirement:
    return directive.requirement("danh-sach-tre-em")


@pytest.fixture(scope="module")
def list_form(list_req: Requirement) -> bytes:
    identity = FormIdentity(DIRECTIVE, list_req.code, "2023", UNIT_CODE)
    return personalise(children_list_xlsx(identity, UNIT_NAME, list_req, "chậm nhất ngày 20/02/2023"))


@pytest.fixture(scope="module")
def report_form(report_req: Requirement) -> bytes:
    identity = FormIdentity(DIRECTIVE, report_req.code, "2023-H1", UNIT_CODE)
    return personalise(
        periodic_report_docx(identity, UNIT_NAME, report_req, "6 tháng đầu năm 2023", "trước ngày 15/05/2023")
    )


@pytest.fixture(scope="module")
def children() -> list[sim.SyntheticChild]:
    return sim.synthetic_children(25, seed="cao-son", as_of=AS_OF)


@pytest.fixture(scope="module")
def filled_list(list_form: bytes, children: list[sim.SyntheticChild]) -> bytes:
    return sim.fill_children_list(list_form, children)


@pytest.fixture(scope="module")
def filled_report(report_form: bytes, report_req: Requirement) -> bytes:
    return sim.fill_periodic_report(report_form, sim.plausible_report_values(7, 25, report_req))


# --------------------------------------------------------------------------- synthetic children


def test_synthetic_children_are_seeded_plausible_and_distinct() -> None:
    kids = sim.synthetic_children(300, seed=3, as_of=AS_OF)
    assert kids == sim.synthetic_children(300, seed=3, as_of=AS_OF)
    assert kids != sim.synthetic_children(300, seed=4, as_of=AS_OF)
    assert len({(k.name, k.birth_date) for k in kids}) == 300
    for kid in kids:
        assert kid.birth_date <= AS_OF
        assert kid.birth_date > AS_OF.replace(year=AS_OF.year - 16)  # under 16 on AS_OF
        assert set(kid.groups) <= set(SPECIAL_GROUPS)
        assert kid.groups or kid.difficult  # otherwise the list would not name the child
        assert kid.sex in {"Nam", "Nữ"}
        assert len(kid.name.split()) >= 3
    assert {k.ethnicity for k in kids} == {"Tày", "Nùng", "Dao", "Kinh", "H'Mông"}
    assert {k.name.split()[0] for k in kids} >= {"Hoàng", "Nông", "Triệu", "Lý"}
    assert any(len(k.groups) > 1 for k in kids) and any(not k.groups for k in kids)


# --------------------------------------------------------------------------- children list


def as_row(kid: sim.SyntheticChild) -> tuple:
    return (kid.name, kid.birth_date, kid.sex, kid.ethnicity, kid.village, kid.carer, kid.groups, kid.difficult,
            kid.support, kid.note)  # fmt: skip


def test_filled_list_reads_back_as_filled(filled_list: bytes, children: list[sim.SyntheticChild]) -> None:
    reading = read_children_list(filled_list, "danh-sach.xlsx", AS_OF)
    assert reading.problems == []
    assert [r.source_row for r in reading.rows] == list(range(7, 7 + len(children)))
    got = [(r.name, r.birth_date, r.sex, r.ethnicity, r.village, r.carer, r.groups, r.difficult, r.support, r.note)
           for r in reading.rows]  # fmt: skip
    assert got == [as_row(k) for k in children]


def test_filling_keeps_the_workbook_and_its_identity(list_form: bytes, filled_list: bytes) -> None:
    assert read_identity(filled_list, "x.xlsx") == FormIdentity(DIRECTIVE, "danh-sach-tre-em", "2023", UNIT[0])
    before, after = zipfile.ZipFile(io.BytesIO(list_form)), zipfile.ZipFile(io.BytesIO(filled_list))
    assert before.namelist() == after.namelist()
    changed = [n for n in before.namelist() if before.read(n) != after.read(n)]
    assert changed == ["xl/worksheets/sheet1.xml"]
    wb = openpyxl.load_workbook(io.BytesIO(filled_list))
    assert wb[LIST_SHEET].sheet_state == "hidden"
    assert (
        wb.custom_doc_props[CUSTOM_PROPERTY].value
        == FormIdentity(DIRECTIVE, "danh-sach-tre-em", "2023", UNIT[0]).token()
    )
    ws = wb.active
    assert len(ws.data_validations.dataValidation) == 4
    assert ws["C7"].is_date and ws["C7"].number_format == "dd/mm/yyyy"
    assert ws["B6"].value == "Họ và tên" and ws["A7"].value == 1


def test_a_long_list_runs_past_the_prepared_rows(list_form: bytes) -> None:
    kids = sim.synthetic_children(230, seed="long", as_of=AS_OF)
    reading = read_children_list(sim.fill_children_list(list_form, kids), "x.xlsx", AS_OF)
    assert reading.errors == []
    assert [r.birth_date for r in reading.rows] == [k.birth_date for k in kids]
    ws = openpyxl.load_workbook(io.BytesIO(sim.fill_children_list(list_form, kids))).active
    assert ws["C236"].is_date and ws["B236"].font.name == ws["B7"].font.name  # formatted like the prepared rows


@pytest.mark.parametrize("kind", sorted(sim.LIST_ERRORS))
def test_broken_list_yields_the_expected_problem(filled_list: bytes, kind: str) -> None:
    broken = sim.break_children_list(filled_list, kind, row=2, as_of=AS_OF)
    reading = read_children_list(broken, "x.xlsx", AS_OF)
    assert [(p.field, p.row, p.severity) for p in reading.errors] == [(sim.LIST_ERRORS[kind], 9, "error")]
    assert len(reading.rows) == 25


def test_breaking_a_blank_list_adds_the_faulty_child(list_form: bytes) -> None:
    reading = read_children_list(sim.break_children_list(list_form, "bad-group", as_of=AS_OF), "x.xlsx", AS_OF)
    assert len(reading.rows) == 1
    assert [(p.field, p.column) for p in reading.errors] == [("groups", "H")]
    with pytest.raises(ValueError, match="unknown"):
        sim.break_children_list(list_form, "no-such-mistake")


# --------------------------------------------------------------------------- periodic report


def test_plausible_values_keep_the_rules(report_req: Requirement) -> None:
    for seed in range(300):
        values = sim.plausible_report_values(seed, seed % 40, report_req)
        assert list(values) == [i.code for i in report_req.indicators]
        assert min(values.values()) >= 0
        assert values["tre_em_hcdb_duoc_tro_giup"] <= values["tre_em_hcdb"] <= values["tong_so_tre_em"]
        assert values["tre_em_duoi_nuoc"] <= values["tre_em_tai_nan"]
    assert sim.plausible_report_values(5, 10) == sim.plausible_report_values(5, 10)


def test_filled_report_reads_back_as_filled(report_form: bytes, report_req: Requirement) -> None:
    values = sim.plausible_report_values(11, 30, report_req)
    narrative = {"ket_qua": "Dòng một.\nDòng hai.", "kho_khan": "Đường xa.", "de_xuat": ""}
    filled = sim.fill_periodic_report(report_form, values, narrative)
    reading = read_periodic_report(filled, "bao-cao.docx", report_req)
    assert reading.problems == []
    assert reading.values == values
    assert reading.narrative == {"ket_qua": "Dòng một.\nDòng hai.", "kho_khan": "Đường xa.", "de_xuat": ""}
    assert read_identity(filled, "x.docx") == FormIdentity(DIRECTIVE, report_req.code, "2023-H1", UNIT[0])


def test_default_narrative_fills_every_section(filled_report: bytes, report_req: Requirement) -> None:
    reading = read_periodic_report(filled_report, "bao-cao.docx", report_req)
    assert reading.problems == []
    assert all(reading.narrative[key] for key in ("ket_qua", "kho_khan", "de_xuat"))


@pytest.mark.parametrize(
    ("kind", "field", "severity"),
    [
        ("negative", "tong_so_tre_em", "error"),
        ("blank", "tong_so_tre_em", "error"),
        ("not-a-number", "tong_so_tre_em", "error"),
        ("decimal", "tong_so_tre_em", "error"),
        ("rule", "tre_em_hcdb_duoc_tro_giup", "error"),
        ("placeholder", "ket_qua", "warning"),
    ],
)
def test_broken_report_yields_the_expected_problem(
    filled_report: bytes, report_req: Requirement, kind: str, field: str, severity: str
) -> None:
    reading = read_periodic_report(sim.break_report(filled_report, kind), "x.docx", report_req)
    assert [(p.field, p.severity) for p in reading.problems] == [(field, severity)]


def test_break_report_on_another_indicator(filled_report: bytes, report_req: Requirement) -> None:
    broken = sim.break_report(filled_report, "negative", code="kinh_phi")
    reading = read_periodic_report(broken, "x.docx", report_req)
    assert [(p.field, p.row) for p in reading.errors] == [("kinh_phi", 10)]


# --------------------------------------------------------------------------- e-mail

ORIGINAL = (
    "From: =?utf-8?b?VUJORCBodXnhu4duIELhuqFjaCBUaMO0bmc=?= <vanthu@bachthong.example>\r\n"
    "To: ubnd@caoson.bachthong.example\r\n"
    "Subject: =?utf-8?b?W0ZVOjIwMjMtY2hpbGQtcHJvdGVjdGlvbjpYQS1DQU9TT05dIEPDtG5nIHbEg24gc+G7kSAxMg==?=\r\n"
    "Date: Mon, 06 Feb 2023 08:00:00 +0700\r\n"
    "Message-ID: <2023-child-protection.1.XA-CAOSON.1@bachthong.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi: Ủy ban nhân dân xã Cao Sơn,\r\n"
).encode()
SUBJECT = "[FU:2023-child-protection:XA-CAOSON] Công văn số 12"
WHEN = dt.datetime(2023, 2, 15, 9, 30, tzinfo=TZ)
LONG_NAME = "Danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc biệt - Ủy ban nhân dân xã Cao Sơn (bản sửa).xlsx"


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_reply_answers_the_original(filled_list: bytes) -> None:
    files = [("Danh sách trẻ em - Ủy ban nhân dân xã Cao Sơn.xlsx", filled_list), (LONG_NAME, b"PK\x03\x04 x")]
    raw = sim.reply_email(ORIGINAL, files, date=WHEN)
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = parse(raw)
    assert msg["Subject"] == f"Re: {SUBJECT}"
    assert msg["In-Reply-To"] == "<2023-child-protection.1.XA-CAOSON.1@bachthong.example>"
    assert msg["References"] == "<2023-child-protection.1.XA-CAOSON.1@bachthong.example>"
    assert msg["From"].addresses[0].addr_spec == "ubnd@caoson.bachthong.example"  # the original's To
    assert msg["To"].addresses[0].addr_spec == "vanthu@bachthong.example"
    assert msg["To"].addresses[0].display_name == "UBND huyện Bạch Thông"
    assert msg["Date"].datetime == WHEN
    assert msg["Message-ID"] not in {None, "<2023-child-protection.1.XA-CAOSON.1@bachthong.example>"}
    body = msg.get_body(("plain",)).get_content()
    assert body.startswith("Kính gửi: UBND huyện Bạch Thông,") and "Danh sách trẻ em" in body
    assert [p.get_filename() for p in msg.iter_attachments()] == [name for name, _ in files]
    assert sim.attachments_of(raw) == dict(files)
    assert sim.reply_email(ORIGINAL, files, date=WHEN) == raw  # replayable


def test_reply_without_threading_tag_or_quoted_subject() -> None:
    bare = parse(sim.reply_email(ORIGINAL, [], from_addr="canbo.caoson@gmail.example", date=WHEN, threading=False))
    assert bare["In-Reply-To"] is None and bare["References"] is None
    assert bare["From"].addresses[0].addr_spec == "canbo.caoson@gmail.example"
    untagged = parse(sim.reply_email(ORIGINAL, [], date=WHEN, keep_tag=False))
    assert untagged["Subject"] == "Re: Công văn số 12"
    fresh = parse(sim.reply_email(ORIGINAL, [], date=WHEN, quote_subject=False, body="Gửi lại báo cáo."))
    assert fresh["Subject"] == "[FU:2023-child-protection:XA-CAOSON] Gửi báo cáo theo Công văn số 12"
    assert fresh.get_body(("plain",)).get_content().strip() == "Gửi lại báo cáo."
    with pytest.raises(ValueError, match="aware"):
        sim.reply_email(ORIGINAL, [], date=dt.datetime(2023, 2, 15, 9, 30))


def test_forward_carries_the_reply_as_a_message(filled_list: bytes) -> None:
    reply = sim.reply_email(ORIGINAL, [(LONG_NAME, filled_list)], date=WHEN)
    fwd = sim.forward_email(
        reply, from_addr="vanthu@bachthong.example", to_addr="ldtbxh@bachthong.example", date=WHEN + dt.timedelta(1)
    )
    msg = parse(fwd)
    assert msg["Subject"] == f"Fwd: Re: {SUBJECT}"
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    inner = part.get_content()
    assert inner["Message-ID"] == parse(reply)["Message-ID"]
    assert inner["In-Reply-To"] == "<2023-child-protection.1.XA-CAOSON.1@bachthong.example>"
    assert inner["Subject"] == f"Re: {SUBJECT}"
    files = sim.attachments_of(fwd)
    assert len(files) == 1 and next(iter(files)).endswith(".eml")
    assert sim.attachments_of(fwd, nested=True)[LONG_NAME] == filled_list


# --------------------------------------------------------------------------- playing the units


@pytest.fixture(scope="module")
def outbox(config: Config, directive: Directive) -> list[bytes]:
    issued = dt.date(2023, 2, 6)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FOLLOWUP_NOW", "2023-02-06T08:00:00+07:00")
        letter = Attachment(letter_filename(directive, "12/UBND-LĐTBXH"), render_letter(config, directive, 12, issued))
        kit = MailKit(config, directive, "12/UBND-LĐTBXH", issued, letter)
        messages = []
        for unit in addressed_units(directive, config.recipients):
            mid = message_id(config, MessageKind.DIRECTIVE, f"1.{unit.code}")
            row = OutgoingMessage(message_id=mid, recipients=list(unit.emails), subject=kit.subject(unit))
            outgoing = kit.outgoing(unit, row)
            if unit.code == "P-YTE":  # a subject that lost its tag: the unit is found from its forms
                outgoing = dataclasses.replace(outgoing, subject=outgoing.subject.split("] ", 1)[1])
            messages.append(compose(outgoing, dt.datetime(2023, 2, 6, 8, 0, tzinfo=config.tz)))
    return messages


PLAN: dict[str, sim.Behaviour | str] = {
    "XA-CAOSON": "never",
    "XA-CAMGIANG": sim.Behaviour("late"),
    "XA-DONPHONG": sim.Behaviour("errors", error="bad-group"),
    "P-GDDT": sim.Behaviour("errors"),
    "P-TUPHAP": sim.Behaviour(
        "on-time", at=dt.datetime(2023, 2, 10, 14, 0, tzinfo=TZ), threading=False, keep_tag=False
    ),
}


def read_reply(raw: bytes, directive: Directive) -> dict[str, list]:
    """Problems of each form in a reply, by requirement code."""
    found = {}
    for name, data in sim.attachments_of(raw).items():
        identity = read_identity(data, name)
        requirement = directive.requirement(identity.requirement)
        if name.endswith(".xlsx"):
            found[identity.requirement] = read_children_list(data, name, parse(raw)["Date"].datetime.date()).problems
        else:
            found[identity.requirement] = read_periodic_report(data, name, requirement).problems
    return found


def test_play_units_replies_for_all_but_never(outbox: list[bytes], directive: Directive, config: Config) -> None:
    replies = sim.play_units(outbox, PLAN, default="on-time", seed=1)
    assert replies == sim.play_units(outbox, PLAN, default="on-time", seed=1)  # deterministic
    by_unit = {}
    for raw in replies:
        msg = parse(raw)
        address = msg["From"].addresses[0].addr_spec
        unit = next(u.code for u in config.recipients.units if address in u.emails)
        by_unit[unit] = msg, raw
    units = [u.code for u in addressed_units(directive, config.recipients)]
    assert sorted(by_unit) == sorted(set(units) - {"XA-CAOSON"})
    assert len(replies) == len(units) - 1

    list_deadline = dt.datetime(2023, 2, 20, 23, 59, tzinfo=TZ)
    for code, (msg, raw) in by_unit.items():
        if code == "XA-CAMGIANG":
            assert msg["Date"].datetime > dt.datetime(2023, 11, 10, tzinfo=TZ)
        else:
            assert dt.datetime(2023, 2, 6, 8, 0, tzinfo=TZ) < msg["Date"].datetime < list_deadline
        if code == "P-TUPHAP":
            assert msg["In-Reply-To"] is None and "[FU:" not in msg["Subject"]
            assert msg["Date"].datetime == dt.datetime(2023, 2, 10, 14, 0, tzinfo=TZ)
        else:
            assert msg["In-Reply-To"].strip() == f"<directive.1.{code}.1@bachthong.example>"
            if code != "P-YTE":
                assert msg["Subject"].startswith(f"Re: [FU:{DIRECTIVE}:{code}] Công văn số 12/UBND-LĐTBXH")
        unit = next(u for u in config.recipients.units if u.code == code)
        expected = {"bao-cao-6-thang", "bao-cao-nam"} | (
            {"danh-sach-tre-em"} if "xa-thi-tran" in unit.groups else set()
        )
        names = set(sim.attachments_of(raw))
        assert len(names) == len(expected)
        assert all(n.endswith((f" - {unit.name}.xlsx", f" - {unit.name}.docx")) for n in names)

    for code in ("XA-CAMGIANG", "XA-DONPHONG", "P-GDDT", "P-YTE", "TT-PHUTHONG"):
        problems = read_reply(by_unit[code][1], directive)
        errors = {req: [(p.field, p.severity) for p in found] for req, found in problems.items() if found}
        if code == "XA-DONPHONG":
            assert errors == {"danh-sach-tre-em": [("groups", "error")]}
        elif code == "P-GDDT":
            assert errors == {"bao-cao-6-thang": [("tre_em_hcdb_duoc_tro_giup", "error")]}
        else:
            assert errors == {}


def test_play_units_form_subset_and_default_none(outbox: list[bytes], directive: Directive) -> None:
    only_list = sim.Behaviour(forms=frozenset({"danh-sach-tre-em"}), children=4)
    replies = sim.play_units(outbox, {"XA-VUMUON": only_list})  # default None: nobody else answers
    assert len(replies) == 1
    ((name, data),) = sim.attachments_of(replies[0]).items()
    assert name == form_filename(directive.requirement("danh-sach-tre-em"), "Ủy ban nhân dân xã Vũ Muộn")
    assert len(read_children_list(data, name, AS_OF).rows) == 4


def test_behaviour_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="behaviour"):
        sim.Behaviour("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="error kind"):
        sim.Behaviour("errors", error="typo")
    with pytest.raises(ValueError, match="aware"):
        sim.Behaviour(at=dt.datetime(2023, 2, 10, 9, 0))
