"""The one path of every message the product sends: recorded, claimed, composed, sent, recorded again.

A message is a row with a stable Message-ID before it is sent (``record``), so a rerun after a crash
finds it; ``deliver`` claims each row in the store before sending it, so two runs at once (a schedule
and the clerk) never send the same message twice, and commits each outcome before the next message.
A run asked to stop (Ctrl-C) stops after the message in flight; what it did not send waits for the next.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from followup.domain.config import Config, nfc
from followup.domain.states import Delivery, MessageKind, MessageStatus
from followup.i18n import N_, _
from followup.mail.compose import Attachment, Inline, Outgoing, compose, digest
from followup.mail.sender import Sender, SendFailure, ServerUnavailable
from followup.mail.templates import MailBody, render
from followup.storage.models import OutgoingMessage
from followup.storage.uow import UnitOfWork

#: How long a run holds a message it is sending before another run may take it over (a crashed run).
LEASE = dt.timedelta(minutes=10)
#: How many messages a run claims at once (one UPDATE and one commit): a small batch, sent in seconds, far
#: within the lease; a run that stops or fails gives back what it claimed and did not send.
CLAIM_BATCH = 16

Prepared = tuple[Outgoing, bytes, str]  # the message, its bytes, their SHA-256
#: The detail of a message this run left to another run that holds it (two runs at once).
OTHER_RUN = N_("sent or being sent by another run")


@dataclass(frozen=True)
class Outcome:
    unit_code: str
    status: Delivery
    detail: str = ""


def message_id(config: Config, kind: MessageKind, key: str, attempt: int = 1) -> str:
    """The Message-ID scheme of every message we send: ``<kind.key.attempt@office-domain>``."""
    domain = config.recipients.office.email.rsplit("@", 1)[1]
    safe = re.sub(r"[^A-Za-z0-9.-]+", ".", key).strip(".")
    return f"<{kind}.{safe}.{attempt}@{domain}>"


def key_prefix(kind: MessageKind, key: str) -> str:
    """The start of the Message-IDs of a kind whose keys start with ``key`` (the reminders of a day)."""
    return f"<{kind}.{key}"


def new_message(
    uow: UnitOfWork,
    config: Config,
    kind: MessageKind,
    key: str,
    *,
    recipients: Sequence[str],
    subject: str,
    unit_code: str | None,
    directive_code: str | None = None,
    dispatch_id: int | None = None,
    incoming_id: int | None = None,
    attempt: int = 1,
) -> OutgoingMessage:
    """The row of a message to send (not yet recorded: ``record_all`` does that, for many at once)."""
    return OutgoingMessage(
        message_id=message_id(config, kind, key, attempt),
        dispatch_id=dispatch_id,
        directive_code=directive_code,
        unit_code=unit_code,
        purpose=kind,
        recipients=list(recipients),
        subject=nfc(subject),
        status=MessageStatus.PENDING,
        created_at=uow.now(),
        incoming_id=incoming_id,
    )


def record_all(uow: UnitOfWork, rows: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """Record messages once: a Message-ID already recorded (a rerun, another run) gives back the row there."""
    added = uow.repo.add_all_unique(rows)
    missing = [row.message_id for row, new in zip(rows, added, strict=True) if not new]
    existing = uow.repo.outgoing_by_message_id(missing)
    out = []
    for row, new in zip(rows, added, strict=True):
        if not new and row.message_id not in existing:  # refused for another reason: a unit or directive unknown
            raise RuntimeError(f"the store refused the message {row.message_id}; run `followup check`")
        out.append(row if new else existing[row.message_id])
    return out


def record(uow: UnitOfWork, config: Config, kind: MessageKind, key: str, **fields: Any) -> OutgoingMessage:
    """The row of one message to send, created once: recording the same key and attempt again returns it."""
    return record_all(uow, [new_message(uow, config, kind, key, **fields)])[0]


def outgoing(
    config: Config,
    message: OutgoingMessage,
    context: MailBody,
    attachments: Sequence[Attachment] = (),
    in_reply_to: str | None = None,
    inline: Sequence[Inline] = (),
) -> Outgoing:
    """A recorded message with its bodies rendered from the clerk's templates: ready to compose."""
    office = config.recipients.office
    text, html = render(config.root / "templates" / "email", context)
    return Outgoing(
        message_id=message.message_id,
        from_addr=office.email,
        from_name=office.sender_name,
        to=list(message.recipients[:1]),
        cc=list(message.recipients[1:]),
        subject=message.subject,
        text=text,
        html=html,
        attachments=list(attachments),
        in_reply_to=in_reply_to,
        inline=list(inline),
    )


