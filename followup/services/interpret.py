"""Step 2 of collecting: each stored message is matched, read, checked, recorded and answered.

Works from the store, so it can be rerun over what was received. Each file is matched to its unit,
requirement and period (strongest evidence first), read and checked; a conflict or a gap sends it to
triage with the reason. One answer per message is queued through the one mail path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from followup.documents.libreoffice import CONVERTIBLE, convert_to_ooxml
from followup.domain.config import Config
from followup.domain.identity import FormIdentity
from followup.domain.matching import Known, Match, NoMatch, agreed_unit, match, message_evidence
from followup.domain.periods import Due, Period, due_for, dues
from followup.domain.states import IncomingStatus, SubmissionStatus
from followup.domain.summaries import ListSummary, ReportSummary, summary_from_json
from followup.forms.identity import UnreadableForm, read_identity
from followup.forms.problems import FormProblem, problem_record
from followup.forms.recognize import OPENDOCUMENT, unpack
from followup.forms.registry import KINDS, kind_for_extension, kind_of
from followup.forms.review import Verdict, cross_check
from followup.i18n import _
from followup.mail import parse as mail_in
from followup.mail.parse import IncomingFile, parse_message
from followup.services import answers
from followup.services.store import own_addresses
from followup.storage.models import ChildRecord, IncomingMessage, Submission
from followup.storage.uow import UnitOfWork

#: How long a run holds a stored message it interprets before another run may take it over.
LEASE = dt.timedelta(minutes=10)


@dataclass
class ProcessResult:
    messages: int = 0
    failed: int = 0
    submissions: dict[str, int] = field(default_factory=dict)
    answers: int = 0

    def add(self, status: str) -> None:
        self.submissions[status] = self.submissions.get(status, 0) + 1


def known_from(uow: UnitOfWork, config: Config) -> Known:
    sent = uow.repo.sent_threads()
    addresses = {email.lower(): unit.code for unit in config.recipients.units for email in unit.emails}
    return Known(sent, addresses, own_addresses(config))


def open_slots(config: Config, now: dt.datetime) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
    """kind of file -> unit -> the (directive, requirement, period) it owes with that kind of file."""
    slots: dict[str, dict[str, list[tuple[str, str, str]]]] = {kind.ext: {} for kind in KINDS.values()}
    for directive in config.directives.values():
        for requirement in directive.requirements:
            kind = kind_of(requirement).ext
            periods = [d for d in dues(directive, requirement, now.date(), config.tz) if d.cutoff.year >= now.year - 1]
            for unit in config.recipients.units_in(requirement.from_groups):
                for due in periods[-1:]:  # the latest open period
                    slots[kind].setdefault(unit.code, []).append((directive.code, requirement.code, str(due.period)))
    return slots


class Interpreter:
    """Interprets stored messages against the configuration; one instance per run and unit of work."""

    def __init__(self, uow: UnitOfWork, config: Config):
        self.uow, self.repo, self.config, self.files, self.now = uow, uow.repo, config, uow.files, uow.now
        self.known = known_from(uow, config)
        self.slots = open_slots(config, self.now())
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
        """Each unit's latest accepted list of each requirement, by year, for the reports' declared cross-checks."""
        self.lists: dict[tuple[str | None, str | None, str], dict[str, ListSummary]] = {}
        #: slots with an accepted reply when this run began (or accepted by it): only these can be superseded
        self.accepted: set[tuple[str | None, str | None, str | None, str | None]] = set()
        for directive, requirement, period, unit, summary in self.repo.accepted():
            self.accepted.add((directive, requirement, period, unit))
            listed = summary_from_json(summary)
            if isinstance(listed, ListSummary) and period and requirement:
                self.lists.setdefault((directive, unit, period[:4]), {})[requirement] = listed

    def process_stored(self) -> ProcessResult:
        """Interpret every stored message this run can claim, one transaction each.

        A message that breaks the reader is marked ``failed`` and kept; the run goes on. Two runs at once
        claim different messages; a run that crashed gives its claims up when their lease passes."""
        result = ProcessResult()
        self.repo.sync_config(self.config, self.now())
        self.uow.commit()
        while ids := self.repo.claim_stored(self.uow.run_id, self.now(), LEASE):
            self._remember_accepted()  # what other runs accepted meanwhile, read once a batch
            for incoming_id in ids:
                result.messages += 1
                try:
                    self.process_one(incoming_id, result)
                except Exception as exc:  # kept and reported; never the content, which may name children
                    self.uow.rollback()
                    self._remember_accepted()
                    self.repo.mark_failed(
                        incoming_id,
                        _("{error} while reading message {n}").format(error=type(exc).__name__, n=incoming_id),
                    )
                    self.uow.commit()
                    result.failed += 1
        if result.messages:
            self.repo.settle_accepted()  # a reply another run accepted side by side with ours
            self.uow.commit()
        return result

    def process_one(self, incoming_id: int, result: ProcessResult) -> None:
        incoming = self.repo.incoming(incoming_id)
        assert incoming is not None
        submissions = self.process(incoming, Path(incoming.raw_path).read_bytes())
        incoming.status, incoming.claimed_by, incoming.claimed_until = IncomingStatus.PROCESSED, None, None
        for submission in submissions:
            result.add(submission.status)
        if answers.queue_answer(self.uow, self.config, incoming, submissions):
            result.answers += 1
        self.uow.commit()

    def process(self, incoming: IncomingMessage, raw: bytes, force: Match | None = None) -> list[Submission]:
        parsed = parse_message(raw)
        evidence = message_evidence([parsed.envelope, *parsed.forwarded], self.known)
        files = parsed.files
        if not files:
            unit = agreed_unit(evidence)
            slot = self.hint(unit, None, evidence)
            return [
                self.triage(
                    incoming, None, evidence_texts(evidence), _("message without attachment"), force, unit, slot
                )
            ]
        return [sub for file in files for sub in self.take(incoming, file, evidence, force)]

    def take(
        self, incoming: IncomingMessage, file: IncomingFile, evidence: list, force: Match | None
    ) -> list[Submission]:
        """One file of a message: the file itself or, for an archive, each file in it, named after the archive."""
        if len(file.data) > mail_in.MAX_ATTACHMENT_BYTES:
            return [
                self.unreadable(
                    incoming, file, evidence_texts(evidence), evidence, force, file.ext,
                    f'Tệp "{file.name}" lớn hơn {mail_in.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB; vui lòng bỏ '
                    "hình ảnh không cần thiết hoặc chia nhỏ rồi gửi lại.",
                )
            ]  # fmt: skip
        taken = []
        for found in unpack(file.data):
            name = " › ".join([file.name, *(mail_in.safe_filename(part) for part in found.path)])
            inner = IncomingFile(name, found.data, file.content_type if not found.path else "")
            if found.problem is None:
                taken.append(self.take_file(incoming, inner, found.type, evidence, force))
            else:
                unit, texts = agreed_unit(evidence), evidence_texts(evidence)
                hint = self.hint(unit, None, evidence)
                taken.append(self.triage(incoming, inner, texts, found.problem, force, unit, hint, found.type))
        return taken

    def take_file(
        self, incoming: IncomingMessage, file: IncomingFile, known: str | None, evidence: list, force: Match | None
    ) -> Submission:
        """One file, known by what its bytes are (``known``), else by its name: matched, read and checked."""
        texts = evidence_texts(evidence)
        sent = known or file.ext  # what the unit sent
        data, ext = file.data, sent  # ext: what is read, once an old format is converted
        if ext in CONVERTIBLE:
            converted = convert_to_ooxml(data, ext)
            if converted is None:
                kind = "OpenDocument" if ext in OPENDOCUMENT.values() else "cũ"  # LibreOffice's own is not old
                wanted = CONVERTIBLE[ext]
                return self.unreadable(
                    incoming, file, texts, evidence, force, ext,
                    f'Tệp "{file.name}" ở định dạng {kind} (.{ext}); vui lòng lưu thành .{wanted} rồi gửi lại.',
                )  # fmt: skip
            data, ext = converted, CONVERTIBLE[ext]
        if kind_for_extension(ext) is None:
            reason = _("no machine-readable form (.xlsx/.docx) in this file")
            unit = agreed_unit(evidence)
            return self.triage(incoming, file, texts, reason, force, unit, self.hint(unit, None, evidence))
        try:
            identity = read_identity(data, file.name)
        except UnreadableForm as exc:
            return self.unreadable(incoming, file, texts, evidence, force, sent, exc.message_vi)
        found = force or match(identity, evidence, self.slots[ext])
        if isinstance(found, NoMatch):
            slot = self.hint(found.unit, ext, evidence)
            return self.triage(incoming, file, found.evidence, found.reason, None, found.unit, slot, sent)
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
            reason = _("form of an unknown directive or requirement ({directive} / {requirement})").format(
                directive=found.directive, requirement=found.requirement
            )
            return self.triage_match(incoming, name, data, ext, found, reason)
        if found.unit not in self.asked(requirement.from_groups):
            reason = _("{unit} is not asked for {requirement}").format(unit=found.unit, requirement=requirement.code)
            return self.triage_match(incoming, name, data, ext, found, reason)
        try:
            due = due_for(directive, requirement, Period.parse(found.period), self.config.tz)
        except ValueError as exc:
            return self.triage_match(incoming, name, data, ext, found, str(exc))
        try:
            verdict = kind_of(requirement).review(requirement, data, name, incoming.received_at.date())
        except UnreadableForm as exc:
            verdict = Verdict(SubmissionStatus.REJECTED, [])
            problems = [{"where": "", "message": exc.message_vi, "severity": "error"}]
        else:
            if isinstance(verdict.summary, ReportSummary):
                verdict.problems += cross_check(requirement, verdict.summary, self.listed(found))
            if due.premature(incoming.received_at):
                verdict.problems.append(premature(due, incoming.received_at.astimezone(self.config.tz).date()))
            problems = [problem_record(p) for p in verdict.problems]
        if verdict.status == SubmissionStatus.ACCEPTED:  # before the new one is added
            slot = (found.directive, found.requirement, found.period, found.unit)
            if slot in self.accepted:  # an UPDATE only where there is something to supersede
                self.repo.supersede(found.directive, found.requirement, found.period, found.unit)
            self.accepted.add(slot)
            if isinstance(verdict.summary, ListSummary):
                self.lists.setdefault((found.directive, found.unit, found.period[:4]), {})[found.requirement] = (
                    verdict.summary
                )
        slot = (found.directive, found.requirement, found.period)
        file = IncomingFile(name, data, "")
        submission = self.keep(
            incoming, file, slot, found.unit, verdict.status, None, found.evidence, problems, verdict, ext
        )
        self.repo.add_children(
            submission,
            (
                ChildRecord(
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
                for row in verdict.children
            ),
        )
        return submission

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
        ext: str | None = None,
    ) -> Submission:
        """Keep a reply for the clerk. ``slot`` is what it most likely answers, so the status shows the unit
        as "pending" rather than "missing" while it waits; ``ext``, what the file is if its name does not say."""
        if force:
            unit, slot = force.unit, (force.directive, force.requirement, force.period)
        return self.keep(incoming, file, slot, unit, SubmissionStatus.TRIAGE, reason, evidence, [], ext=ext)

    def keep(
        self,
        incoming: IncomingMessage,
        file: IncomingFile | None,
        slot: tuple[str | None, str | None, str | None],
        unit: str | None,
        status: SubmissionStatus,
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
        self.repo.add(submission)
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
        ext: str,
        message_vi: str,
    ) -> Submission:
        unit = force.unit if force else agreed_unit(evidence)
        kind = CONVERTIBLE.get(ext, ext)
        slot = (force.directive, force.requirement, force.period) if force else self.hint(unit, kind, evidence)
        status, reason = (SubmissionStatus.REJECTED, None)
        if not unit:
            status, reason = SubmissionStatus.TRIAGE, _("unreadable file from an unknown sender")
        problem = {"where": "", "message": message_vi, "severity": "error"}
        return self.keep(incoming, file, slot, unit, status, reason, texts, [problem], ext=ext)


def premature(due: Due, received: dt.date) -> FormProblem:
    """A reply for a period whose reporting has not opened: counted, but the clerk and the unit are told."""
    return FormProblem.whole(
        f"Báo cáo {due.period.label_vi} gửi ngày {received:%d/%m/%Y}, trước khi đến kỳ báo cáo (từ ngày "
        f"{due.opens:%d/%m/%Y}, hạn {due.due_date:%d/%m/%Y}): số liệu chưa đủ kỳ. Vui lòng gửi lại báo cáo "
        "đủ kỳ trong thời hạn; bản gửi sau sẽ thay bản này.",
        "warning",
    )


def evidence_texts(evidence: list) -> tuple[str, ...]:
    return tuple(str(e) for e in evidence)
