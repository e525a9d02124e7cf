"""Dispatch against a real SMTP server on loopback: every unit exactly once, whatever happens on the way."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from sqlalchemy import select

from flows.dispatch import send_queued
from followup.forms.identity import read_identity
from followup.settings import Settings
from followup.storage.db import open_database
from followup.storage.models import OutgoingMessage

from smtp_server import Sink, smtp_sink

DIRECTIVE = "2023-child-protection"
TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def seed_day(monkeypatch):
    monkeypatch.setenv("FOLLOWUP_NOW", "2023-02-06T08:00:00+07:00")


def dispatch(
    smtp_url: str | None = None, units: list[str] | None = None, resend: bool = False, signed: str | None = None
):
    """The flow's sending task, without Prefect: what `followup dispatch` runs."""
    settings = Settings(smtp_url=smtp_url) if smtp_url else Settings()
    return send_queued.fn(settings, DIRECTIVE, units, resend, signed)


def expected_units(config) -> dict[str, str]:
    directive = config.directive(DIRECTIVE)
    return {u.emails[0]: u.code for u in config.recipients.units_in(directive.addressees)}


def test_every_unit_receives_exactly_one_message_that_opens(config):
    expected = expected_units(config)
    with smtp_sink() as (sink, url):
        report = dispatch(url + "?backoff=0")
    assert report.counts()["sent"] == len(expected) == 36 and report.exit_code == 0
    by_rcpt = sink.by_recipient()
    assert set(by_rcpt) == set(expected)
    assert all(len(items) == 1 for items in by_rcpt.values())

    caosn = by_rcpt["ubnd@caoson.bachthong.example"][0].message
    assert caosn["Subject"] == (
        "[FU:2023-child-protection:XA-CAOSON] Công văn số 1/UBND-LĐTBXH "
        "V/v thực hiện công tác bảo vệ chăm sóc trẻ em năm 2023"
    )
    files = {part.get_filename(): part.get_content() for part in caosn.iter_attachments()}
    assert set(files) == {
        "Công văn số 1-UBND-LĐTBXH.docx",
        "Danh sách trẻ em - Ủy ban nhân dân xã Cao Sơn.xlsx",
        "Báo cáo 6 tháng - Ủy ban nhân dân xã Cao Sơn.docx",
        "Báo cáo năm - Ủy ban nhân dân xã Cao Sơn.docx",
    }
    letter = Document(io.BytesIO(files["Công văn số 1-UBND-LĐTBXH.docx"]))
    assert any("Số: 1/UBND-LĐTBXH" in p.text for t in letter.tables for c in t._cells for p in c.paragraphs)
    xlsx_name = "Danh sách trẻ em - Ủy ban nhân dân xã Cao Sơn.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(files[xlsx_name]))
    cells = [str(c.value) for row in workbook.worksheets[0].iter_rows(max_row=8) for c in row if c.value]
    assert any("Ủy ban nhân dân xã Cao Sơn" in c for c in cells)
    identity = read_identity(files[xlsx_name], xlsx_name)
    assert (identity.directive, identity.requirement, identity.period, identity.unit) == (
        DIRECTIVE,
        "danh-sach-tre-em",
        "2023",
        "XA-CAOSON",
    )
    report_name = "Báo cáo 6 tháng - Ủy ban nhân dân xã Cao Sơn.docx"
    Document(io.BytesIO(files[report_name]))
    assert read_identity(files[report_name], report_name).period == "2023-H1"
    plain = caosn.get_body(("plain",)).get_content()
    assert "Kính gửi: Ủy ban nhân dân xã Cao Sơn" in plain and "chậm nhất ngày 20/02/2023" in plain

    department = by_rcpt["gddt@bachthong.example"][0].message
    names = [p.get_filename() for p in department.iter_attachments()]
    assert not any(n.startswith("Danh sách") for n in names)  # the children list is asked of communes only

    ids = [r.message["Message-ID"] for r in sink.received]
    assert len(set(ids)) == len(ids)
    with open_database(Settings().db_url)() as session:
        rows = session.scalars(select(OutgoingMessage)).all()
        assert {r.status for r in rows} == {"sent"} and {r.message_id for r in rows} == set(ids)


def test_second_run_sends_nothing_and_resend_sends_again(config):
    with smtp_sink() as (sink, url):
        dispatch(url)
        again = dispatch(url)
        assert again.counts() == {"sent": 0, "skipped": 36, "failed": 0, "planned": 0, "waiting": 0}
        assert len(sink.received) == 36
        resent = dispatch(url, units=["XA-VUMUON"], resend=True)
        assert resent.counts()["sent"] == 1 and len(sink.received) == 37
    first, second = sink.by_recipient()["ubnd@vumuon.bachthong.example"]
    assert first.message["Message-ID"] != second.message["Message-ID"]
    assert "số 1/UBND-LĐTBXH" in second.message["Subject"]  # the same letter, not a new number


def test_transient_451_answers_are_retried_until_delivered(config):
    some = {"ubnd@caoson.bachthong.example", "yte@bachthong.example", "laodong@bachthong.example"}
    sink = Sink(defer_data=3, defer_once=some)  # the first message is deferred three times in a row
    with smtp_sink(sink) as (sink, url):
        report = dispatch(url + "?backoff=0.01&retries=4")
    assert sink.deferred == 6
    assert report.counts()["sent"] == 36 and report.exit_code == 0
    assert all(len(v) == 1 for v in sink.by_recipient().values()) and len(sink.received) == 36