def deliver(
    uow: UnitOfWork,
    sender: Sender,
    queue: Sequence[OutgoingMessage],
    build: Callable[[OutgoingMessage], Outgoing],
    progress: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
    ahead: int = 0,
) -> list[Outcome]:
    """Send each message of ``queue`` that this run can claim, over one connection.

    Messages are claimed a few at a time (``CLAIM_BATCH``, one conditional UPDATE and one commit), each outcome
    is committed before the next message is sent. With ``ahead`` > 0 the next messages are composed in a second
    thread while the server takes the current one; ``build`` must then not touch the store. Messages not sent
    (stopped, or held by another run) come back as ``waiting``; the ones this run claimed but did not send are
    given back before it returns or raises.
    """
    outcomes: list[Outcome] = []
    tried: set[int] = set()
    unclaimed = iter(queue)
    claimed: deque[OutgoingMessage] = deque()  # won, not yet handed to the composer
    pending: deque[tuple[OutgoingMessage, Future[Prepared]]] = deque()  # handed over, not yet sent
    elsewhere: set[int] = set()  # sent, or being sent, by another run

    def next_claimed() -> OutgoingMessage | None:
        while not claimed:
            if _stopped(stop):
                return None
            batch = list(islice(unclaimed, max(CLAIM_BATCH, ahead + 1)))
            if not batch:
                return None
            won = uow.repo.claim_messages(batch, uow.run_id, uow.now(), LEASE)
            elsewhere.update(id(m) for m in batch if m not in won)
            claimed.extend(won)
        return claimed.popleft()

    def prepare(message: OutgoingMessage) -> Prepared:
        composed = build(message)
        data = compose(composed, uow.now())
        return composed, data, digest(data)  # the digest here too: the sending thread only sends and commits

    try:
        with sender, ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose") as pool:

            def fill() -> None:
                while len(pending) <= ahead:
                    message = next_claimed()
                    if message is None:
                        return
                    if ahead:
                        pending.append((message, pool.submit(prepare, message)))
                    else:
                        done: Future[Prepared] = Future()
                        pending.append((message, done))
                        done.set_result(prepare(message))

            fill()
            while pending and not _stopped(stop):
                message, future = pending[0]
                prepared = future.result()
                pending.popleft()
                tried.add(id(message))
                outcome = _send_one(uow, sender, message, *prepared)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
                fill()
            for _message, future in pending:
                future.cancel()
    finally:  # claimed and perhaps composed, not sent (stopped, or the server went away): free them for the next run
        unsent = [m for m, _ in pending if id(m) not in tried] + list(claimed)
        if unsent:
            _release_all(uow, unsent)
    outcomes += [
        Outcome(m.unit_code or "", Delivery.WAITING, _(OTHER_RUN) if id(m) in elsewhere else "")
        for m in queue
        if id(m) not in tried
    ]
    return outcomes


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _send_one(
    uow: UnitOfWork, sender: Sender, message: OutgoingMessage, composed: Outgoing, data: bytes, sha256: str
) -> Outcome:
    message.recipients, message.subject = composed.recipients, composed.subject
    message.attempts += 1
    message.size, message.sha256 = len(data), sha256
    try:
        refused = sender.send(composed.from_addr, composed.recipients, data)
    except ServerUnavailable:
        _release_all(uow, [message])
        raise
    except SendFailure as exc:
        message.status, message.error = MessageStatus.FAILED, str(exc)
        outcome = Outcome(message.unit_code or "", Delivery.FAILED, str(exc))
    else:
        message.status, message.sent_at = MessageStatus.SENT, uow.now()
        message.error = f"refused: {', '.join(refused)}" if refused else None
        outcome = Outcome(message.unit_code or "", Delivery.SENT, message.error or "")
    message.claimed_by = message.claimed_until = None
    uow.commit()
    return outcome


def _release_all(uow: UnitOfWork, messages: Sequence[OutgoingMessage]) -> None:
    uow.rollback()  # nothing half-done of the message that failed goes with it
    for message in messages:
        if message.status == MessageStatus.SENDING:
            message.status, message.claimed_by, message.claimed_until = MessageStatus.PENDING, None, None
    uow.commit()
