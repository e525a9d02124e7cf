"""Dispatch: the directive reaches every addressed unit, exactly once.

The letter is numbered and rendered once per dispatch; each unit's message carries the letter and its
own prefilled forms. Every message is a row (status ``pending``, a stable Message-ID) before it is
sent and ``sent`` or ``failed`` after, each committed on its own: a run that crashes is repaired by
running it again, which sends what is missing and, at most, the one message that was in flight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from followup.documents import letter as documents
from followup.domain.config import Config, Directive, Recipients, Requirement, Unit, nfc
from followup.domain.periods import Due, first_due
from followup.forms.identity import FormIdentity
from followup.forms.prefill import UNIT_CODE, UNIT_NAME, FormTemplate
from followup.forms.registry import form_filename, kind_of
from followup.mail.compose import Attachment, Outgoing, digest, new_message_id, render_bodies, tracking_tag
from followup.services.delivery import Outcome
from followup.storage.models import Dispatch, OutgoingMessage
from followup.storage.register import issue_number
from followup.storage.repository import dispatch_messages, latest_dispatch, sync_directive, sync_recipients

PURPOSE = "directive"


class UnknownUnits(ValueError):
    def __init__(self, codes: Sequence[str], known: Sequence[str]):
        super().__init__(
            f"unknown unit code(s): {', '.join(codes)}; the directive goes to: {', '.join(known[:12])}"
            + (" …" if len(known) > 12 else "")
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
        word = "trước ngày" if self.requirement.before else "chậm nhất ngày"
        return f"{word} {self.due.due_date:%d/%m/%Y}"


def requests_for(directive: Directive, unit: Unit, on: dt.date) -> list[Request]:
    """What a unit must send back: each requirement of its groups, for the period open on ``on``."""
    return [
        Request(req, first_due(directive, req, on))
        for req in directive.requirements
        if set(req.from_groups).intersection(unit.groups)
    ]


def letter_filename(directive: Directive, number_label: str, ext: str = "docx") -> str:
    return f"{directive.kind} số {number_label.replace('/', '-')}.{ext}"


# --------------------------------------------------------------------------- rendered once per dispatch


@dataclass
class MailKit:
    """Everything rendered once per dispatch, from which each unit's message is assembled."""

    config: Config
    directive: Directive
    number_label: str
    issued_on: dt.date
    letter: Attachment
    _forms: dict[tuple[str, str], FormTemplate] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.config.recipients.office.email.rsplit("@", 1)[1]

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

    def outgoing(self, unit: Unit, message_id: str) -> Outgoing:
        office = self.config.recipients.office
        attachments = [self.letter]
        items = []
        for request in requests_for(self.directive, unit, self.issued_on):
            form = self.form_for(request, unit)
            attachments.append(form)
            items.append(
                {"title": request.requirement.title, "deadline": request.deadline_text, "filename": form.filename}
            )
        context = {
            "unit_name": unit.name,
            "office_name": office.short_name,
            "office_department": office.department,
            "document_kind": self.directive.kind,
            "number": self.number_label,
            "issued_on": f"{self.issued_on:%d/%m/%Y}",
            "subject": self.directive.subject,
            "requests": items,
            "tag": tracking_tag(self.directive.code, unit.code),
        }
        text, html = render_bodies(self.config.root / "templates" / "email", "directive", context)
        return Outgoing(
            message_id=message_id,
            from_addr=office.email,
            from_name=office.sender_name,
            to=[unit.emails[0]],
            cc=list(unit.emails[1:]),
            subject=self.subject(unit),
            text=text,
            html=html,
            attachments=attachments,
        )


# --------------------------------------------------------------------------- the service


@dataclass
class DispatchReport:
    directive: str
    number: str
    letter: Path
    outcomes: list[Outcome]
    where: str = ""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("sent", "skipped", "failed", "planned")}


