"""The services on fakes: the real unit of work over an in-memory store, a FakeSender, a FakeInbox; no server.

Every test plays the seed configuration (36 units, the 2023 child-protection directive) and checks what the
clerk or a unit would check: who received what, what was kept, what the unit was answered, what the status says.
Replies are written by ``followup.simulation`` from the messages the dispatch actually sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from followup import simulation as simulate
from followup.domain.config import Config, Directive, Unit
from followup.domain.states import Delivery, IncomingStatus, MessageKind, MessageStatus, Source, SubmissionStatus
from followup.forms.identity import read_identity
from followup.services import answers, clerk, outgoing
from followup.services.dispatch import DeadlinePassed, DispatchReport, dispatch, issue, plan
from followup.services.interpret import Interpreter, ProcessResult
from followup.services.status import directive_status
from followup.services.store import own_addresses, store_message, store_new
from followup.storage.models import (
    ChildRecord,
    Dispatch,
    IncomingMessage,
    IssuedNumber,
    OutgoingMessage,
    Submission,
)
from followup.storage.uow import UnitOfWork

from fakes import FakeInbox, FakeSender, fake_uow, fixed_clock, memory_store

DIRECTIVE = "2023-child-protection"
LIST, H1, YEAR = "danh-sach-tre-em", "bao-cao-6-thang", "bao-cao-nam"
PERIODS = {LIST: "2023", H1: "2023-H1", YEAR: "2023"}  # the periods open when the directive goes out
DISPATCH_AT = "2023-02-06T08:00:00+07:00"
COLLECT_AT = "2023-02-27T08:00:00+07:00"
AS_OF = dt.date(2023, 2, 20)  # children's ages are checked on the day of the reply; any day in February
STRANGER = "nguoila.1987@gmail.example"  # nobody registered this address
COMMUNES = "xa-thi-tran"


def at(day: str, hour: int = 9) -> dt.datetime:
    """A moment in office time (+07:00), e.g. at("2023-02-10")."""
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+07:00")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def uow(tmp_path: Path, config: Config) -> UnitOfWork:
    """A fresh store, its clock stopped on the morning the directive goes out."""
    return fake_uow(tmp_path, fixed_clock(config.tz, DISPATCH_AT))


def addressed(config: Config, directive: Directive) -> list[Unit]:
    """The units the directive addresses, read off recipients.yaml by hand."""
    return [u for u in config.recipients.units if set(u.groups) & set(directive.addressees)]


def owed(directive: Directive, unit: Unit) -> set[str]:
    """The requirements a unit must answer: those asked of one of its groups."""
    return {r.code for r in directive.requirements if set(r.from_groups) & set(unit.groups)}


def run_dispatch(uow: UnitOfWork, sender: FakeSender, config: Config, tmp_path: Path, **kwargs) -> DispatchReport:  # type: ignore[no-untyped-def]
    with uow:
        return dispatch(uow, sender, config, config.directive(DIRECTIVE), tmp_path / "documents", **kwargs)


def rows(uow: UnitOfWork, model: type) -> list:  # type: ignore[type-arg]
    """Every row of a table as the store holds it now (detached, loaded: readable after the block)."""
    with uow:
        found = list(uow.session.scalars(select(model).order_by(model.id)))
        uow.session.expunge_all()
        return found


def unit_by_address(config: Config) -> dict[str, str]:
    return {email: u.code for u in config.recipients.units for email in u.emails}


def received_by_unit(config: Config, sender: FakeSender) -> dict[str, list[bytes]]:
    who = unit_by_address(config)
    out: dict[str, list[bytes]] = {}
    for sent in sender.sent:
        out.setdefault(who[sent.recipients[0]], []).append(sent.data)
    return out


def plain(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def children(n: int, seed: str) -> list[simulate.SyntheticChild]:
    return simulate.synthetic_children(n, seed=seed, as_of=AS_OF)


def blank_list(original: bytes) -> tuple[str, bytes]:
    return next((n, d) for n, d in simulate.attachments_of(original).items() if n.startswith("Danh sách trẻ em"))


def filled_list(original: bytes, kids: list[simulate.SyntheticChild], error: str | None = None) -> tuple[str, bytes]:
    name, blank = blank_list(original)
    data = simulate.fill_children_list(blank, kids)
    return name, simulate.break_children_list(data, error, as_of=AS_OF) if error else data


def message_id_of(raw: bytes) -> str:
    return str(simulate.mail.headers_of(raw).message_id)


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What each unit received from one dispatch into a store of its own: the blank forms replies are made of."""
    from followup.domain.config import load_config
    from followup.settings import DEFAULTS

    config = load_config(DEFAULTS)
    tmp = tmp_path_factory.mktemp("outbox")
    sender = FakeSender()
    run_dispatch(fake_uow(tmp, fixed_clock(config.tz, DISPATCH_AT)), sender, config, tmp)
    return {unit: raws[0] for unit, raws in received_by_unit(config, sender).items()}


