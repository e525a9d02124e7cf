"""Collecting replies: store every message as received, then match, read, check, record and answer.

Two steps, each repeatable. ``store_new`` copies each new message from the mailbox into the store (raw
bytes on disk, a row) before anything interprets it, and only then marks it processed on the server.
``process_stored`` works from the store, one message per transaction: a message that breaks the reader
is marked ``failed`` and kept, and the run goes on. Answers are queued as rows and sent by ``delivery``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from followup.domain.config import Config
from followup.domain.matching import Known, Match, NoMatch, agreed_unit, match, message_evidence
from followup.domain.periods import Period, due_for, dues
from followup.forms.identity import FormIdentity, UnreadableForm, read_identity
from followup.forms.problems import problem_record
from followup.forms.registry import KINDS, kind_for_extension, kind_of
from followup.forms.review import Verdict, cross_check
from followup.forms.summaries import ListSummary, ReportSummary, summary_from_json
from followup.mail import parse as mail_in
from followup.mail.compose import Outgoing, new_message_id, render_bodies, tracking_tag
from followup.mail.inbox import Inbox
from followup.mail.parse import IncomingFile, ParsedMessage, parse_envelope, parse_message
from followup.storage.files import FileStore
from followup.storage.models import ChildRecord, IncomingMessage, OutgoingMessage, Submission
from followup.storage.repository import sync_recipients

LEGACY = {"xls": "xlsx", "doc": "docx"}
ANSWER = "answer"


# --------------------------------------------------------------------------- step 1: store as received


@dataclass
class StoreResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0


def store_message(
    session: Session,
    files: FileStore,
    raw: bytes,
    source: str,
    now: dt.datetime,
    received: dt.datetime | None = None,
    own_addresses: frozenset[str] = frozenset(),
) -> IncomingMessage | None:
    """Keep one message as received; None if the store already has it (same Message-ID, or same bytes).

    Nothing here may fail on what a sender wrote: a message the parser chokes on is still stored (by its
    hash) and fails later, visibly, in interpretation, without blocking the inbox.
    """
    digest = hashlib.sha256(raw).hexdigest()
    try:
        envelope, arrived = parse_envelope(raw)
        parsed: ParsedMessage | None = ParsedMessage(envelope, arrived=arrived)
        if envelope.from_addr in own_addresses:  # forwarded by the office: the inner message's date counts
            parsed = parse_message(raw)
    except Exception:
        parsed = None
    message_id = parsed.envelope.message_id[:300] if parsed and parsed.envelope.message_id else None
    key = f"mid:{message_id}" if message_id else f"sha:{digest}"
    existing = session.scalar(select(IncomingMessage).where(IncomingMessage.dedup_key == key))
    if existing is not None:
        if not Path(existing.raw_path).exists():  # lost with the machine before it reached the disk: keep it now
            files.put_message(raw)
        return None
    path = files.put_message(raw)
    incoming = IncomingMessage(
        source=source,
        dedup_key=key,
        sha256=digest,
        message_id=message_id,
        raw_path=str(path),
        size=len(raw),
        from_addr=parsed.envelope.from_addr if parsed else None,
        subject=parsed.envelope.subject[:2000] if parsed else None,
        received_at=received or arrival_time(parsed, now, own_addresses),
        collected_at=now,
        status="stored",
    )
    session.add(incoming)
    session.commit()
    return incoming


def arrival_time(parsed: ParsedMessage | None, now: dt.datetime, own: frozenset[str] = frozenset()) -> dt.datetime:
    """When the reply counts as received: the receiving server's stamp, else its Date, never in the future.

    A reply forwarded by the office (a data officer passing on what a unit mailed her) counts from when the
    unit sent it."""
    moment = (parsed.sent_at(own) if parsed else None) or now
    return min(moment, now)


def own_addresses(config: Config) -> frozenset[str]:
    """The office's and the data officers' addresses: they forward replies, they never are a unit."""
    recipients = config.recipients
    return frozenset({recipients.office.email.lower(), *(o.email.lower() for o in recipients.data_officers)})


def store_new(
    session: Session, inbox: Inbox, files: FileStore, source: str, now: dt.datetime, own: frozenset[str] = frozenset()
) -> StoreResult:
    result = StoreResult()
    held: list[str] = []
    with inbox:
        for raw in inbox.fetch_unprocessed():
            result.fetched += 1
            if store_message(session, files, raw.data, source, now, own_addresses=own) is None:
                result.duplicates += 1
            else:
                result.stored += 1
            held.append(raw.key)
            if len(held) >= MARK_BATCH:
                _release(inbox, files, held)
        _release(inbox, files, held)
    return result


MARK_BATCH = 100


def _release(inbox: Inbox, files: FileStore, keys: list[str]) -> None:
    """Mark messages processed on the server only once the store holds them durably."""
    if not keys:
        return
    files.sync()
    inbox.mark_processed(*keys)  # one command for the batch
    keys.clear()


# --------------------------------------------------------------------------- step 2: interpret


@dataclass
class ProcessResult:
    messages: int = 0
    failed: int = 0
    submissions: dict[str, int] = field(default_factory=dict)
    answers: int = 0

    def add(self, status: str) -> None:
        self.submissions[status] = self.submissions.get(status, 0) + 1


def known_from(session: Session, config: Config) -> Known:
    sent = {
        mid: (directive, unit)
        for mid, directive, unit in session.execute(
            select(OutgoingMessage.message_id, OutgoingMessage.directive_code, OutgoingMessage.unit_code)
        )
    }
    addresses = {email.lower(): unit.code for unit in config.recipients.units for email in unit.emails}
    return Known(sent, addresses, own_addresses(config))


def open_slots(config: Config, now: dt.datetime) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
    """kind of file -> unit -> the (directive, requirement, period) it owes with that kind of file."""
    slots: dict[str, dict[str, list[tuple[str, str, str]]]] = {kind.ext: {} for kind in KINDS.values()}
    for directive in config.directives.values():
        for requirement in directive.requirements:
            kind = kind_of(requirement).ext
            periods = [d for d in dues(directive, requirement, now.date()) if d.cutoff.year >= now.year - 1]
            for unit in config.recipients.units_in(requirement.from_groups):
                for due in periods[-1:]:  # the latest open period
                    slots[kind].setdefault(unit.code, []).append((directive.code, requirement.code, str(due.period)))
    return slots


class Collector:
    """Interprets stored messages against the configuration; one instance per run."""

    def __init__(self, session: Session, config: Config, files: FileStore, now: Callable[[], dt.datetime]):
        self.session, self.config, self.files, self.now = session, config, files, now
        self.known = known_from(session, config)
        self.slots = open_slots(config, now())
        self.units = {u.code: u for u in config.recipients.units}
        self._asked: dict[tuple[str, ...], frozenset[str]] = {}
        self._remember_accepted()

    def asked(self, groups: list[str]) -> frozenset[str]:
        """The codes of the units a requirement asks (computed once per group set and run)."""
        key = tuple(sorted(groups))
        if key not in self._asked:
            self._asked[key] = frozenset(u.code for u in self.config.recipients.units_in(groups))
        return self._asked[key]

    def _remember_accepted(self) -> None:
        """What is already accepted, read once: the slots a new acceptance supersedes, and each unit's latest
        summary of each list, by requirement, for the report's declared cross-checks."""
        self.accepted: set[tuple[str | None, str | None, str | None, str | None]] = set()
        self.lists: dict[tuple[str | None, str | None, str], dict[str, ListSummary]] = {}
        rows = self.session.execute(
            select(
                Submission.directive_code,
                Submission.requirement_code,
                Submission.period,
                Submission.unit_code,
                Submission.summary,
            )
            .where(Submission.status == "accepted")
            .order_by(Submission.id)
        )
        for directive, requirement, period, unit, summary in rows:
            self.accepted.add((directive, requirement, period, unit))
            listed = summary_from_json(summary)
            if isinstance(listed, ListSummary) and period and requirement:
                self.lists.setdefault((directive, unit, period[:4]), {})[requirement] = listed

    def process_stored(self) -> ProcessResult:
        result = ProcessResult()
        sync_recipients(self.session, self.config.recipients, self.now())
        self.session.commit()
        ids = list(self.session.scalars(select(IncomingMessage.id).where(IncomingMessage.status == "stored")))
        for incoming_id in ids:
            incoming = self.session.get(IncomingMessage, incoming_id)
            assert incoming is not None
            result.messages += 1
            try:
                submissions = self.process(incoming, Path(incoming.raw_path).read_bytes())
                incoming.status = "processed"
                for submission in submissions:
                    result.add(submission.status)
                if self.queue_answer(incoming, submissions):
                    result.answers += 1
                self.session.commit()
            except Exception as exc:  # kept and reported; never the content, which may name children
                self.session.rollback()
                self._remember_accepted()
                self.session.execute(
                    update(IncomingMessage)
                    .where(IncomingMessage.id == incoming_id)
                    .values(status="failed", error=f"{type(exc).__name__} while reading message {incoming_id}")
                )
                self.session.commit()
                result.failed += 1
        return result

    def process(self, incoming: IncomingMessage, raw: bytes, force: Match | None = None) -> list[Submission]:
        parsed = parse_message(raw)
        evidence = message_evidence([parsed.envelope, *parsed.forwarded], self.known)
        files = parsed.files
        if not files:
            unit = agreed_unit(evidence)
            slot = self.hint(unit, None, evidence)
            return [
                self.triage(incoming, None, evidence_texts(evidence), "message without attachment", force, unit, slot)
            ]
        return [self.take_file(incoming, file, evidence, force) for file in files]

    def take_file(
        self, incoming: IncomingMessage, file: IncomingFile, evidence: list, force: Match | None
    ) -> Submission:
        texts = evidence_texts(evidence)
        if len(file.data) > mail_in.MAX_ATTACHMENT_BYTES:
            return self.unreadable(
                incoming, file, texts, evidence, force,
                f'Tệp "{file.name}" lớn hơn {mail_in.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB; vui lòng bỏ hình ảnh '
                "không cần thiết hoặc chia nhỏ rồi gửi lại.",
            )  # fmt: skip
        data, ext = file.data, file.ext
        if ext in LEGACY:
            converted = convert_legacy(data, ext)
            if converted is None:
                return self.unreadable(
                    incoming, file, texts, evidence, force,
                    f'Tệp "{file.name}" ở định dạng cũ (.{ext}); vui lòng lưu thành .{LEGACY[ext]} rồi gửi lại.',
                )  # fmt: skip
            data, ext = converted, LEGACY[ext]
        if kind_for_extension(ext) is None:
            reason = "no machine-readable form (.xlsx/.docx) in this file"
            unit = agreed_unit(evidence)
            return self.triage(incoming, file, texts, reason, force, unit, self.hint(unit, None, evidence))
        try:
            identity = read_identity(data, file.name)
        except UnreadableForm as exc:
            return self.unreadable(incoming, file, texts, evidence, force, exc.message_vi)
        found = force or match(identity, evidence, self.slots[ext])
        if isinstance(found, NoMatch):
            slot = self.hint(found.unit, ext, evidence)
            return self.triage(incoming, file, found.evidence, found.reason, None, found.unit, slot)
        return self.decide(incoming, file.name, data, ext, found, identity)

    # -- outcomes

    def hint(self, unit: str | None, kind: str | None, evidence: list) -> tuple[str | None, str | None, str | None]:
        """What a reply most likely answers, for the status only: the unit's one open slot for this kind of
        file (any kind if None), else just the directive if the evidence or the open slots agree on one."""
        directives = {e.directive for e in evidence if e.directive}
        options = []
        if unit is not None:
            kinds = [kind] if kind in self.slots else list(self.slots)
            options = [c for k in kinds for c in self.slots[k].get(unit, []) if not directives or c[0] in directives]
        if len(options) == 1:
            return options[0]
        directives |= {c[0] for c in options}
        if not directives and len(self.config.directives) == 1:
            directives = set(self.config.directives)
        return (directives.pop() if len(directives) == 1 else None, None, None)

    def decide(
        self, incoming: IncomingMessage, name: str, data: bytes, ext: str, found: Match, identity: FormIdentity | None
    ) -> Submission:
        directive = self.config.directives.get(found.directive)
        requirement = None
        if directive:
            requirement = next((r for r in directive.requirements if r.code == found.requirement), None)
        if directive is None or requirement is None:
            reason = f"form of an unknown directive or requirement ({found.directive} / {found.requirement})"
            return self.triage_match(incoming, name, data, ext, found, reason)
        if found.unit not in self.asked(requirement.from_groups):
            return self.triage_match(
                incoming, name, data, ext, found, f"{found.unit} is not asked for {requirement.code}"
            )
        try:
            due_for(directive, requirement, Period.parse(found.period))
        except ValueError as exc:
            return self.triage_match(incoming, name, data, ext, found, str(exc))
        try:
            verdict = kind_of(requirement).review(requirement, data, name, incoming.received_at.date())
        except UnreadableForm as exc:
            verdict = Verdict("rejected", [])
            problems = [{"where": "", "message": exc.message_vi, "severity": "error"}]
        else:
            if isinstance(verdict.summary, ReportSummary):
                verdict.problems += cross_check(requirement, verdict.summary, self.listed(found))
            problems = [problem_record(p) for p in verdict.problems]
        if verdict.status == "accepted":  # before the new one is added, which the update would catch too
            self.supersede(found)
            if isinstance(verdict.summary, ListSummary):
                self.lists.setdefault((found.directive, found.unit, found.period[:4]), {})[found.requirement] = (
                    verdict.summary
                )
        slot = (found.directive, found.requirement, found.period)
        file = IncomingFile(name, data, "")
        submission = self.keep(
            incoming, file, slot, found.unit, verdict.status, None, found.evidence, problems, verdict, ext
        )
        self.session.flush()
        for row in verdict.children:
            self.session.add(
                ChildRecord(
                    submission_id=submission.id,
                    source_row=row.source_row,
                    name=row.name,
                    birth_date=row.birth_date,
                    sex=row.sex,
                    ethnicity=row.ethnicity,
                    village=row.village,
                    carer=row.carer,
                    groups=list(row.groups),
                    difficult=row.difficult,
                    support=row.support,
                    note=row.note,
                )
            )
        return submission

    def supersede(self, found: Match) -> None:
        key = (found.directive, found.requirement, found.period, found.unit)
        if key not in self.accepted:
            self.accepted.add(key)
            return
        self.session.execute(
            update(Submission)
            .where(
                Submission.directive_code == found.directive,
                Submission.requirement_code == found.requirement,
                Submission.period == found.period,
                Submission.unit_code == found.unit,
                Submission.status == "accepted",
            )
            .values(status="superseded")
        )

    def listed(self, found: Match) -> dict[str, ListSummary]:
        """The unit's accepted lists of the same year, by requirement code."""
        return self.lists.get((found.directive, found.unit, found.period[:4]), {})

    def triage(
        self,
        incoming: IncomingMessage,
        file: IncomingFile | None,
        evidence: tuple[str, ...] | list[str],
        reason: str,
        force: Match | None,
        unit: str | None = None,
        slot: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> Submission:
        """Keep a reply for the clerk. ``slot`` is what it most likely answers, so the status shows the unit
        as "pending" rather than "missing" while it waits."""
        if force:
            unit, slot = force.unit, (force.directive, force.requirement, force.period)
        return self.keep(incoming, file, slot, unit, "triage", reason, evidence, [])

    def keep(
        self,
        incoming: IncomingMessage,
        file: IncomingFile | None,
        slot: tuple[str | None, str | None, str | None],
        unit: str | None,
        status: str,
        reason: str | None,
        evidence: tuple[str, ...] | list[str],
        problems: list[dict],
        verdict: Verdict | None = None,
        ext: str | None = None,
    ) -> Submission:
        """Record a file (or a message without one) as a submission; its bytes go to the store."""
        summary, content = verdict.stored() if verdict else ({}, {})
        submission = Submission(
            incoming_id=incoming.id,
            attachment_name=file.name if file else None,
            attachment_path=str(self.files.put_attachment(file.data, ext or file.ext)) if file else None,
            attachment_sha256=hashlib.sha256(file.data).hexdigest() if file else None,
            directive_code=slot[0],
            requirement_code=slot[1],
            period=slot[2],
            unit_code=unit,
            received_at=incoming.received_at,
            status=status,
            reason=reason,
            evidence=list(evidence),
            problems=problems,
            summary=summary,
            content=content,
            decided_at=self.now(),
        )
        self.session.add(submission)
        return submission

    def triage_match(
        self, incoming: IncomingMessage, name: str, data: bytes, ext: str, found: Match, reason: str
    ) -> Submission:
        file = IncomingFile(name, data, "application/octet-stream")
        directive = found.directive if found.directive in self.config.directives else None
        return self.triage(incoming, file, found.evidence, reason, None, found.unit, (directive, None, None))

    def unreadable(
        self,
        incoming: IncomingMessage,
        file: IncomingFile,
        texts: tuple[str, ...],
        evidence: list,
        force: Match | None,
        message_vi: str,
    ) -> Submission:
        unit = force.unit if force else agreed_unit(evidence)
        kind = LEGACY.get(file.ext, file.ext)
        slot = (force.directive, force.requirement, force.period) if force else self.hint(unit, kind, evidence)
        status, reason = ("rejected", None) if unit else ("triage", "unreadable file from an unknown sender")
        problem = {"where": "", "message": message_vi, "severity": "error"}
        return self.keep(incoming, file, slot, unit, status, reason, texts, [problem])

    # -- the clerk's hand

    def record(
        self, unit: str, directive: str, requirement: str, period: str, files: list[Path], received: dt.datetime
    ) -> list[Submission]:
        """A reply that came on paper or by hand: kept like a message, read and checked like one."""
        message = EmailMessage()
        message["From"] = self.config.recipients.office.email
        message["Subject"] = f"{tracking_tag(directive, unit)} Nhận trực tiếp: {requirement} {period}"
        message["Date"] = email.utils.format_datetime(received)
        message["Message-ID"] = email.utils.make_msgid("hand", self.config.recipients.office.email.split("@")[1])
        message.set_content("Báo cáo nhận trực tiếp, văn thư nhập vào hệ thống.")
        for path in files:
            message.add_attachment(
                path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name
            )
        incoming = store_message(self.session, self.files, message.as_bytes(), "hand", self.now(), received)
        assert incoming is not None  # a fresh Message-ID is never a duplicate
        forced = Match(directive, requirement, period, unit, ("recorded by hand by the clerk",))
        submissions = self.process(incoming, message.as_bytes(), force=forced)
        incoming.status = "processed"
        self.queue_answer(incoming, submissions)
        self.session.commit()
        return submissions

    def assign(self, submission_id: int, unit: str, directive: str, requirement: str, period: str) -> Submission:
        """The clerk says whose reply a triaged file is; it is then read and checked as usual."""
        waiting = self.session.get(Submission, submission_id)
        if waiting is None or waiting.status != "triage":
            raise ValueError(f"no reply #{submission_id} waits in triage; run `followup triage` to list them")
        if not waiting.attachment_path:
            raise ValueError(f"reply #{submission_id} has no file to read; reject it instead")
        incoming = self.session.get(IncomingMessage, waiting.incoming_id)
        assert incoming is not None
        data = Path(waiting.attachment_path).read_bytes()
        name = waiting.attachment_name or "tep"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext in LEGACY:
            data, ext = convert_legacy(data, ext) or data, LEGACY[ext]
        evidence = (*waiting.evidence, "assigned by the clerk")
        found = Match(directive, requirement, period, unit, evidence)
        waiting.status, waiting.reason = "assigned", f"assigned by the clerk to {unit} {requirement} {period}"
        decided = self.decide(incoming, name, data, ext, found, None)
        decided.decided_by = "clerk"
        self.queue_answer(incoming, [decided])
        self.session.commit()
        return decided

    def discard(self, submission_id: int, reason: str) -> Submission:
        waiting = self.session.get(Submission, submission_id)
        if waiting is None or waiting.status != "triage":
            raise ValueError(f"no reply #{submission_id} waits in triage; run `followup triage` to list them")
        waiting.status, waiting.reason, waiting.decided_by = "discarded", reason, "clerk"
        waiting.decided_at = self.now()
        self.session.commit()
        return waiting

    # -- answers

    def queue_answer(self, incoming: IncomingMessage, submissions: list[Submission]) -> bool:
        """One answer per message, to the unit's registered addresses; none for an unknown sender."""
        units = {s.unit_code for s in submissions if s.unit_code}
        if len(units) != 1:
            return False
        unit = self.units.get(next(iter(units)))
        if unit is None:
            return False
        directive = next((s.directive_code for s in submissions if s.directive_code), None)
        domain = self.config.recipients.office.email.rsplit("@", 1)[1]
        subject = incoming.subject or ""
        subject = subject if subject.lower().startswith(("re:", "tl:", "trả lời:")) else f"Re: {subject}"
        if directive and tracking_tag(directive, unit.code) not in subject:
            subject = f"{subject} {tracking_tag(directive, unit.code)}"
        earlier = self.session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.incoming_id == incoming.id, OutgoingMessage.purpose == ANSWER
            )
        ).all()
        self.session.add(
            OutgoingMessage(
                message_id=new_message_id(domain, f"answer.{incoming.id}.{unit.code}.{len(earlier) + 1}"),
                directive_code=directive,
                unit_code=unit.code,
                purpose=ANSWER,
                recipients=list(unit.emails),
                subject=subject.strip(),
                status="pending",
                created_at=self.now(),
                incoming_id=incoming.id,
            )
        )
        return True


