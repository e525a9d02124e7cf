"""Sending recorded messages: each one is a row before it goes and gets its outcome right after.

Every outcome is committed before the next message, so a crash loses at most the one in flight, and a
rerun finds it still ``pending`` and sends it again with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from followup.mail.compose import Outgoing, compose, digest
from followup.mail.sender import Sender, SendFailure, ServerUnavailable
from followup.storage.models import OutgoingMessage


@dataclass(frozen=True)
class Outcome:
    unit_code: str
    status: str  # sent, skipped, failed, planned
    detail: str = ""


def deliver(
    session: Session,
    sender: Sender,
    queue: Sequence[OutgoingMessage],
    build: Callable[[OutgoingMessage], Outgoing],
    now: Callable[[], dt.datetime],
    progress: Callable[[Outcome], None] | None = None,
    ahead: int = 0,
) -> list[Outcome]:
    """Send each queued message over one connection, committing its outcome before the next.

    With ``ahead`` > 0 the next messages are composed in a second thread while the server takes the
    current one (a socket wait releases the interpreter), so composing costs little wall time. ``build``
    must then not touch ``session``, which stays in this thread.
    """
    outcomes = []
    with sender, ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose") as pool:
        pending: deque[Future[tuple[Outgoing, bytes]]] = deque()
        upcoming = iter(queue)

        def prepare(message: OutgoingMessage) -> tuple[Outgoing, bytes]:
            outgoing = build(message)
            return outgoing, compose(outgoing)

        for message in queue:
            while ahead and len(pending) <= ahead:
                following = next(upcoming, None)
                if following is None:
                    break
                pending.append(pool.submit(prepare, following))
            outgoing, data = pending.popleft().result() if ahead else prepare(message)
            message.recipients, message.subject = outgoing.recipients, outgoing.subject
            message.attempts += 1
            message.size, message.sha256 = len(data), digest(data)
            try:
                refused = sender.send(outgoing.from_addr, outgoing.recipients, data)
            except ServerUnavailable:
                session.rollback()
                raise
            except SendFailure as exc:
                message.status, message.error = "failed", str(exc)
                outcome = Outcome(message.unit_code or "", "failed", str(exc))
            else:
                message.status, message.sent_at = "sent", now()
                message.error = f"refused: {', '.join(refused)}" if refused else None
                outcome = Outcome(message.unit_code or "", "sent", message.error or "")
            session.commit()
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes
