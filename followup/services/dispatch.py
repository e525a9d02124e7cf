"""Issue and dispatch: the directive gets its number once, then reaches every addressed unit exactly once.

``issue`` is the văn thư's step: the next number of the register, the numbered letter written for signing.
``dispatch`` sends each unit one message with the letter (or the signed PDF) and its own prefilled forms,
through the one mail path (``services.outgoing``): a rerun sends what is missing, two runs at once send
each message once.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from followup.documents import letter as documents
from followup.domain.config import Config, Directive, Recipients, Requirement, Unit
from followup.domain.identity import FormIdentity
from followup.domain.periods import Due, first_due
from followup.domain.states import Delivery, MessageKind, MessageStatus
from followup.forms.prefill import UNIT_CODE, UNIT_NAME, FormTemplate
from followup.forms.registry import form_filename, kind_of
from followup.i18n import _
from followup.mail.compose import Attachment, Outgoing, digest, tracking_tag
from followup.mail.sender import Sender
from followup.mail.templates import DirectiveMail, RequestItem
from followup.services import outgoing
from followup.services.outgoing import Outcome
from followup.storage.models import Dispatch, OutgoingMessage
from followup.storage.uow import UnitOfWork

PURPOSE = "directive"  # the register's word for the letter of a directive


class UnknownUnits(ValueError):
    def __init__(self, codes: Sequence[str], known: Sequence[str]):
        super().__init__(
            _("unknown unit code(s): {codes}; the directive goes to: {known}").format(
                codes=", ".join(codes), known=", ".join(known[:12]) + (" …" if len(known) > 12 else "")
            )
        )


# --------------------------------------------------------------------------- who gets what (pure)


def addressed_units(directive: Directive, recipients: Recipients, only: Sequence[str] | None = None) -> list[Unit]:
    """The units the directive goes to, in recipients.yaml order, optionally narrowed to some codes."""
    units = recipients.units_in(directive.addressees)
    if not only:
        return units
    known = [u.code for u in units]
    missing = [code for code in only if code not in known]
    if missing:
        raise UnknownUnits(missing, known)
    wanted = set(only)
    return [u for u in units if u.code in wanted]


@dataclass(frozen=True)
class Request:
    """One reply a unit is asked for in this dispatch, and the form it comes on."""

    requirement: Requirement
    due: Due

    @property
    def deadline_text(self) -> str:
        return deadline_text(self.requirement, self.due)


def deadline_text(requirement: Requirement, due: Due) -> str:
    """The deadline as the letter says it: "chậm nhất ngày 20/02/2023", "trước ngày 15/05/2023"."""
    word = "trước ngày" if requirement.before else "chậm nhất ngày"
    return f"{word} {due.due_date:%d/%m/%Y}"


def requests_for(directive: Directive, unit: Unit, on: dt.date, tz: dt.tzinfo) -> list[Request]:
    """What a unit must send back: each requirement of its groups, for the period open on ``on``."""
    return [
        Request(req, first_due(directive, req, on, tz))
        for req in directive.requirements
        if set(req.from_groups).intersection(unit.groups)
    ]


def passed_requests(directive: Directive, units: Sequence[Unit], now: dt.datetime, tz: dt.tzinfo) -> list[Request]:
    """What a letter sent at ``now`` to ``units`` would ask for by a last day already over: every unit would
    be late on receiving it, so the clerk hears of it before drafting, issuing or sending."""
    groups = {group for unit in units for group in unit.groups}
    asked = (Request(req, first_due(directive, req, now.date(), tz)) for req in directive.requirements
             if groups.intersection(req.from_groups))  # fmt: skip
    return [request for request in asked if now >= request.due.cutoff]


class DeadlinePassed(Exception):
    """A letter that would make every unit late on receipt is not sent unless the clerk says so (``force``)."""

    def __init__(self, requests: list[Request]):
        self.requests = requests
        super().__init__(_("Nothing was sent. To send this letter anyway (a unit added late, say), add --force."))


def refuse_passed(
    directive: Directive, units: Sequence[Unit], now: dt.datetime, tz: dt.tzinfo, force: bool
) -> list[Request]:
    """The requests of the letter whose last day is over; DeadlinePassed for them unless ``force``."""
    passed = passed_requests(directive, units, now, tz)
    if passed and not force:
        raise DeadlinePassed(passed)
    return passed


def letter_filename(directive: Directive, number_label: str, ext: str = "docx") -> str:
    return f"{directive.kind} số {number_label.replace('/', '-')}.{ext}"


# --------------------------------------------------------------------------- rendered once per issue


@dataclass
class MailKit:
    """Everything rendered once per dispatch, from which each unit's message is assembled."""

    config: Config
    directive: Directive
    number_label: str
    issued_on: dt.date
    letter: Attachment
    _forms: dict[tuple[str, str], FormTemplate] = field(default_factory=dict)

    def form_for(self, request: Request, unit: Unit) -> Attachment:
        key = (request.requirement.code, str(request.due.period))
        if key not in self._forms:
            identity = FormIdentity(self.directive.code, request.requirement.code, str(request.due.period), UNIT_CODE)
            data = kind_of(request.requirement).build(
                identity, UNIT_NAME, request.requirement, request.due.period.label_vi, request.deadline_text
            )
            self._forms[key] = FormTemplate(data)
        data = self._forms[key].fill({UNIT_CODE: unit.code, UNIT_NAME: unit.name})
        return Attachment(form_filename(request.requirement, unit.name), data)

    def subject(self, unit: Unit) -> str:
        return (
            f"{tracking_tag(self.directive.code, unit.code)} {self.directive.kind} số {self.number_label} "
            f"V/v {self.directive.subject}"
        )

    def outgoing(self, unit: Unit, message: OutgoingMessage) -> Outgoing:
        office = self.config.recipients.office
        attachments = [self.letter]
        items = []
        for request in requests_for(self.directive, unit, self.issued_on, self.config.tz):
            form = self.form_for(request, unit)
            attachments.append(form)
            items.append(
                RequestItem(title=request.requirement.title, deadline=request.deadline_text, filename=form.filename)
            )
        context = DirectiveMail(
            unit_name=unit.name,
            office_name=office.short_name,
            office_department=office.department,
            document_kind=self.directive.kind,
            number=self.number_label,
            issued_on=f"{self.issued_on:%d/%m/%Y}",
            subject=self.directive.subject,
            requests=items,
            tag=tracking_tag(self.directive.code, unit.code),
        )
        return outgoing.outgoing(self.config, message, context, attachments)