def evidence_texts(evidence: list) -> tuple[str, ...]:
    return tuple(str(e) for e in evidence)


def answer_lines(name: str, summary: dict, problems: list[dict]) -> list[str]:
    """What the unit reads about one file: counts if accepted, every problem and its place if not."""
    lines = [f'Tệp "{name}".']
    read = summary_from_json(summary)
    if read is not None:
        lines += read.answer_lines()
    for problem in problems:
        label = "Lỗi" if problem["severity"] == "error" else "Lưu ý"
        lines.append(f"{label}" + (f" ({problem['where']})" if problem["where"] else "") + f": {problem['message']}")
    return lines


def build_answer(session: Session, config: Config, message: OutgoingMessage) -> Outgoing:
    """The answer to one incoming message, rendered from what the store says of its submissions."""
    incoming = session.get(IncomingMessage, message.incoming_id)
    assert incoming is not None
    unit = config.recipients.unit(message.unit_code or "")
    items = []
    for sub in session.scalars(select(Submission).where(Submission.incoming_id == incoming.id).order_by(Submission.id)):
        if sub.status in ("assigned", "discarded"):
            continue
        if sub.status in ("accepted", "superseded", "rejected") and sub.requirement_code and sub.directive_code:
            directive = config.directives.get(sub.directive_code)
            title = directive.requirement(sub.requirement_code).title if directive else sub.requirement_code
            verdict = "ĐÃ TIẾP NHẬN" if sub.status != "rejected" else "CHƯA TIẾP NHẬN, cần sửa"
            heading = f"{title} ({Period.parse(sub.period or '').label_vi}): {verdict}"
            lines = answer_lines(sub.attachment_name or "", sub.summary, sub.problems)
        elif sub.status == "rejected":
            heading, lines = f'Tệp "{sub.attachment_name}": CHƯA TIẾP NHẬN', [p["message"] for p in sub.problems]
        elif sub.attachment_name:
            heading = "Đã nhận, chờ cán bộ xem xét"
            lines = [f'Tệp "{sub.attachment_name}" đã được lưu; cán bộ phụ trách sẽ xem xét.']
        else:
            heading = "Đã nhận, chờ cán bộ xem xét"
            lines = ["Thư không có tệp đính kèm; nếu Quý đơn vị gửi báo cáo, vui lòng đính kèm biểu mẫu."]
        items.append({"heading": heading, "lines": lines, "rejected": sub.status == "rejected"})
    office = config.recipients.office
    context = {
        "unit_name": unit.name,
        "office_name": office.short_name,
        "office_department": office.department,
        "received": f"{incoming.received_at.astimezone(dt.timezone(dt.timedelta(hours=7))):%H:%M ngày %d/%m/%Y}",
        "items": items,
        "any_rejected": any(i["rejected"] for i in items),
        "tag": tracking_tag(message.directive_code or "", unit.code) if message.directive_code else "",
    }
    text, html = render_bodies(config.root / "templates" / "email", ANSWER, context)
    return Outgoing(
        message_id=message.message_id,
        from_addr=office.email,
        from_name=office.sender_name,
        to=list(message.recipients[:1]),
        cc=list(message.recipients[1:]),
        subject=message.subject,
        text=text,
        html=html,
        in_reply_to=answer_reference(incoming, own_addresses(config)),
    )


def answer_reference(incoming: IncomingMessage, own: frozenset[str]) -> str | None:
    """The unit's own message an answer refers to; for a message the office forwarded, the one inside."""
    if incoming.from_addr not in own:
        return incoming.message_id
    return parse_message(Path(incoming.raw_path).read_bytes()).answers_to(own)


def pending_answers(session: Session) -> list[OutgoingMessage]:
    return list(
        session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.purpose == ANSWER, OutgoingMessage.status != "sent")
            .order_by(OutgoingMessage.id)
        )
    )


def convert_legacy(data: bytes, ext: str) -> bytes | None:
    """.xls/.doc to .xlsx/.docx through LibreOffice when it is installed; None otherwise or on failure."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    target = LEGACY[ext]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"reply.{ext}"
        source.write_bytes(data)
        try:
            subprocess.run(
                [soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to", target,
                 "--outdir", tmp, str(source)],
                capture_output=True, timeout=120, check=True,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError):
            return None
        out = Path(tmp) / f"reply.{target}"
        return out.read_bytes() if out.exists() else None
