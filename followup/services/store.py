"""Step 1 of collecting: every message is kept as received before anything interprets it.

Its bytes go to the file store (named by content hash) and a row to the store; only then is it marked
processed on the mail server, in batches, after one sync. A message seen twice (same Message-ID, or same
bytes), or stored by another run at the same moment, is stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from followup.domain.config import Config
from followup.domain.states import IncomingStatus, Source
from followup.mail.inbox import Inbox
from followup.mail.parse import ParsedMessage, parse_envelope, parse_message
from followup.storage.files import FileStore
from followup.storage.models import IncomingMessage
from followup.storage.uow import UnitOfWork


@dataclass
class StoreResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0


def store_message(
    uow: UnitOfWork,
    raw: bytes,
    source: Source,
    received: dt.datetime | None = None,
    own_addresses: frozenset[str] = frozenset(),
    delivered: dt.datetime | None = None,
) -> IncomingMessage | None:
    """Keep one message as received; None if the store already has it (same Message-ID, or same bytes).

    ``received`` is the moment the clerk gives for a reply handed in (it counts as given); ``delivered`` is
    when our mail server took the message (``RawMessage.received``); see ``counted_from``.

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
    now = uow.now()
    existing = uow.repo.incoming_by_key(key)
    if existing is not None:
        if not Path(existing.raw_path).exists():  # lost with the machine before it reached the disk: keep it now
            uow.files.put_message(raw)
        return None
    path = uow.files.put_message(raw)
    incoming = IncomingMessage(
        source=source,
        dedup_key=key,
        sha256=digest,
        message_id=message_id,
        raw_path=str(path),
        size=len(raw),
        from_addr=parsed.envelope.from_addr if parsed else None,
        subject=parsed.envelope.subject[:2000] if parsed else None,
        received_at=received or counted_from(parsed, delivered, now, own_addresses),
        collected_at=now,
        status=IncomingStatus.STORED,
    )
    if not uow.repo.add_unique(incoming):  # another run stored it this very moment
        return None
    uow.commit()
    return incoming


def counted_from(
    parsed: ParsedMessage | None, delivered: dt.datetime | None, now: dt.datetime, own: frozenset[str] = frozenset()
) -> dt.datetime:
    """When a reply counts as received: when our mail server took it, never in the future.

    The headers are the sender's word, so a Date of 10/02 on a message delivered on 25/02 does not make it on
    time. One exception: a reply forwarded by the office (a data officer passing on what a unit mailed her)
    counts from when the unit sent it, the Date of the message inside, though never after the forward
    arrived. Without a delivery time from the mailbox, ``arrival_time`` reads the headers."""
    if delivered is None:
        return arrival_time(parsed, now, own)
    latest = min(delivered, now)
    inner = parsed.forwarded_sent_at(own) if parsed else None
    return min(inner, latest) if inner else latest


def arrival_time(parsed: ParsedMessage | None, now: dt.datetime, own: frozenset[str] = frozenset()) -> dt.datetime:
    """The fallback when the mailbox gives no delivery time: the receiving server's stamp, else the Date,
    never in the future. A reply forwarded by the office counts from when the unit sent it."""
    moment = (parsed.sent_at(own) if parsed else None) or now
    return min(moment, now)


def own_addresses(config: Config) -> frozenset[str]:
    """The office's and the data officers' addresses: they forward replies, they never are a unit."""
    recipients = config.recipients
    return frozenset({recipients.office.email.lower(), *(o.email.lower() for o in recipients.data_officers)})


def store_new(uow: UnitOfWork, inbox: Inbox, source: Source, own: frozenset[str] = frozenset()) -> StoreResult:
    """Copy every new message of the mailbox into the store, then mark it processed on the server."""
    result = StoreResult()
    held: list[str] = []
    with inbox:
        for raw in inbox.fetch_unprocessed():
            result.fetched += 1
            if store_message(uow, raw.data, source, own_addresses=own, delivered=raw.received) is None:
                result.duplicates += 1
            else:
                result.stored += 1
            held.append(raw.key)
            if len(held) >= MARK_BATCH:
                _release(inbox, uow.files, held)
        _release(inbox, uow.files, held)
    return result


MARK_BATCH = 100


def _release(inbox: Inbox, files: FileStore, keys: list[str]) -> None:
    """Mark messages processed on the server only once the store holds them durably."""
    if not keys:
        return
    files.sync()
    inbox.mark_processed(*keys)  # one command for the batch
    keys.clear()