# --------------------------------------------------------------------------- the services


@dataclass
class DispatchReport:
    directive: str
    number: str
    letter: Path
    outcomes: list[Outcome]
    where: str = ""

    def count(self, status: Delivery) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == Delivery.FAILED]

    @property
    def waiting(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == Delivery.WAITING]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Delivery}


class SignedCopyMismatch(ValueError):
    """The signed PDF given to dispatch is not the issued letter."""


def issue(uow: UnitOfWork, config: Config, directive: Directive, documents_dir: Path) -> Dispatch:
    """The directive's issued letter: numbered from the register and written the first time, reused after.

    Two runs at once number it once: the store keeps one issue per directive, and the run that loses the
    race takes the winner's (its own number is rolled back with it, so the register keeps no gap)."""
    uow.repo.sync_config(config, uow.now())
    existing = uow.repo.dispatch_of(directive.code)
    if existing is not None:
        uow.commit()
        return existing
    now = uow.now()
    number = uow.repo.issue_number(
        year=now.year, symbol=directive.symbol, directive_code=directive.code, purpose=PURPOSE, at=now
    )
    letter = render_letter(config, directive, number.number, now.date())
    folder = documents_dir / directive.code
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / letter_filename(directive, number.label)
    path.write_bytes(letter)
    row = Dispatch(
        directive_code=directive.code,
        number=number,
        issued_on=now.date(),
        letter_path=str(path),
        letter_sha256=digest(letter),
        created_at=now,
    )
    if uow.repo.add_unique(row):
        uow.commit()
        return row
    uow.rollback()
    path.unlink(missing_ok=True)
    winner = uow.repo.dispatch_of(directive.code)
    assert winner is not None
    return winner


def check_signed(dispatch: Dispatch, signed: Path) -> None:
    """Refuse a signed PDF that does not carry the issued letter's number ("12/UBND-LĐTBXH")."""
    from followup.documents.pdf import pdf_text

    try:
        text = pdf_text(signed.read_bytes())
    except ValueError as exc:
        raise SignedCopyMismatch(f"--signed {signed}: {exc}") from None
    label = dispatch.number.label  # text layers scatter Vietnamese marks: look for the number and symbol alone
    if not re.search(rf"(?<!\d){re.escape(label)}", unicodedata.normalize("NFC", "".join(text.split()))):
        raise SignedCopyMismatch(
            _(
                "--signed {file}: this PDF does not carry the number {number} of the issued letter ({letter}); "
                "scan or export the signed copy of that letter"
            ).format(file=signed, number=label, letter=Path(dispatch.letter_path).name)
        )


