"""Reminders: units that still owe a reply hear of it on working days, once a day at most, never in a burst.

``decide`` works out who is owed what on a day (the pure rules of ``domain.reminders`` over the status of
every requirement and period); ``remind`` records what it decided (one message per unit per day, with every
reply the unit owes; the công văn đôn đốc when a requirement is late beyond the policy; one summary for
leadership) and sends it through the one mail path. Each step of each unit, requirement and period is done
once: a second run of the day finds it recorded and sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from followup.documents import letter as documents
from followup.domain.calendar import OfficeCalendar
from followup.domain.config import Config
from followup.domain.periods import Period, due_for
from followup.domain.reminders import (
    ESCALATION,
    LETTER,
    Step,
    days_late,
    last_day,
    remaining_words,
    step_due,
    threshold_reached,
)
from followup.domain.states import Delivery, MessageKind, MessageStatus
from followup.domain.tracking import OWING
from followup.i18n import _
from followup.mail.compose import Attachment, Outgoing, tracking_tag
from followup.mail.sender import Sender
from followup.mail.templates import EscalationMail, LateSlot, ReminderItem, ReminderMail
from followup.services import outgoing
from followup.services.dispatch import MailKit, Request, deadline_text, mail_kit
from followup.services.outgoing import Outcome
from followup.services.status import directive_status
from followup.storage.models import Dispatch, OutgoingMessage, Reminder
from followup.storage.uow import UnitOfWork

FOLLOW_UP = "follow-up"  # the register's word for a công văn đôn đốc


def calendar_of(config: Config) -> OfficeCalendar:
    schedules = config.schedules
    return OfficeCalendar(schedules.saturday_is_working_day, schedules.days_off)


@dataclass(frozen=True)
class Owed:
    """One reply a unit owes, and the step of the policy it is reminded at today."""

    directive: str
    requirement: str
    period: str
    step: Step


@dataclass(frozen=True)
class LateSlotDue:
    """A requirement and period late beyond a threshold of the policy (the letter, or leadership told)."""

    directive: str
    requirement: str
    period: str
    units: tuple[str, ...]  # the units still owing, in recipients.yaml order
    days_late: int


@dataclass
class RemindPlan:
    day: dt.date
    owed: dict[str, list[Owed]] = field(default_factory=dict)  # unit -> what it is reminded of today
    letters: list[LateSlotDue] = field(default_factory=list)
    escalations: list[LateSlotDue] = field(default_factory=list)
    #: Units that owe a reply but were never sent the letter (a dispatch limited to some units, a failed
    #: send): no reminder of a letter they never received; the clerk is told to dispatch to them.
    unreached: dict[str, set[str]] = field(default_factory=dict)  # directive -> units

    @property
    def empty(self) -> bool:
        return not (self.owed or self.letters or self.escalations)


def decide(uow: UnitOfWork, config: Config, as_of: dt.datetime) -> RemindPlan:
    """Who is owed what today, and which letters and escalations are due: nothing is recorded or sent."""
    day = as_of.astimezone(config.tz).date()
    plan = RemindPlan(day)
    calendar = calendar_of(config)
    if not calendar.works(day):
        return plan
    policy = config.schedules.reminders
    done = uow.repo.reminder_keys()
    today = _day_prefix(day)
    reminded = {
        m.unit_code
        for m in uow.repo.messages_with_prefix(MessageKind.REMINDER, outgoing.key_prefix(MessageKind.REMINDER, today))
    }
    for directive in config.directives.values():
        issued = uow.repo.dispatch_of(directive.code)
        if issued is None:
            continue  # the units never received the letter: nothing to remind them of
        reached = uow.repo.units_reached(issued.id)
        for slot in directive_status(uow, config, directive, as_of):
            due = due_for(directive, directive.requirement(slot.requirement), Period.parse(slot.period), config.tz)
            last = last_day(due)
            step = step_due(policy, calendar, last, day, issued.issued_on)
            if step is None:
                continue
            owing = tuple(u.unit for u in slot.units if u.state in OWING)
            unreached = {unit for unit in owing if unit not in reached}
            if unreached:
                plan.unreached.setdefault(directive.code, set()).update(unreached)
            for unit in (unit for unit in owing if unit in reached):
                if (directive.code, slot.requirement, slot.period, unit, step.key) not in done and unit not in reminded:
                    plan.owed.setdefault(unit, []).append(Owed(directive.code, slot.requirement, slot.period, step))
            late = LateSlotDue(directive.code, slot.requirement, slot.period, owing, days_late(last, day))
            if not owing or late.days_late <= 0:
                continue
            key = (directive.code, slot.requirement, slot.period, "")
            if threshold_reached(policy.follow_up_letter_after, calendar, last, day) and (*key, LETTER) not in done:
                plan.letters.append(late)
            if threshold_reached(policy.escalate_after, calendar, last, day) and (*key, ESCALATION) not in done:
                plan.escalations.append(late)
    return plan


# --------------------------------------------------------------------------- recording and sending


@dataclass
class RemindReport:
    day: dt.date
    plan: RemindPlan
    outcomes: list[Outcome]
    letters: list[Path]
    where: str = ""

    def count(self, status: Delivery) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(Delivery.FAILED) else 0

    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Delivery}


def remind(
    uow: UnitOfWork,
    sender: Sender,
    config: Config,
    documents_dir: Path,
    as_of: dt.datetime,
    dry_run: bool = False,
    progress: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> RemindReport:
    """Remind every unit that owes something today, issue the letters due, tell leadership; send it all."""
    uow.repo.sync_config(config, uow.now())
    plan = decide(uow, config, as_of)
    if dry_run:
        planned = [Outcome(unit, Delivery.PLANNED, _plan_words(items)) for unit, items in plan.owed.items()]
        planned += [
            Outcome("", Delivery.PLANNED, f"công văn đôn đốc: {s.requirement} {s.period}") for s in plan.letters
        ]
        return RemindReport(plan.day, plan, planned, [], "dry run")
    letters = [issue_follow_up(uow, config, documents_dir, late, as_of) for late in plan.letters]
    _record(uow, config, plan, letters)
    uow.commit()
    prefix = _day_prefix(plan.day)
    queue = [
        m
        for kind in (MessageKind.REMINDER, MessageKind.ESCALATION)
        for m in uow.repo.messages_with_prefix(kind, outgoing.key_prefix(kind, prefix))
        if m.status != MessageStatus.SENT
    ]
    composer = Composer(uow, config, as_of, queue)  # reads the store now: composing runs ahead in a thread
    sent = outgoing.deliver(uow, sender, queue, composer.build, progress, stop, ahead=4)
    return RemindReport(plan.day, plan, sent, [Path(letter.path) for letter in letters], sender.where)


def _plan_words(items: list[Owed]) -> str:
    return ", ".join(f"{o.requirement} {o.period} ({o.step.key})" for o in items)


def _order(config: Config) -> Callable[[str], int]:
    position = {u.code: i for i, u in enumerate(config.recipients.units)}
    return lambda code: position.get(code, len(position))


def _day_prefix(day: dt.date) -> str:
    """The start of the key of every reminder and summary of a day."""
    return f"{day:%Y%m%d}."


class IssuedElsewhere(RuntimeError):
    """Two runs of remind at once both issued the same follow-up letter: the later one gives way and stops."""


@dataclass(frozen=True)
class IssuedLetter:
    units: tuple[str, ...]
    number_id: int
    label: str
    path: str
    slot: tuple[str, str, str]


def issue_follow_up(
    uow: UnitOfWork, config: Config, documents_dir: Path, late: LateSlotDue, as_of: dt.datetime
) -> IssuedLetter:
    """The công văn đôn đốc of a late requirement: numbered from the register, written once."""
    directive = config.directive(late.directive)
    requirement = directive.requirement(late.requirement)
    due = due_for(directive, requirement, Period.parse(late.period), config.tz)
    issued = uow.repo.dispatch_of(directive.code)
    assert issued is not None  # decide() only plans letters of dispatched directives
    day = as_of.astimezone(config.tz).date()
    number = uow.repo.issue_number(
        year=day.year, symbol=directive.symbol, directive_code=directive.code, purpose=FOLLOW_UP, at=as_of
    )
    names = {u.code: u.name for u in config.recipients.units}
    facts = documents.FollowUpFacts(
        original_number=issued.number.label,
        original_issued_on=issued.issued_on,
        title=requirement.title,
        period=due.period.label_vi,
        deadline=deadline_text(requirement, due),
        # "trước ngày X" leaves X out: X is the working day after the last of the days given
        new_deadline=calendar_of(config).add_working_days(day, directive.follow_up.extra_days + 1),
        late_units=[names.get(code, code) for code in late.units],
    )
    context = documents.follow_up_context(directive, config.recipients, facts, number.number, day)
    data = documents.render_letter(config.root / "templates" / "directive.docx", context)
    folder = documents_dir / directive.code
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{directive.kind} số {number.label.replace('/', '-')} (đôn đốc).docx"
    path.write_bytes(data)
    row = Reminder(
        directive_code=directive.code, requirement_code=requirement.code, period=late.period, unit_code="",
        step=LETTER, number_id=number.id, letter_path=str(path), created_at=uow.now(),
    )  # fmt: skip
    if not uow.repo.add_unique(row):  # another run issued it this very moment
        uow.rollback()
        path.unlink(missing_ok=True)
        raise IssuedElsewhere(
            _(
                "The công văn đôn đốc of {requirement} {period} was issued by another run of remind at this very "
                "moment; run remind again: it sends what is left."
            ).format(requirement=requirement.code, period=late.period)
        )
    uow.commit()
    return IssuedLetter(late.units, number.id, number.label, str(path), (directive.code, requirement.code, late.period))


def _record(uow: UnitOfWork, config: Config, plan: RemindPlan, letters: list[IssuedLetter]) -> None:
    """One message per unit (everything it owes today, the letter naming it) and one for leadership, with the
    reminder rows that make each step happen once: recorded in bulk, row by row only where a rerun meets
    what is there already."""
    named = {unit: letter for letter in letters for unit in letter.units}
    units = sorted(set(plan.owed) | set(named), key=_order(config))
    messages = [_reminder_message(uow, config, plan, code, named.get(code)) for code in units]
    if plan.escalations:
        leaders = [leader.email for leader in config.recipients.leadership]
        messages.append(
            outgoing.new_message(
                uow,
                config,
                MessageKind.ESCALATION,
                f"{plan.day:%Y%m%d}.leadership",
                recipients=leaders,
                subject=f"Tổng hợp đơn vị chậm gửi báo cáo đến ngày {plan.day:%d/%m/%Y}",
                unit_code=None,
            )  # fmt: skip
        )
    recorded = outgoing.record_all(uow, messages)
    rows: list[Reminder] = []
    for code, message in zip(units, recorded, strict=False):
        rows += [
            Reminder(
                directive_code=owed.directive,
                requirement_code=owed.requirement,
                period=owed.period,
                unit_code=code,
                step=owed.step.key,
                message_id=message.id,
                created_at=uow.now(),
            )  # fmt: skip
            for owed in plan.owed.get(code, [])
        ]
        if (letter := named.get(code)) is not None:
            directive, requirement, period = letter.slot
            rows.append(
                Reminder(
                    directive_code=directive,
                    requirement_code=requirement,
                    period=period,
                    unit_code=code,
                    step=LETTER,
                    message_id=message.id,
                    number_id=letter.number_id,
                    letter_path=letter.path,
                    created_at=uow.now(),
                )  # fmt: skip
            )
    if plan.escalations:
        rows += [
            Reminder(
                directive_code=late.directive,
                requirement_code=late.requirement,
                period=late.period,
                unit_code="",
                step=ESCALATION,
                message_id=recorded[-1].id,
                created_at=uow.now(),
            )  # fmt: skip
            for late in plan.escalations
        ]
    uow.repo.add_all_unique(rows)


def _reminder_message(
    uow: UnitOfWork, config: Config, plan: RemindPlan, unit_code: str, letter: IssuedLetter | None
) -> OutgoingMessage:
    unit = config.recipients.unit(unit_code)
    items = plan.owed.get(unit_code, [])
    first = items[0].directive if items else (letter.slot[0] if letter else "")
    subject = f"{tracking_tag(first, unit.code)} Nhắc gửi báo cáo" + (" (đã quá hạn)" if _late(items) else "")
    return outgoing.new_message(
        uow, config, MessageKind.REMINDER, f"{plan.day:%Y%m%d}.{unit.code}",
        recipients=unit.emails, subject=subject, unit_code=unit.code, directive_code=first or None,
    )  # fmt: skip


def _late(items: list[Owed]) -> bool:
    return any(o.step.days > 0 for o in items)


# --------------------------------------------------------------------------- composing from the store


class Composer:
    """Reminders and summaries rendered from what the store recorded for them (so a rerun after a crash sends
    the same message); what every message of a run shares (forms, rejections) is read once."""

    def __init__(self, uow: UnitOfWork, config: Config, as_of: dt.datetime, queue: list[OutgoingMessage]):
        self.uow, self.config, self.as_of = uow, config, as_of
        self.day = as_of.astimezone(config.tz).date()
        self._kits: dict[str, MailKit] = {}
        self._rejections: dict[str, dict[tuple[str, str, str], list[dict]]] = {}
        self.rows = uow.repo.reminders_of_messages([m.id for m in queue])
        for rows in self.rows.values():  # everything the compose thread needs, read here: it touches no store
            for row in rows:
                if row.step != LETTER:
                    self.kit(row.directive_code)
                    self.rejections(row.directive_code)
        self.summaries = {
            m.id: _build_escalation(uow, config, m, self.rows.get(m.id, []), as_of)
            for m in queue
            if m.purpose == MessageKind.ESCALATION
        }

    def kit(self, directive_code: str) -> MailKit:
        if directive_code not in self._kits:
            issued: Dispatch | None = self.uow.repo.dispatch_of(directive_code)
            assert issued is not None  # decide() only reminds of dispatched directives
            self._kits[directive_code] = mail_kit(self.config, self.config.directive(directive_code), issued)
        return self._kits[directive_code]

    def rejections(self, directive_code: str) -> dict[tuple[str, str, str], list[dict]]:
        if directive_code not in self._rejections:
            self._rejections[directive_code] = self.uow.repo.latest_rejections(directive_code)
        return self._rejections[directive_code]

    def build(self, message: OutgoingMessage) -> Outgoing:
        if message.id in self.summaries:
            return self.summaries[message.id]
        rows = self.rows.get(message.id, [])
        config, day = self.config, self.day
        unit = config.recipients.unit(message.unit_code or "")
        items: list[ReminderItem] = []
        attachments: list[Attachment] = []
        letter = ""
        for row in rows:
            if row.step == LETTER and row.letter_path and row.number:
                letter = row.number.label
                attachments.append(Attachment(Path(row.letter_path).name, Path(row.letter_path).read_bytes()))
                continue
            directive = config.directive(row.directive_code)
            requirement = directive.requirement(row.requirement_code)
            due = due_for(directive, requirement, Period.parse(row.period), config.tz)
            form = self.kit(directive.code).form_for(Request(requirement, due), unit)
            attachments.append(form)
            problems = self.rejections(directive.code).get((requirement.code, row.period, unit.code), [])
            last = last_day(due)
            items.append(
                ReminderItem(
                    title=requirement.title,
                    period=due.period.label_vi,
                    deadline=deadline_text(requirement, due),
                    remaining=remaining_words(last, day),
                    late=days_late(last, day) > 0,
                    problems=[_problem_words(p) for p in problems],
                    filename=form.filename,
                )  # fmt: skip
            )
        office = config.recipients.office
        context = ReminderMail(
            unit_name=unit.name, office_name=office.short_name, office_department=office.department,
            tag=tracking_tag(message.directive_code or "", unit.code) if message.directive_code else "",
            items=items, any_late=any(i.late for i in items), follow_up_letter=letter,
        )  # fmt: skip
        return outgoing.outgoing(config, message, context, attachments)


def _problem_words(problem: dict) -> str:
    return (f"{problem['where']}: " if problem.get("where") else "") + problem["message"]


def _build_escalation(
    uow: UnitOfWork, config: Config, message: OutgoingMessage, rows: list[Reminder], as_of: dt.datetime
) -> Outgoing:
    names = {u.code: u.name for u in config.recipients.units}
    day = as_of.astimezone(config.tz).date()
    letters = uow.repo.letters()
    slots: list[LateSlot] = []
    attachments: list[Attachment] = []
    labels: list[str] = []
    for row in rows:
        directive = config.directive(row.directive_code)
        requirement = directive.requirement(row.requirement_code)
        [status] = directive_status(uow, config, directive, as_of, requirement.code, row.period)
        due = due_for(directive, requirement, Period.parse(row.period), config.tz)
        slots.append(
            LateSlot(
                title=requirement.title,
                period=due.period.label_vi,
                deadline=deadline_text(requirement, due),
                days_late=days_late(last_day(due), day),
                expected=status.expected,
                accepted=status.accepted,
                late_units=[names.get(u.unit, u.unit) for u in status.units if u.state in OWING],
            )  # fmt: skip
        )
        letter = letters.get((row.directive_code, row.requirement_code, row.period))
        if letter is not None and letter.letter_path and letter.number:
            attachments.append(Attachment(Path(letter.letter_path).name, Path(letter.letter_path).read_bytes()))
            labels.append(letter.number.label)
    office = config.recipients.office
    context = EscalationMail(
        office_name=office.short_name, office_department=office.department, as_of=f"{day:%d/%m/%Y}",
        slots=slots, letters=labels,
    )  # fmt: skip
    return outgoing.outgoing(config, message, context, attachments)