# =========================================================================== dispatch


def test_every_addressed_unit_gets_one_message_with_the_letter_and_its_own_forms(
    uow: UnitOfWork, config: Config, directive: Directive, tmp_path: Path
) -> None:
    sender = FakeSender()
    report = run_dispatch(uow, sender, config, tmp_path)

    units = addressed(config, directive)
    assert len(units) == 36
    assert report.counts()["sent"] == 36 and report.exit_code == 0
    assert Counter(tuple(s.recipients) for s in sender.sent) == Counter(tuple(u.emails) for u in units)
    assert sender.connections == 1  # one connection for the batch

    letter = report.letter.read_bytes()
    assert report.number == "1/UBND-LĐTBXH"  # the first number of an empty register
    printed = docx.Document(io.BytesIO(letter))
    assert any("Số: 1/UBND-LĐTBXH" in p.text for t in printed.tables for c in t._cells for p in c.paragraphs)
    by_address = {s.recipients[0]: s for s in sender.sent}
    for unit in units:
        sent = by_address[unit.emails[0]]
        message = sent.message
        assert sent.from_addr == config.recipients.office.email
        assert message["Subject"].startswith(f"[FU:{DIRECTIVE}:{unit.code}] Công văn số 1/UBND-LĐTBXH")
        assert f"Kính gửi: {unit.name}" in plain(message)
        files = simulate.attachments_of(sent.data)
        assert files.pop("Công văn số 1-UBND-LĐTBXH.docx") == letter  # the issued letter, the same for all
        forms = {name: read_identity(data, name) for name, data in files.items()}
        assert {f.requirement for f in forms.values()} == owed(directive, unit)
        assert len(forms) == len(owed(directive, unit))  # one form per requirement, nothing else
        for name, form in forms.items():
            assert (form.directive, form.unit, form.period) == (DIRECTIVE, unit.code, PERIODS[form.requirement])
            assert name.endswith(f"- {unit.name}{'.xlsx' if form.requirement == LIST else '.docx'}")
    assert owed(directive, config.recipients.unit("P-GDDT")) == {H1, YEAR}  # the list is asked of communes only

    stored = rows(uow, OutgoingMessage)
    assert {m.status for m in stored} == {MessageStatus.SENT}
    assert sorted(m.message_id for m in stored) == sorted(s.message["Message-ID"] for s in sender.sent)
    assert len({m.message_id for m in stored}) == 36


def test_a_letter_whose_deadline_has_passed_is_sent_only_when_forced(tmp_path: Path, config: Config) -> None:
    """The rule is the service's, so a dispatch started from the Prefect UI refuses as the command line does."""
    late = fake_uow(tmp_path, fixed_clock(config.tz, "2023-02-21T08:00:00+07:00"))  # the list was due by 20/02
    sender = FakeSender()
    with pytest.raises(DeadlinePassed) as refused:
        run_dispatch(late, sender, config, tmp_path)
    assert {r.requirement.code for r in refused.value.requests} == {LIST}
    assert sender.sent == [] and rows(late, OutgoingMessage) == []
    report = run_dispatch(late, sender, config, tmp_path, force=True)
    assert report.count("sent") == len(addressed(config, config.directive(DIRECTIVE)))


