"""Every query of the product: the service layer reads and writes the store only through here.

No rules live here beyond what makes a write safe when two runs work at once: a register number is
taken under a unique constraint, and a piece of work (a stored message to interpret, a message to send)
is claimed with a conditional update that only one run can win (after ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so runs pass each other instead of waiting). A claim is a lease: a crashed run gives it up
when ``claimed_until`` passes.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from followup.domain.config import Config, Directive, Recipients
from followup.domain.states import IncomingStatus, MessageKind, MessageStatus, SubmissionStatus
from followup.domain.tracking import Fact
from followup.storage.models import (
    ChildRecord,
    DirectiveRow,
    Dispatch,
    IncomingMessage,
    IssuedNumber,
    OutgoingMessage,
    Reminder,
    ReportRow,
    Submission,
    UnitRow,
)

Slot = tuple[str | None, str | None, str | None]  # directive, requirement, period


def run_name() -> str:
    """Names a run in the claims it takes: host and process, so a rerun on the same host sees a dead one."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def abandoned(claimed_by: str | None) -> bool:
    """A claim whose run was a process of this host that no longer lives (killed, crashed): free at once.

    A claim of another host is given up only when its lease passes."""
    host, _, rest = (claimed_by or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Repository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def add_all_unique(self, rows: Sequence[Any]) -> list[bool]:
        """Add rows in one savepoint; if a unique key refuses the batch, row by row. Which rows were added."""
        if not rows:
            return []
        try:
            with self.session.begin_nested():
                self.session.add_all(rows)
            return [True] * len(rows)
        except IntegrityError:
            return [self.add_unique(row) for row in rows]

    def add_unique(self, row: Any) -> bool:
        """Add a row under a savepoint; False (and nothing added) if a unique key says it exists already."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
            return True
        except IntegrityError:
            return False

    # ------------------------------------------------------------------ the clerk's files, copied

    def sync_config(self, config: Config, now: dt.datetime) -> None:
        """Copy recipients.yaml and the directives into the store (history keeps names as they were)."""
        self.sync_recipients(config.recipients, now)
        for directive in config.directives.values():
            self.sync_directive(directive, now)

    def sync_recipients(self, recipients: Recipients, now: dt.datetime) -> None:
        """Units removed from the file stay, marked inactive."""
        existing = {row.code: row for row in self.session.scalars(select(UnitRow))}
        listed = set()
        new: list[UnitRow] = []
        for unit in recipients.units:
            listed.add(unit.code)
            values = {
                "name": unit.name,
                "kind": unit.kind.value,
                "emails": list(unit.emails),
                "groups": list(unit.groups),
            }
            row = existing.get(unit.code)
            if row is None:
                new.append(UnitRow(code=unit.code, active=True, updated_at=now, **values))
            elif any(getattr(row, k) != v for k, v in values.items()) or not row.active:
                for key, value in values.items():
                    setattr(row, key, value)
                row.active, row.updated_at = True, now
        self.add_all_unique(new)  # in one go; row by row only if another run copied some at this moment
        for code, row in existing.items():
            if code not in listed and row.active:
                row.active, row.updated_at = False, now

    def sync_directive(self, directive: Directive, now: dt.datetime) -> None:
        definition = directive.model_dump(mode="json")
        values = {
            "symbol": directive.symbol,
            "year": directive.year,
            "subject": directive.subject,
            "definition": definition,
        }
        row = self.session.get(DirectiveRow, directive.code)
        if row is None:
            self.add_unique(DirectiveRow(code=directive.code, updated_at=now, **values))
        elif row.definition != definition:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now

    # ------------------------------------------------------------------ the register and the issue

    def issue_number(
        self, *, year: int, symbol: str, directive_code: str, purpose: str, at: dt.datetime
    ) -> IssuedNumber:
        """The next number of the register of outgoing documents (per year and symbol, never reused)."""
        for _ in range(5):
            last = self.session.scalar(
                select(func.max(IssuedNumber.number)).where(IssuedNumber.year == year, IssuedNumber.symbol == symbol)
            )
            entry = IssuedNumber(
                year=year,
                symbol=symbol,
                number=(last or 0) + 1,
                directive_code=directive_code,
                purpose=purpose,
                issued_at=at,
            )
            if self.add_unique(entry):
                return entry
        raise RuntimeError(f"could not take a number in the register for {year} {symbol}; try again")

    def dispatch_of(self, directive_code: str) -> Dispatch | None:
        return self.session.scalars(select(Dispatch).where(Dispatch.directive_code == directive_code)).first()

    # ------------------------------------------------------------------ outgoing messages

    def outgoing(self, message_id: str) -> OutgoingMessage | None:
        return self.outgoing_by_message_id([message_id]).get(message_id)

    def outgoing_by_message_id(self, message_ids: Sequence[str]) -> dict[str, OutgoingMessage]:
        found: dict[str, OutgoingMessage] = {}
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            rows = self.session.scalars(select(OutgoingMessage).where(OutgoingMessage.message_id.in_(chunk)))
            found.update((row.message_id, row) for row in rows)
        return found

    def messages_of_dispatch(self, dispatch_id: int, kind: MessageKind) -> list[OutgoingMessage]:
        return list(
            self.session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.dispatch_id == dispatch_id, OutgoingMessage.purpose == kind)
                .order_by(OutgoingMessage.id)
            )
        )

    def units_reached(self, dispatch_id: int) -> set[str]:
        """The units the letter of a dispatch has reached (its message sent)."""
        return set(
            self.session.scalars(
                select(OutgoingMessage.unit_code).where(
                    OutgoingMessage.dispatch_id == dispatch_id,
                    OutgoingMessage.purpose == MessageKind.DIRECTIVE,
                    OutgoingMessage.status == MessageStatus.SENT,
                )
            )
        )

    def unsent(self, kind: MessageKind) -> list[OutgoingMessage]:
        return list(
            self.session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.purpose == kind, OutgoingMessage.status != MessageStatus.SENT)
                .order_by(OutgoingMessage.id)
            )
        )

    def count_answers(self, incoming_id: int) -> int:
        return (
            self.session.scalar(
                select(func.count(OutgoingMessage.id)).where(
                    OutgoingMessage.incoming_id == incoming_id, OutgoingMessage.purpose == MessageKind.ANSWER
                )
            )
            or 0
        )

    def claim_message(self, message: OutgoingMessage, run: str, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Take one message for sending; False when it was sent, or another (living) run holds it."""
        return bool(self.claim_messages([message], run, now, lease))

    def claim_messages(
        self, messages: Sequence[OutgoingMessage], run: str, now: dt.datetime, lease: dt.timedelta
    ) -> list[OutgoingMessage]:
        """Take several messages for sending in one conditional UPDATE and one commit; the ones won, in order.

        Row by row: a message is won when it is pending or failed, or held
        by a run whose lease has passed or whose process on this host died. Two runs at once never both win
        a row: the UPDATE is atomic and each run only sends the ids it gets back."""
        if not messages:
            return []
        dead = {m.claimed_by for m in messages if m.status == MessageStatus.SENDING and abandoned(m.claimed_by)}
        taken_over = OutgoingMessage.claimed_until < now
        if dead:
            taken_over = or_(taken_over, OutgoingMessage.claimed_by.in_(dead))
        until = now + lease
        won = set(
            self.session.scalars(
                update(OutgoingMessage)
                .where(
                    OutgoingMessage.id.in_([m.id for m in messages]),
                    or_(
                        OutgoingMessage.status.in_((MessageStatus.PENDING, MessageStatus.FAILED)),
                        (OutgoingMessage.status == MessageStatus.SENDING) & taken_over,
                    ),
                )
                .values(status=MessageStatus.SENDING, claimed_by=run, claimed_until=until)
                .returning(OutgoingMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
        self.session.commit()
        for message in messages:
            if message.id in won:  # what the UPDATE wrote, without reading each row back
                set_committed_value(message, "status", MessageStatus.SENDING)
                set_committed_value(message, "claimed_by", run)
                set_committed_value(message, "claimed_until", until)
            else:
                self.session.refresh(message)
        return [m for m in messages if m.id in won]

    def sent_threads(self) -> dict[str, tuple[str | None, str | None]]:
        """Message-ID -> (directive, unit) of everything we sent, for matching replies by thread."""
        return {
            mid: (directive, unit)
            for mid, directive, unit in self.session.execute(
                select(OutgoingMessage.message_id, OutgoingMessage.directive_code, OutgoingMessage.unit_code)
            )
        }

    # ------------------------------------------------------------------ incoming messages

    def incoming(self, incoming_id: int) -> IncomingMessage | None:
        return self.session.get(IncomingMessage, incoming_id)

    def incoming_by_key(self, dedup_key: str) -> IncomingMessage | None:
        return self.session.scalars(select(IncomingMessage).where(IncomingMessage.dedup_key == dedup_key)).first()

    def claim_stored(self, run: str, now: dt.datetime, lease: dt.timedelta, limit: int = 50) -> list[int]:
        """Stored messages this run now interprets (and abandoned claims whose lease has passed)."""
        dead = [
            run_id
            for run_id in self.session.scalars(
                select(IncomingMessage.claimed_by).where(IncomingMessage.status == IncomingStatus.PROCESSING).distinct()
            )
            if abandoned(run_id)
        ]
        claimable = or_(
            IncomingMessage.status == IncomingStatus.STORED,
            (IncomingMessage.status == IncomingStatus.PROCESSING)
            & or_(IncomingMessage.claimed_until < now, IncomingMessage.claimed_by.in_(dead)),
        )
        candidates = list(
            self.session.scalars(
                select(IncomingMessage.id)
                .where(claimable)
                .order_by(IncomingMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        won = []
        for incoming_id in candidates:
            taken = self.session.execute(
                update(IncomingMessage)
                .where(IncomingMessage.id == incoming_id, claimable)
                .values(status=IncomingStatus.PROCESSING, claimed_by=run, claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken == 1:
                won.append(incoming_id)
        self.session.commit()
        return won

    def mark_failed(self, incoming_id: int, error: str) -> None:
        self.session.execute(
            update(IncomingMessage)
            .where(IncomingMessage.id == incoming_id)
            .values(status=IncomingStatus.FAILED, error=error, claimed_by=None, claimed_until=None)
        )

    # ------------------------------------------------------------------ submissions

    def submission(self, submission_id: int) -> Submission | None:
        return self.session.get(Submission, submission_id)

    def submissions_of(self, incoming_id: int) -> list[Submission]:
        return list(
            self.session.scalars(
                select(Submission).where(Submission.incoming_id == incoming_id).order_by(Submission.id)
            )
        )

    def add_children(self, submission: Submission, rows: Iterable[ChildRecord]) -> None:
        self.session.flush()  # the submission's id
        for row in rows:
            row.submission_id = submission.id
            self.session.add(row)

    def accepted(self) -> list[tuple[str | None, str | None, str | None, str | None, dict[str, Any]]]:
        """(directive, requirement, period, unit, summary) of every accepted reply, oldest first."""
        rows = self.session.execute(
            select(
                Submission.directive_code,
                Submission.requirement_code,
                Submission.period,
                Submission.unit_code,
                Submission.summary,
            )
            .where(Submission.status == SubmissionStatus.ACCEPTED)
            .order_by(Submission.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def supersede(self, directive: str, requirement: str, period: str, unit: str, before: int | None = None) -> None:
        """The slot's accepted replies become superseded (only those older than reply ``before``, when given)."""
        older = (Submission.id < before,) if before is not None else ()
        self.session.execute(
            update(Submission)
            .where(
                Submission.directive_code == directive,
                Submission.requirement_code == requirement,
                Submission.period == period,
                Submission.unit_code == unit,
                Submission.status == SubmissionStatus.ACCEPTED,
                *older,
            )
            .values(status=SubmissionStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )

    def settle_accepted(self) -> int:
        """Where two runs at once each accepted a reply of one slot, the later keeps it; the other is superseded.

        Each run supersedes what was accepted before its batch began; two batches that ran side by side miss
        each other. This sweep, after a run's last commit, is where the later of them sees both. Returns how
        many slots it settled (0 but for that race)."""
        slot = (Submission.directive_code, Submission.requirement_code, Submission.period, Submission.unit_code)
        doubled = self.session.execute(
            select(*slot, func.max(Submission.id))
            .where(Submission.status == SubmissionStatus.ACCEPTED)
            .group_by(*slot)
            .having(func.count() > 1)
        ).all()
        for directive, requirement, period, unit, latest in doubled:
            self.supersede(directive, requirement, period, unit, before=latest)
        return len(doubled)

    def waiting_in_triage(self) -> Sequence[tuple[Submission, IncomingMessage]]:
        return self.session.execute(
            select(Submission, IncomingMessage)
            .join(IncomingMessage, Submission.incoming_id == IncomingMessage.id)
            .where(Submission.status == SubmissionStatus.TRIAGE)
            .order_by(Submission.id)
        ).all()  # type: ignore[return-value]

    def submission_facts(self, directive_code: str) -> dict[Slot, dict[str, list[Fact]]]:
        """(requirement, period) -> unit -> facts, for the status of a directive; one query.

        Replies whose requirement is not known yet (waiting in triage, unreadable) come under (None, None)."""
        rows = self.session.execute(
            select(
                Submission.requirement_code,
                Submission.period,
                Submission.unit_code,
                Submission.status,
                Submission.received_at,
            ).where(Submission.directive_code == directive_code, Submission.unit_code.is_not(None))
        )
        out: dict[Any, dict[str, list[Fact]]] = {}
        for requirement, period, unit, status, received in rows:
            out.setdefault((requirement, period), {}).setdefault(unit, []).append(Fact(unit, status, received))
        return out

    # ------------------------------------------------------------------ reminders

    def reminder_keys(self) -> set[tuple[str, str, str, str, str]]:
        """(directive, requirement, period, unit, step) of everything already done about owed replies."""
        rows = self.session.execute(
            select(
                Reminder.directive_code, Reminder.requirement_code, Reminder.period, Reminder.unit_code, Reminder.step
            )
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]

    def messages_with_prefix(self, kind: MessageKind, prefix: str) -> list[OutgoingMessage]:
        """The messages of a kind whose Message-ID starts so (a day's reminders: ``<reminder.20230220.``)."""
        return list(
            self.session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.purpose == kind, OutgoingMessage.message_id.startswith(prefix))
                .order_by(OutgoingMessage.id)
            )
        )

    def reminders_of_messages(self, message_ids: Sequence[int]) -> dict[int, list[Reminder]]:
        """The reminder rows recorded for each message (what its body lists and attaches)."""
        found: dict[int, list[Reminder]] = {}
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            for row in self.session.scalars(
                select(Reminder).where(Reminder.message_id.in_(chunk)).order_by(Reminder.id)
            ):
                found.setdefault(row.message_id or 0, []).append(row)
        return found

    def letters(self) -> dict[tuple[str, str, str], Reminder]:
        """The công văn đôn đốc issued, by (directive, requirement, period)."""
        rows = self.session.scalars(select(Reminder).where(Reminder.step == "letter", Reminder.unit_code == ""))
        return {(r.directive_code, r.requirement_code, r.period): r for r in rows}

    def latest_rejections(self, directive_code: str) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
        """(requirement, period, unit) -> the problems of the unit's latest rejected reply."""
        rows = self.session.execute(
            select(Submission.requirement_code, Submission.period, Submission.unit_code, Submission.problems)
            .where(Submission.directive_code == directive_code, Submission.status == SubmissionStatus.REJECTED)
            .order_by(Submission.received_at, Submission.id)
        )
        return {(req, period, unit): problems for req, period, unit, problems in rows}  # the latest wins

    # ------------------------------------------------------------------ the compiled report

    def accepted_replies(
        self, directive_code: str, slots: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str, str, dt.datetime, dict[str, Any], dict[str, Any]]]:
        """(requirement, period, unit, received_at, summary, content) of the accepted replies of some
        (requirement, period) slots, oldest first; one query. A superseded reply is not among them."""
        wanted = list(slots)
        if not wanted:
            return []
        rows = self.session.execute(
            select(
                Submission.requirement_code,
                Submission.period,
                Submission.unit_code,
                Submission.received_at,
                Submission.summary,
                Submission.content,
            )
            .where(
                Submission.directive_code == directive_code,
                Submission.status == SubmissionStatus.ACCEPTED,
                Submission.unit_code.is_not(None),
                or_(*((Submission.requirement_code == r) & (Submission.period == p) for r, p in wanted)),
            )
            .order_by(Submission.received_at, Submission.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def accepted_children(
        self, directive_code: str, requirement: str, period: str, *columns: Any
    ) -> Iterator[tuple[Any, ...]]:
        """(unit, *columns) of every child of the accepted lists of a slot, in the order the units wrote them,
        streamed. Only the columns asked for (``ChildRecord.name``, ...): 200,000 children as objects, or all
        at once, take seconds and hundreds of megabytes.

        Personal data: for the redaction and the data officers' restricted file only."""
        rows = self.session.execute(
            select(Submission.unit_code, *columns)
            .join(ChildRecord, ChildRecord.submission_id == Submission.id)
            .where(
                Submission.directive_code == directive_code,
                Submission.requirement_code == requirement,
                Submission.period == period,
                Submission.status == SubmissionStatus.ACCEPTED,
            )
            .order_by(Submission.unit_code, Submission.id, ChildRecord.source_row)
            .execution_options(yield_per=5000)
        )
        return (tuple(row) for row in rows)

    def report_of(self, directive_code: str, period: str) -> ReportRow | None:
        return self.session.scalars(
            select(ReportRow).where(ReportRow.directive_code == directive_code, ReportRow.period == period)
        ).first()