def test_dropped_connections_are_reconnected_and_nothing_is_lost(config):
    sink = Sink(drop_data={3, 4, 20})  # twice in a row, then once more later
    with smtp_sink(sink) as (sink, url):
        report = dispatch(url + "?backoff=0.01&retries=4")
    assert report.counts()["sent"] == 36 and report.exit_code == 0
    assert set(sink.by_recipient()) == set(expected_units(config))
    assert all(len(v) == 1 for v in sink.by_recipient().values())


def test_permanent_550_fails_that_unit_only_and_a_fixed_rerun_delivers_it(config):
    sink = Sink(refuse={"ubnd@sybinh.bachthong.example"})
    with smtp_sink(sink) as (sink, url):
        report = dispatch(url + "?backoff=0")
        assert [o.unit_code for o in report.failed] == ["XA-SYBINH"]
        assert "550" in report.failed[0].detail
        assert report.exit_code == 1 and report.counts()["sent"] == 35
        assert "ubnd@sybinh.bachthong.example" not in sink.by_recipient()
        sink.refuse.clear()  # the address is fixed; a rerun sends only what is missing
        rerun = dispatch(url)
    assert rerun.counts() == {"sent": 1, "skipped": 35, "failed": 0, "planned": 0, "waiting": 0}
    assert len(sink.by_recipient()["ubnd@sybinh.bachthong.example"]) == 1


def test_unknown_unit_code_is_refused_with_the_known_ones(config):
    from followup.services.dispatch import UnknownUnits

    with pytest.raises(UnknownUnits, match="unknown unit code\\(s\\): XA-KHONGCO; the directive goes to: TT-PHUTHONG"):
        dispatch(units=["XA-KHONGCO"])


def _issue_to_pdf(config, tmp_path):
    """The văn thư's step: the numbered letter, then its PDF (as a signed scan or export would carry)."""
    from followup.bootstrap import bootstrap
    from followup.documents.libreoffice import to_pdf
    from followup.services.dispatch import issue

    product = bootstrap(Settings())
    with product.uow() as uow:
        issued = issue(
            uow, product.config, product.config.directive("2023-child-protection"), product.settings.documents
        )
    return issued, to_pdf(Path(issued.letter_path), tmp_path)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH to make the PDF")
def test_signed_pdf_of_the_issued_letter_replaces_the_docx(config, tmp_path):
    issued, signed = _issue_to_pdf(config, tmp_path)
    with smtp_sink() as (sink, url):
        dispatch(url, units=["P-YTE"], signed=str(signed))
    files = {p.get_filename(): p.get_content() for p in sink.received[0].message.iter_attachments()}
    assert issued.number.label == "1/UBND-LĐTBXH"
    assert files["Công văn số 1-UBND-LĐTBXH.pdf"] == signed.read_bytes()
    assert not any(name.endswith("UBND-LĐTBXH.docx") for name in files)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH to make the PDF")
def test_a_signed_pdf_of_another_letter_is_refused(config, tmp_path):
    from followup.services.dispatch import SignedCopyMismatch

    issued, signed = _issue_to_pdf(config, tmp_path)
    with open_database(Settings().db_url)() as session:  # the register moves on: the PDF is of number 1 only
        row = session.get(type(issued), issued.id)
        row.number.number = 2
        session.commit()
    with smtp_sink() as (sink, url), pytest.raises(SignedCopyMismatch, match="does not carry the number 2/"):
        dispatch(url, units=["P-YTE"], signed=str(signed))
    assert sink.received == []


def test_maildir_outbox_when_no_smtp_server(config, isolated_home):
    report = dispatch()
    assert report.counts()["sent"] == 36
    assert len(list((isolated_home / "mail" / "outbox" / "new").iterdir())) == 36


def test_a_run_killed_in_the_middle_is_repaired_by_running_it_again(config, isolated_home):
    """SIGKILL the sending process mid-batch: the rerun misses no unit and duplicates at most one message."""
    expected = expected_units(config)
    sink = Sink(delay=0.05)
    with smtp_sink(sink) as (sink, url):
        env = {**os.environ, "FOLLOWUP_SMTP_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        code = (
            "from flows.dispatch import send_queued; from followup.settings import Settings; "
            f"send_queued.fn(Settings(), {DIRECTIVE!r}, None, False, None)"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        deadline = time.monotonic() + 60
        while len(sink.received) < 10 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        delivered_before = len(sink.received)
        assert 10 <= delivered_before < 36, "the kill must land in the middle of the batch"
        sink.delay = 0
        report = dispatch(url)
    by_rcpt = sink.by_recipient()
    assert set(by_rcpt) == set(expected)  # no unit missed
    duplicates = sum(len(v) - 1 for v in by_rcpt.values())
    assert duplicates <= 1
    assert report.counts()["sent"] == 36 - delivered_before + duplicates
    dup_ids = {r.message["Message-ID"] for v in by_rcpt.values() if len(v) > 1 for r in v}
    assert len(dup_ids) <= 1  # a duplicate carries the same Message-ID, so mail clients fold it