def test_a_second_run_sends_nothing_and_resend_sends_again_with_a_new_message_id(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    sender = FakeSender()
    run_dispatch(uow, sender, config, tmp_path)
    again = run_dispatch(uow, sender, config, tmp_path)
    assert again.counts() == {"sent": 0, "skipped": 36, "failed": 0, "planned": 0, "waiting": 0}
    assert len(sender.sent) == 36

    resent = run_dispatch(uow, sender, config, tmp_path, units=["XA-VUMUON"], resend=True)
    assert resent.counts()["sent"] == 1 and len(sender.sent) == 37
    first, second = sender.to("ubnd@vumuon.bachthong.example")
    assert first["Message-ID"] != second["Message-ID"]
    assert "Công văn số 1/UBND-LĐTBXH" in second["Subject"]  # the same letter, not a new number
    assert len(rows(uow, IssuedNumber)) == 1
    assert run_dispatch(uow, sender, config, tmp_path).counts()["skipped"] == 36 and len(sender.sent) == 37


def test_a_permanent_failure_fails_only_that_unit_and_a_fixed_rerun_sends_it_once(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    sybinh = "ubnd@sybinh.bachthong.example"
    sender = FakeSender(refuse={sybinh})
    report = run_dispatch(uow, sender, config, tmp_path)
    assert [o.unit_code for o in report.failed] == ["XA-SYBINH"] and "550" in report.failed[0].detail
    assert report.counts()["sent"] == 35 and report.exit_code == 1
    assert sender.to(sybinh) == [] and len(sender.sent) == 35
    [failed] = [m for m in rows(uow, OutgoingMessage) if m.unit_code == "XA-SYBINH"]
    assert failed.status == MessageStatus.FAILED and "550" in (failed.error or "")

    sender.refuse.clear()  # the clerk fixed the address with the commune
    rerun = run_dispatch(uow, sender, config, tmp_path)
    assert rerun.counts() == {"sent": 1, "skipped": 35, "failed": 0, "planned": 0, "waiting": 0}
    [delivered] = sender.to(sybinh)
    assert delivered["Message-ID"] == failed.message_id  # the failed try again, not a second message
    assert {m.status for m in rows(uow, OutgoingMessage)} == {MessageStatus.SENT}


def test_issue_numbers_once_and_the_register_continues(
    uow: UnitOfWork, config: Config, directive: Directive, tmp_path: Path
) -> None:
    documents = tmp_path / "documents"
    with uow:
        first = issue(uow, config, directive, documents)
        first_id, label, letter = first.id, first.number.label, Path(first.letter_path)
    with uow:
        again = issue(uow, config, directive, documents)
        assert (again.id, again.number.label, Path(again.letter_path)) == (first_id, label, letter)
    assert label == "1/UBND-LĐTBXH"
    assert [(n.number, n.symbol, n.year) for n in rows(uow, IssuedNumber)] == [(1, "UBND-LĐTBXH", 2023)]
    assert list(letter.parent.iterdir()) == [letter]  # one letter written, not one per run

    # A second directive under the same symbol takes the next number of the register.
    other = directive.model_copy(update={"code": "2023-child-protection-2", "subject": "đôn đốc báo cáo"})
    more = dataclasses.replace(config, directives={**config.directives, other.code: other})
    with uow:
        assert issue(uow, more, other, documents).number.label == "2/UBND-LĐTBXH"
        assert issue(uow, more, directive, documents).number.label == "1/UBND-LĐTBXH"
    assert [n.number for n in rows(uow, IssuedNumber)] == [1, 2]


def test_plan_says_what_each_unit_would_receive_and_records_nothing(
    uow: UnitOfWork, config: Config, directive: Directive, tmp_path: Path
) -> None:
    units = addressed(config, directive)
    planned = plan(config, directive, units, AS_OF)
    assert [o.unit_code for o in planned] == [u.code for u in units]
    assert {o.status for o in planned} == {Delivery.PLANNED}
    for outcome, unit in zip(planned, units, strict=True):
        assert outcome.detail.startswith(", ".join(unit.emails))
        assert {code for code in (LIST, H1, YEAR) if f"{code} ({PERIODS[code]}," in outcome.detail} == owed(
            directive, unit
        )
    for model in (IssuedNumber, Dispatch, OutgoingMessage):
        assert rows(uow, model) == []
    assert not (tmp_path / "documents").exists()

    sender = FakeSender()  # and what it announced is what goes out
    run_dispatch(uow, sender, config, tmp_path)
    for unit in units:
        [sent] = [s for s in sender.sent if s.recipients == unit.emails]
        files = simulate.attachments_of(sent.data)
        got = {read_identity(d, n).requirement for n, d in files.items() if not n.startswith("Công văn")}
        assert got == owed(directive, unit)


def test_a_stop_before_delivery_leaves_every_message_waiting_and_a_later_run_sends_them(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    stop = threading.Event()
    stop.set()
    sender = FakeSender()
    report = run_dispatch(uow, sender, config, tmp_path, stop=stop)
    assert report.counts()["waiting"] == 36 and sender.sent == [] and sender.attempts == 0
    assert {m.status for m in rows(uow, OutgoingMessage)} == {MessageStatus.PENDING}  # recorded, held by no one

    later = run_dispatch(uow, sender, config, tmp_path)
    assert later.counts()["sent"] == 36
    assert Counter(tuple(s.recipients) for s in sender.sent).most_common(1)[0][1] == 1


def test_a_stop_in_the_middle_sends_the_message_in_flight_and_frees_the_rest(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    stop = threading.Event()
    seen: list[str] = []

    def progress(outcome: outgoing.Outcome) -> None:  # Ctrl-C while the fifth message goes out
        seen.append(outcome.unit_code)
        if len(seen) == 5:
            stop.set()

    sender = FakeSender()
    report = run_dispatch(uow, sender, config, tmp_path, stop=stop, progress=progress)
    assert report.counts()["sent"] == 5 == len(sender.sent) and report.counts()["waiting"] == 31
    statuses = Counter(m.status for m in rows(uow, OutgoingMessage))
    assert statuses == {MessageStatus.SENT: 5, MessageStatus.PENDING: 31}  # composed ahead, then given back

    rerun = run_dispatch(uow, sender, config, tmp_path)
    assert rerun.counts() == {"sent": 31, "skipped": 5, "failed": 0, "planned": 0, "waiting": 0}
    assert len({tuple(s.recipients) for s in sender.sent}) == len(sender.sent) == 36


def test_a_server_gone_mid_batch_stops_the_run_and_the_next_run_sends_the_rest(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    """The same process runs again (a Prefect task retry): nothing may stay claimed by the run that stopped."""
    from followup.mail.sender import ServerUnavailable

    sender = FakeSender(unavailable_after=10)
    with pytest.raises(ServerUnavailable):
        run_dispatch(uow, sender, config, tmp_path)
    assert len(sender.sent) == 10
    statuses = Counter(m.status for m in rows(uow, OutgoingMessage))
    assert statuses == {MessageStatus.SENT: 10, MessageStatus.PENDING: 26}

    sender.unavailable_after = None  # the server is back
    rerun = run_dispatch(uow, sender, config, tmp_path)
    assert rerun.counts() == {"sent": 26, "skipped": 10, "failed": 0, "planned": 0, "waiting": 0}
    assert len({tuple(s.recipients) for s in sender.sent}) == len(sender.sent) == 36


# =========================================================================== store, interpret, answer


def collect(uow: UnitOfWork, inbox: FakeInbox, config: Config, sender: FakeSender):  # type: ignore[no-untyped-def]
    """One collect run as the flow does it: store, interpret, answer."""
    with uow:
        stored = store_new(uow, inbox, Source.IMAP, own_addresses(config))
    with uow:
        interpreted = Interpreter(uow, config).process_stored()
    with uow:
        sent = answers.send_answers(uow, sender, config)
    return stored, interpreted, sent


def test_replies_are_stored_once_interpreted_and_answered_once_in_their_thread(
    uow: UnitOfWork, config: Config, tmp_path: Path
) -> None:
    office = FakeSender()
    run_dispatch(uow, office, config, tmp_path, units=["XA-CAOSON", "XA-VUMUON", "XA-LUCBINH"])
    received = {unit: raws[0] for unit, raws in received_by_unit(config, office).items()}
    uow.clock = fixed_clock(config.tz, COLLECT_AT)

    good = simulate.reply_email(
        received["XA-CAOSON"], [filled_list(received["XA-CAOSON"], children(4, "a"))], date=at("2023-02-10")
    )
    private = "canbo.vumuon@gmail.example"  # the officer answers from her own mailbox
    broken = simulate.reply_email(
        received["XA-VUMUON"],
        [filled_list(received["XA-VUMUON"], children(3, "b"), error="bad-group")],
        date=at("2023-02-11"),
        from_addr=private,
    )
    name, data = filled_list(received["XA-LUCBINH"], children(3, "c"))
    stranger = simulate.reply_email(
        received["XA-LUCBINH"], [(name, simulate.strip_identity(data))], date=at("2023-02-12"), from_addr=STRANGER,
        threading=False, keep_tag=False, quote_subject=False,
    )  # fmt: skip
    inbox = FakeInbox(good, good, broken, stranger)  # Cao Sơn's server delivered its reply twice

    sender = FakeSender()
    stored, interpreted, sent = collect(uow, inbox, config, sender)

    assert (stored.fetched, stored.stored, stored.duplicates) == (4, 3, 1)
    assert inbox.unprocessed == [] and len(inbox.messages) == 4  # marked, never deleted
    kept = rows(uow, IncomingMessage)
    assert [Path(m.raw_path).read_bytes() for m in kept] == [good, broken, stranger]
    assert [m.message_id for m in kept] == [message_id_of(r) for r in (good, broken, stranger)]
    assert {m.status for m in kept} == {IncomingStatus.PROCESSED}

    assert interpreted.messages == 3 and interpreted.failed == 0
    subs = {s.incoming_id: s for s in rows(uow, Submission)}
    ok, bad, unknown = (subs[m.id] for m in kept)
    assert (ok.status, ok.unit_code, ok.requirement_code, ok.period) == ("accepted", "XA-CAOSON", LIST, "2023")
    assert ok.summary["rows"] == 4
    with uow:
        assert uow.session.scalar(select(func.count()).where(ChildRecord.submission_id == ok.id)) == 4
    assert (bad.status, bad.unit_code) == ("rejected", "XA-VUMUON")
    assert bad.problems and {p["severity"] for p in bad.problems} == {"error"}
    assert (unknown.status, unknown.unit_code) == ("triage", None) and unknown.reason

    # One answer per message from a known unit, to its registered address, in the unit's thread.
    assert [o.status for o in sent] == [Delivery.SENT, Delivery.SENT] and len(sender.sent) == 2
    assert sender.to(STRANGER) == [] and sender.to(private) == []
    [to_caoson] = sender.to("ubnd@caoson.bachthong.example")
    [to_vumuon] = sender.to("ubnd@vumuon.bachthong.example")
    assert to_caoson["In-Reply-To"] == message_id_of(good)
    assert to_vumuon["In-Reply-To"] == message_id_of(broken)
    assert f"[FU:{DIRECTIVE}:XA-CAOSON]" in to_caoson["Subject"]
    assert "ĐÃ TIẾP NHẬN" in plain(to_caoson) and "đã nhận thư của Quý cơ quan, đơn vị" in plain(to_caoson)
    assert "CHƯA TIẾP NHẬN" in plain(to_vumuon)
    assert all(p["message"] in plain(to_vumuon) for p in bad.problems)

    # Everything run again, and Cao Sơn's reply delivered a third time: nothing more is kept or sent.
    inbox.deliver(good)
    stored, interpreted, sent = collect(uow, inbox, config, sender)
    assert (stored.fetched, stored.stored, stored.duplicates) == (1, 0, 1)
    assert interpreted.messages == 0 and sent == [] and len(sender.sent) == 2
    assert len(rows(uow, IncomingMessage)) == 3 and len(rows(uow, Submission)) == 3
    assert len(rows(uow, OutgoingMessage)) == 3 + 2  # the dispatch and the two answers


# =========================================================================== the clerk


def test_a_paper_reply_recorded_before_any_dispatch_is_accepted_and_answered_as_handed_in(
    uow: UnitOfWork, config: Config, tmp_path: Path, outbox: dict[str, bytes]
) -> None:
    uow.clock = fixed_clock(config.tz, COLLECT_AT)
    paper = tmp_path / "Danh sách Cao Sơn.xlsx"
    paper.write_bytes(filled_list(outbox["XA-CAOSON"], children(5, "hand"))[1])
    assert rows(uow, Dispatch) == []  # nothing was sent from this store: the directive is not in it yet

    with uow:
        [accepted] = clerk.record(uow, config, "XA-CAOSON", DIRECTIVE, LIST, "2023", [paper], at("2023-02-15"))
        assert (accepted.status, accepted.unit_code, accepted.summary["rows"]) == ("accepted", "XA-CAOSON", 5)
        assert accepted.received_at == at("2023-02-15")
    [kept] = rows(uow, IncomingMessage)
    assert (kept.source, kept.status) == (Source.HAND, IncomingStatus.PROCESSED)
    # For Cao Sơn the subject, folded into encoded words in the stored header, reads back as "trựctiếp".
    assert "Nhận trực tiếp:" in (kept.subject or "")

    sender = FakeSender()
    with uow:
        answers.send_answers(uow, sender, config)
    [answer] = sender.to("ubnd@caoson.bachthong.example")
    assert len(sender.sent) == 1
    assert "Nhận trực tiếp:" in answer["Subject"] and answer["In-Reply-To"] is None
    for body in (plain(answer), html(answer)):
        assert "đã nhận báo cáo Quý cơ quan, đơn vị nộp trực tiếp lúc 09:00 ngày 15/02/2023" in body
        assert "đã nhận thư" not in body
    assert "ĐÃ TIẾP NHẬN" in plain(answer)

    with uow:
        [slot] = directive_status(uow, config, config.directive(DIRECTIVE), at("2023-02-27"), LIST, "2023")
    assert {u.unit: u.state for u in slot.units}["XA-CAOSON"] == "on_time"


def triaged_store(uow: UnitOfWork, config: Config, outbox: dict[str, bytes]) -> list[Submission]:
    """Two replies from a private address with no identity, no tag, no thread: both wait in triage."""
    uow.clock = fixed_clock(config.tz, COLLECT_AT)
    raws = []
    for unit, seed in (("XA-LUCBINH", "l"), ("XA-SYBINH", "s")):
        name, data = filled_list(outbox[unit], children(3, seed))
        raws.append(
            simulate.reply_email(
                outbox[unit],
                [(name, simulate.strip_identity(data))],
                date=at("2023-02-13"),
                from_addr=STRANGER,
                threading=False,
                keep_tag=False,
                quote_subject=False,
            )  # fmt: skip
        )
    with uow:
        for raw in raws:
            store_message(uow, raw, Source.IMAP)
        Interpreter(uow, config).process_stored()
        answers.send_answers(uow, FakeSender(), config)  # nobody to answer yet
        waiting = [sub for sub, _ in clerk.waiting_in_triage(uow)]
        uow.session.expunge_all()
        return waiting


def test_the_clerk_assigns_a_triaged_reply_and_the_unit_is_answered(
    uow: UnitOfWork, config: Config, outbox: dict[str, bytes]
) -> None:
    first, second = triaged_store(uow, config, outbox)
    assert (first.status, first.unit_code, second.status) == ("triage", None, "triage")

    with uow:
        decided = clerk.assign(uow, config, first.id, "XA-LUCBINH", DIRECTIVE, LIST, "2023")
        assert (decided.status, decided.unit_code, decided.decided_by) == ("accepted", "XA-LUCBINH", "clerk")
        assert decided.summary["rows"] == 3 and decided.received_at == at("2023-02-13")
        assert uow.repo.submission(first.id).status == SubmissionStatus.ASSIGNED  # type: ignore[union-attr]
        assert [s.id for s, _ in clerk.waiting_in_triage(uow)] == [second.id]

    sender = FakeSender()
    with uow:
        answers.send_answers(uow, sender, config)
    [answer] = sender.sent
    assert answer.recipients == ["ubnd@lucbinh.bachthong.example"]  # the registered address, not the stranger
    assert "ĐÃ TIẾP NHẬN" in plain(answer.message)
    with uow:
        [slot] = directive_status(uow, config, config.directive(DIRECTIVE), at("2023-02-27"), LIST, "2023")
    assert {u.unit: u.state for u in slot.units}["XA-LUCBINH"] == "on_time"


def test_a_triaged_opendocument_file_that_cannot_be_converted_is_named_to_the_clerk_and_keeps_waiting(
    uow: UnitOfWork, config: Config, outbox: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's .ods, read where LibreOffice is not installed: it waits in triage; assigning it tells the
    clerk what to do instead of reading LibreOffice's own format as a workbook."""
    import zipfile

    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        ods.writestr("content.xml", "<office:document-content/>")
    raw = simulate.reply_email(
        outbox["XA-LUCBINH"], [("danh sach.ods", package.getvalue())], date=at("2023-02-13"), from_addr=STRANGER,
        threading=False, keep_tag=False, quote_subject=False,
    )  # fmt: skip
    uow.clock = fixed_clock(config.tz, COLLECT_AT)
    with uow:
        store_message(uow, raw, Source.IMAP)
        Interpreter(uow, config).process_stored()
        [(waiting, _)] = clerk.waiting_in_triage(uow)
        waiting_id = waiting.id
    with (
        uow,
        pytest.raises(ValueError, match=r"is a \.ods file that LibreOffice could not convert.*ask the unit for \.xlsx"),
    ):
        clerk.assign(uow, config, waiting_id, "XA-LUCBINH", DIRECTIVE, LIST, "2023")
    with uow:
        assert [s.id for s, _ in clerk.waiting_in_triage(uow)] == [waiting_id]


def test_the_clerk_sets_a_reply_aside_and_only_waiting_replies_can_be_decided(
    uow: UnitOfWork, config: Config, outbox: dict[str, bytes]
) -> None:
    first, second = triaged_store(uow, config, outbox)
    with uow:
        aside = clerk.reject(uow, second.id, "bản trùng với bản giấy đã nộp")
        assert (aside.status, aside.reason, aside.decided_by) == ("discarded", "bản trùng với bản giấy đã nộp", "clerk")
        assert [s.id for s, _ in clerk.waiting_in_triage(uow)] == [first.id]
    with uow:
        decided = clerk.assign(uow, config, first.id, "XA-LUCBINH", DIRECTIVE, LIST, "2023")
        decided_id = decided.id

    for waiting_no_more in (second.id, first.id, decided_id, 999):
        with uow, pytest.raises(ValueError, match=f"no reply #{waiting_no_more} waits in triage"):
            clerk.assign(uow, config, waiting_no_more, "XA-SYBINH", DIRECTIVE, LIST, "2023")
        with uow, pytest.raises(ValueError, match=f"no reply #{waiting_no_more} waits in triage"):
            clerk.reject(uow, waiting_no_more, "spam")
    assert Counter(s.status for s in rows(uow, Submission)) == {"discarded": 1, "assigned": 1, "accepted": 1}
    sender = FakeSender()
    with uow:
        answers.send_answers(uow, sender, config)
    assert [s.recipients for s in sender.sent] == [["ubnd@lucbinh.bachthong.example"]]  # none for the one set aside


# =========================================================================== status


def test_status_counts_equal_a_count_by_hand(
    uow: UnitOfWork, config: Config, directive: Directive, outbox: dict[str, bytes]
) -> None:
    uow.clock = fixed_clock(config.tz, COLLECT_AT)
    scan = b"%PDF-1.4\n" + bytes(range(256)) * 8

    def list_reply(unit: str, day: str, error: str | None = None, n: int = 4) -> bytes:
        return simulate.reply_email(outbox[unit], [filled_list(outbox[unit], children(n, unit), error)], date=at(day))

    # What the communes sent; the list was due 20/02/2023 ("chậm nhất ngày 20/02/2023").
    script = [
        list_reply("XA-CAOSON", "2023-02-10"),  # on time
        list_reply("XA-CAMGIANG", "2023-02-11"),  # on time ...
        list_reply("XA-CAMGIANG", "2023-02-25", n=5),  # ... sent again later: still on time
        list_reply("XA-VUMUON", "2023-02-12", error="bad-group"),  # rejected ...
        list_reply("XA-VUMUON", "2023-02-24"),  # ... corrected after the deadline: late
        list_reply("XA-DONPHONG", "2023-02-25"),  # late
        list_reply("XA-QUANHA", "2023-02-14", error="bad-sex"),  # rejected, never corrected
        simulate.reply_email(outbox["XA-TANTU"], [("Danh sách (bản chụp).pdf", scan)], date=at("2023-02-13")),
    ]
    with uow:
        for raw in script:
            store_message(uow, raw, Source.IMAP)
        Interpreter(uow, config).process_stored()

    # By hand, unit by unit, as the clerk would tick them off on 15/02 and on 27/02.
    on_15 = {"XA-CAOSON": "on_time", "XA-CAMGIANG": "on_time", "XA-VUMUON": "rejected", "XA-QUANHA": "rejected",
             "XA-TANTU": "pending"}  # fmt: skip
    on_27 = {**on_15, "XA-VUMUON": "late", "XA-DONPHONG": "late"}
    communes = [u.code for u in config.recipients.units if COMMUNES in u.groups]
    everyone = [u.code for u in config.recipients.units if set(u.groups) & set(directive.addressees)]
    assert len(communes) == 14 and len(everyone) == 36

    def by_hand(expected: list[str], states: dict[str, str], past_due: bool) -> dict:
        states = {unit: states.get(unit, "missing") for unit in expected}
        count = Counter(states.values())
        accepted = count["on_time"] + count["late"]
        return {
            "expected": len(expected), "accepted": accepted, "on_time": count["on_time"], "late": count["late"],
            "rejected": count["rejected"], "pending": count["pending"], "missing": count["missing"],
            "overdue": sum(1 for s in states.values() if s not in ("on_time", "late")) if past_due else 0,
            "reporting_rate": round(accepted / len(expected), 4),
            "on_time_rate": round(count["on_time"] / len(expected), 4),
        }  # fmt: skip

    with uow:
        before = {(s.requirement, s.period): s for s in directive_status(uow, config, directive, at("2023-02-15"))}
        after = {(s.requirement, s.period): s for s in directive_status(uow, config, directive, at("2023-02-27"))}
    assert set(after) == {(LIST, "2023"), (H1, "2023-H1"), (YEAR, "2023")}
    assert before[(LIST, "2023")].counts() == by_hand(communes, on_15, past_due=False)
    assert after[(LIST, "2023")].counts() == by_hand(communes, on_27, past_due=True)
    assert {u.unit: u.state for u in after[(LIST, "2023")].units} == {c: on_27.get(c, "missing") for c in communes}
    # No report came back (none is due before May); Tân Tú's scan, not yet placed, shows it as having replied.
    for slot in ((H1, "2023-H1"), (YEAR, "2023")):
        assert after[slot].counts() == by_hand(everyone, {"XA-TANTU": "pending"}, past_due=False)
    assert {u.unit: u.received_at for u in after[(LIST, "2023")].units if u.received_at} == {
        "XA-CAOSON": at("2023-02-10"), "XA-CAMGIANG": at("2023-02-11"), "XA-VUMUON": at("2023-02-24"),
        "XA-DONPHONG": at("2023-02-25"), "XA-QUANHA": at("2023-02-14"), "XA-TANTU": at("2023-02-13"),
    }  # fmt: skip


# =========================================================================== claims


def test_a_message_one_run_holds_cannot_be_sent_by_another_until_its_lease_passes(
    tmp_path: Path, config: Config
) -> None:
    store = memory_store()
    now = fixed_clock(config.tz, COLLECT_AT)
    first, second = fake_uow(tmp_path, now, store), fake_uow(tmp_path, now, store)
    assert first.run_id != second.run_id
    with first:
        mid = outgoing.record(
            first, config, MessageKind.ANSWER, "test.XA-CAOSON", recipients=["ubnd@caoson.bachthong.example"],
            subject="Re: báo cáo", unit_code="XA-CAOSON",
        ).message_id  # fmt: skip
        first.commit()

    def build(message: OutgoingMessage) -> outgoing.Outgoing:
        return outgoing.Outgoing(
            message_id=message.message_id, from_addr=config.recipients.office.email, from_name="UBND",
            to=list(message.recipients), subject=message.subject, text="Đã nhận.", html="<p>Đã nhận.</p>",
        )  # fmt: skip

    sender = FakeSender()
    with first, second:
        held = first.repo.outgoing(mid)
        assert held is not None and first.repo.claim_message(held, first.run_id, first.now(), outgoing.LEASE)
        # The first run is still composing it; the second run comes by five minutes later.
        second.clock = fixed_clock(config.tz, "2023-02-27T08:05:00+07:00")
        waiting = second.repo.outgoing(mid)
        assert waiting is not None
        assert outgoing.deliver(second, sender, [waiting], build) == [
            outgoing.Outcome("XA-CAOSON", Delivery.WAITING, outgoing.OTHER_RUN)
        ]
        assert sender.sent == [] and (waiting.status, waiting.claimed_by) == (MessageStatus.SENDING, first.run_id)

        # The first run died without a trace and its lease (10 minutes) has passed: the second takes it over.
        second.clock = fixed_clock(config.tz, "2023-02-27T08:10:01+07:00")
        assert outgoing.deliver(second, sender, [waiting], build) == [outgoing.Outcome("XA-CAOSON", Delivery.SENT)]
        assert [s.recipients for s in sender.sent] == [["ubnd@caoson.bachthong.example"]]
        assert (waiting.status, waiting.claimed_by) == (MessageStatus.SENT, None)
        # Sent is sent: the first run, back, cannot claim it again.
        first.session.expire_all()
        assert not first.repo.claim_message(held, first.run_id, first.now(), outgoing.LEASE)
    assert len(sender.sent) == 1


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path, config: Config) -> None:
    store = memory_store()
    now = fixed_clock(config.tz, COLLECT_AT)
    uow = fake_uow(tmp_path, now, store)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_run = f"{socket.gethostname()[:30]}:{int(dead.stdout)}:deadbeef"
    alive_run = f"{socket.gethostname()[:30]}:{os.getppid()}:cafe0000"  # a living process of this host
    with uow:
        held = {}
        for key, holder in (("dead", dead_run), ("alive", alive_run)):
            row = outgoing.record(
                uow, config, MessageKind.ANSWER, key, recipients=["ubnd@caoson.bachthong.example"], subject=key,
                unit_code="XA-CAOSON",
            )  # fmt: skip
            row.status, row.claimed_by, row.claimed_until = MessageStatus.SENDING, holder, at("2023-02-27", 23)
            held[key] = row
        uow.commit()
        assert uow.repo.claim_message(held["dead"], uow.run_id, uow.now(), outgoing.LEASE)  # its run is gone
        assert not uow.repo.claim_message(held["alive"], uow.run_id, uow.now(), outgoing.LEASE)  # its run lives


def test_a_stored_message_is_interpreted_by_one_run_and_taken_over_when_its_lease_passes(
    tmp_path: Path, config: Config, outbox: dict[str, bytes]
) -> None:
    from followup.services.interpret import LEASE

    store = memory_store()
    first = fake_uow(tmp_path, fixed_clock(config.tz, COLLECT_AT), store)
    second = fake_uow(tmp_path, fixed_clock(config.tz, COLLECT_AT), store)
    reply = simulate.reply_email(
        outbox["XA-CAOSON"], [filled_list(outbox["XA-CAOSON"], children(2, "x"))], date=at("2023-02-10")
    )
    with first, second:
        incoming = store_message(first, reply, Source.IMAP)
        assert incoming is not None
        assert first.repo.claim_stored(first.run_id, first.now(), LEASE) == [incoming.id]
        assert second.repo.claim_stored(second.run_id, second.now(), LEASE) == []
        assert Interpreter(second, config).process_stored().messages == 0  # the first run holds it
        second.clock = fixed_clock(config.tz, "2023-02-27T08:10:01+07:00")
        result = Interpreter(second, config).process_stored()
        assert result.messages == 1 and result.submissions == {"accepted": 1}


def test_two_runs_that_each_accept_a_reply_of_one_slot_side_by_side_leave_the_later_one_accepted(
    tmp_path: Path, config: Config, outbox: dict[str, bytes]
) -> None:
    """Each run reads the accepted slots once a batch: two batches side by side miss each other's acceptance.
    The sweep at the end of a run leaves one accepted reply per slot, the later one."""
    store = memory_store()
    first = fake_uow(tmp_path, fixed_clock(config.tz, COLLECT_AT), store)
    second = fake_uow(tmp_path, fixed_clock(config.tz, COLLECT_AT), store)
    original = outbox["XA-CAOSON"]
    with first, second:
        first.repo.sync_config(config, first.now())
        stored = []
        for n, day in ((2, "2023-02-10"), (3, "2023-02-11")):
            reply = simulate.reply_email(original, [filled_list(original, children(n, day))], date=at(day))
            stored.append(store_message(first, reply, Source.IMAP))
        first.commit()
        early = Interpreter(first, config)  # neither run has seen an acceptance
        first.commit()
        late = Interpreter(second, config)
        second.commit()
        early.process_one(stored[0].id, early_result := ProcessResult())
        late.process_one(stored[1].id, late_result := ProcessResult())
        assert early_result.submissions == late_result.submissions == {"accepted": 1}
        assert late.repo.settle_accepted() == 1
        second.commit()
        by_status = {s.incoming_id: s.status for s in rows(second, Submission)}
        assert by_status == {stored[0].id: SubmissionStatus.SUPERSEDED, stored[1].id: SubmissionStatus.ACCEPTED}
        status = directive_status(second, config, config.directive("2023-child-protection"), at("2023-02-27"))
        [caoson] = [u for s in status if s.requirement == LIST for u in s.units if u.unit == "XA-CAOSON"]
        assert caoson.state.value == "on_time"
        second.commit()
        assert late.repo.settle_accepted() == 0  # nothing left to settle