def dispatch(
    uow: UnitOfWork,
    sender: Sender,
    config: Config,
    directive: Directive,
    documents_dir: Path,
    units: Sequence[str] | None = None,
    resend: bool = False,
    signed: Path | None = None,
    progress: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
    force: bool = False,
) -> DispatchReport:
    """Send the issued letter and each unit's forms to every addressed unit (issued first if need be); a
    letter whose deadline is over only with ``force``."""
    targets = addressed_units(directive, config.recipients, units)
    refuse_passed(directive, targets, uow.now(), config.tz, force)
    issued = issue(uow, config, directive, documents_dir)
    if signed is not None:
        check_signed(issued, signed)
        issued.signed_path = str(signed.resolve())
        uow.commit()
    kit = mail_kit(config, directive, issued)
    queue, skipped = queue_messages(uow, config, kit, issued, targets, resend)
    for outcome in skipped if progress else ():  # the progress bar counts every addressed unit
        progress(outcome)  # type: ignore[misc]
    by_code = {u.code: u for u in targets}
    sent = outgoing.deliver(
        uow, sender, queue, lambda m: kit.outgoing(by_code[m.unit_code or ""], m), progress, stop, ahead=4
    )
    return DispatchReport(directive.code, issued.number.label, Path(issued.letter_path), skipped + sent, sender.where)


def render_letter(config: Config, directive: Directive, number: int | None, issued_on: dt.date) -> bytes:
    context = documents.letter_context(directive, config.recipients, number, issued_on)
    return documents.render_letter(config.root / "templates" / "directive.docx", context)


def mail_kit(config: Config, directive: Directive, issued: Dispatch) -> MailKit:
    if issued.signed_path:
        signed = Path(issued.signed_path)
        letter = Attachment(
            letter_filename(directive, issued.number.label, signed.suffix.lstrip(".") or "pdf"), signed.read_bytes()
        )
    else:
        letter = Attachment(letter_filename(directive, issued.number.label), Path(issued.letter_path).read_bytes())
    return MailKit(config, directive, issued.number.label, issued.issued_on, letter)


def queue_messages(
    uow: UnitOfWork, config: Config, kit: MailKit, issued: Dispatch, units: Sequence[Unit], resend: bool
) -> tuple[list[OutgoingMessage], list[Outcome]]:
    """Rows for what must go out (recorded and committed before anything is sent), and the units skipped."""
    by_unit: dict[str, list[OutgoingMessage]] = {}
    for message in uow.repo.messages_of_dispatch(issued.id, MessageKind.DIRECTIVE):
        by_unit.setdefault(message.unit_code or "", []).append(message)
    queue: list[OutgoingMessage] = []
    skipped: list[Outcome] = []
    for unit in units:
        history = by_unit.get(unit.code, [])
        unsent = [m for m in history if m.status != MessageStatus.SENT]
        if history and not resend and not unsent:
            skipped.append(Outcome(unit.code, Delivery.SKIPPED, "already sent"))
            continue
        queue.append(
            unsent[-1]  # a crashed or failed try: sent again with the same Message-ID
            if unsent
            else outgoing.new_message(
                uow, config, MessageKind.DIRECTIVE, f"{issued.id}.{unit.code}",
                recipients=unit.emails, subject=kit.subject(unit), unit_code=unit.code,
                directive_code=issued.directive_code, dispatch_id=issued.id, attempt=len(history) + 1,
            )
        )  # fmt: skip
    new = [m for m in queue if m.id is None]
    recorded = dict(zip(map(id, new), outgoing.record_all(uow, new), strict=True))
    queue = [recorded.get(id(m), m) for m in queue]
    uow.commit()
    return queue, skipped


def plan(config: Config, directive: Directive, units: Sequence[Unit], on: dt.date) -> list[Outcome]:
    """A dry run: what each unit would receive; nothing is numbered, recorded or sent."""
    outcomes = []
    for unit in units:
        files = [
            f"{r.requirement.code} ({r.due.period}, {r.deadline_text})"
            for r in requests_for(directive, unit, on, config.tz)
        ]
        sent = _("letter + {forms}").format(forms=", ".join(files) or _("no form"))
        outcomes.append(Outcome(unit.code, Delivery.PLANNED, f"{', '.join(unit.emails)} ← {sent}"))
    return outcomes


def write_draft(config: Config, directive: Directive, folder: Path, on: dt.date) -> list[Path]:
    """The letter (unnumbered) and each form as the first unit would receive it, for review before dispatch."""
    folder.mkdir(parents=True, exist_ok=True)
    letter = render_letter(config, directive, None, on)
    kit = MailKit(config, directive, f"/{directive.symbol}", on, Attachment("", letter))
    written = [folder / letter_filename(directive, f"nhap-{directive.symbol}")]
    written[0].write_bytes(letter)
    seen: set[str] = set()
    for unit in addressed_units(directive, config.recipients):
        for request in requests_for(directive, unit, on, config.tz):
            if request.requirement.code in seen:
                continue
            seen.add(request.requirement.code)
            form = kit.form_for(request, unit)
            path = folder / form.filename
            path.write_bytes(form.data)
            written.append(path)
    return written