def open_dispatch(
    session: Session,
    config: Config,
    directive: Directive,
    now: dt.datetime,
    documents_dir: Path,
    signed: Path | None = None,
) -> Dispatch:
    """The directive's dispatch: created, numbered and rendered the first time; reused on every rerun."""
    sync_recipients(session, config.recipients, now)
    sync_directive(session, directive, now)
    dispatch = latest_dispatch(session, directive.code)
    if dispatch is None:
        number = issue_number(
            session, year=now.year, symbol=directive.symbol, directive_code=directive.code, purpose=PURPOSE, at=now
        )
        letter = render_letter(config, directive, number.number, now.date())
        folder = documents_dir / directive.code
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / letter_filename(directive, number.label)
        path.write_bytes(letter)
        dispatch = Dispatch(
            directive_code=directive.code,
            number=number,
            issued_on=now.date(),
            letter_path=str(path),
            letter_sha256=digest(letter),
            created_at=now,
        )
        session.add(dispatch)
    if signed is not None:
        dispatch.signed_path = str(signed.resolve())
    session.commit()
    return dispatch


def render_letter(config: Config, directive: Directive, number: int | None, issued_on: dt.date) -> bytes:
    context = documents.letter_context(directive, config.recipients, number, issued_on)
    return documents.render_letter(config.root / "templates" / "directive.docx", context)


def mail_kit(config: Config, directive: Directive, dispatch: Dispatch) -> MailKit:
    if dispatch.signed_path:
        signed = Path(dispatch.signed_path)
        letter = Attachment(
            letter_filename(directive, dispatch.number.label, signed.suffix.lstrip(".") or "pdf"), signed.read_bytes()
        )
    else:
        letter = Attachment(letter_filename(directive, dispatch.number.label), Path(dispatch.letter_path).read_bytes())
    return MailKit(config, directive, dispatch.number.label, dispatch.issued_on, letter)


def queue_messages(
    session: Session, kit: MailKit, dispatch: Dispatch, units: Sequence[Unit], resend: bool, now: dt.datetime
) -> tuple[list[OutgoingMessage], list[Outcome]]:
    """Rows for what must go out (created ``pending`` and committed before anything is sent), and the skips."""
    by_unit: dict[str, list[OutgoingMessage]] = {}
    for message in dispatch_messages(session, dispatch.id, PURPOSE):
        by_unit.setdefault(message.unit_code or "", []).append(message)
    queue: list[OutgoingMessage] = []
    skipped: list[Outcome] = []
    for unit in units:
        history = by_unit.get(unit.code, [])
        unsent = [m for m in history if m.status != "sent"]
        if history and not resend and not unsent:
            skipped.append(Outcome(unit.code, "skipped", "already sent"))
            continue
        if unsent:
            message = unsent[-1]  # a crashed or failed try: same Message-ID, sent again
        else:
            message = OutgoingMessage(
                message_id=new_message_id(
                    kit.domain, f"{dispatch.directive_code}.{dispatch.id}.{unit.code}.{len(history) + 1}"
                ),
                dispatch_id=dispatch.id,
                directive_code=dispatch.directive_code,
                unit_code=unit.code,
                purpose=PURPOSE,
                recipients=list(unit.emails),
                subject=nfc(kit.subject(unit)),
                status="pending",
                created_at=now,
            )
            session.add(message)
        queue.append(message)
    session.commit()
    return queue, skipped


def plan(config: Config, directive: Directive, units: Sequence[Unit], on: dt.date) -> list[Outcome]:
    """A dry run: what each unit would receive; nothing is numbered, recorded or sent."""
    outcomes = []
    for unit in units:
        files = [f"{r.requirement.code} ({r.due.period}, {r.deadline_text})" for r in requests_for(directive, unit, on)]
        outcomes.append(
            Outcome(unit.code, "planned", f"{', '.join(unit.emails)} ← letter + {', '.join(files) or 'no form'}")
        )
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
        for request in requests_for(directive, unit, on):
            if request.requirement.code in seen:
                continue
            seen.add(request.requirement.code)
            form = kit.form_for(request, unit)
            path = folder / form.filename
            path.write_bytes(form.data)
            written.append(path)
    return written
