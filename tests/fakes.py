"""Fakes of the three things the services are given: the unit of work, the sender and the inbox. No server.

``FakeSender`` and ``FakeInbox`` are hand-written: they stand for servers, and a test needs to see what
reached them (every message sent, every key marked) and to make them misbehave on cue.

The unit of work is *not* faked by hand. ``fake_uow`` builds the real ``UnitOfWork`` and ``Repository`` over an
in-memory SQLite store (``sqlite://``, one shared connection through ``StaticPool``, schema from the models'
``Base.metadata.create_all``, no Alembic) and a real ``FileStore`` in the test's folder. A hand-written fake
repository would be a second implementation of every query, which would drift from the real one and pass
where the product fails (a unique key, a foreign key, a claim that two runs race for); here there is one
implementation of every query, and still no server is involved: the store lives in the test's process and
vanishes with it. Foreign keys are switched on as the product's SQLite engine does, so a row that points at
nothing fails here as it does there.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple, Self

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from followup.domain.clock import Clock
from followup.mail.inbox import RawMessage
from followup.mail.sender import PermanentFailure, ServerUnavailable
from followup.simulation import date_of
from followup.storage.db import configure_sqlite
from followup.storage.files import FileStore
from followup.storage.models import Base
from followup.storage.uow import UnitOfWork

# --------------------------------------------------------------------------- sender


class Sent(NamedTuple):
    """One message as the sender was handed it."""

    from_addr: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class FakeSender:
    """A sender that keeps what it is given in ``sent``.

    ``refuse``: addresses refused for good (a message to none but refused addresses raises PermanentFailure,
    as a 550 does; refused ones among accepted ones come back in the refused list). ``unavailable_after``:
    after that many messages were sent, every ``send`` raises ServerUnavailable (the server went away).
    """

    def __init__(self, refuse: Iterable[str] = (), unavailable_after: int | None = None):
        self.sent: list[Sent] = []
        self.refuse = set(refuse)
        self.unavailable_after = unavailable_after
        self.attempts = 0  # every call of send, sent or not
        self.connections = 0  # every ``with`` block
        self._open = False

    @property
    def where(self) -> str:
        return "fake://sender"

    def __enter__(self) -> Self:
        self.connections += 1
        self._open = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False

    def send(self, from_addr: str, recipients: list[str], data: bytes) -> list[str]:
        assert self._open, "the services must send inside `with sender:`"
        self.attempts += 1
        if self.unavailable_after is not None and len(self.sent) >= self.unavailable_after:
            raise ServerUnavailable("fake: the server went away")
        refused = sorted(r for r in recipients if r in self.refuse)
        if refused and len(refused) == len(recipients):
            raise PermanentFailure(f"recipients refused: {', '.join(refused)}: 550 5.1.1 mailbox unavailable", 550)
        self.sent.append(Sent(from_addr, list(recipients), data))
        return refused

    def to(self, address: str) -> list[EmailMessage]:
        """The messages that went to an address, oldest first."""
        return [s.message for s in self.sent if address in s.recipients]


# --------------------------------------------------------------------------- inbox


class FakeInbox:
    """A mailbox in memory: messages keep their key forever; marking one processed hides it from the next fetch."""

    def __init__(self, *raws: bytes):
        self.messages: dict[str, bytes] = {}
        self.received: dict[str, dt.datetime | None] = {}
        self.processed: set[str] = set()
        self._open = False
        self.deliver(*raws)

    def deliver(self, *raws: bytes, received: dt.datetime | None = None) -> list[str]:
        """Put messages in the mailbox, as the units' servers do; the same bytes twice are two messages.

        Each is received at ``received``, by default at its own Date (as if it arrived when sent)."""
        keys = []
        for raw in raws:
            key = str(len(self.messages) + 1)
            self.messages[key] = raw
            self.received[key] = received or date_of(raw)
            keys.append(key)
        return keys

    def __enter__(self) -> Self:
        self._open = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False

    def fetch_unprocessed(self, limit: int | None = None) -> Iterator[RawMessage]:
        assert self._open, "the services must read inside `with inbox:`"
        waiting = [key for key in self.messages if key not in self.processed]  # fixed before the caller marks
        for key in waiting[:limit]:
            yield RawMessage(key, self.messages[key], self.received[key])

    def mark_processed(self, *keys: str) -> None:
        assert self._open, "the services must mark inside `with inbox:`"
        unknown = [key for key in keys if key not in self.messages]
        if unknown:
            raise KeyError(f"no message {unknown} in this mailbox")
        self.processed.update(keys)

    @property
    def unprocessed(self) -> list[str]:
        return [key for key in self.messages if key not in self.processed]


# --------------------------------------------------------------------------- unit of work


def memory_store() -> sessionmaker[Session]:
    """A fresh in-memory SQLite store with the product's schema; every session of it sees the same data."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    configure_sqlite(engine)  # as the product's store: foreign keys on, savepoints inside transactions
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)  # as open_database makes them


def fake_uow(tmp_path: Path, clock: Clock, sessions: sessionmaker[Session] | None = None) -> UnitOfWork:
    """The real unit of work over an in-memory store (a new one, or ``sessions`` to share one between two
    runs) and a file store in ``tmp_path``, with a clock fixed by the test."""
    return UnitOfWork(sessions or memory_store(), FileStore(tmp_path / "store"), clock)


def fixed_clock(tz: dt.tzinfo, moment: str) -> Clock:
    """The office's clock stopped at ``moment`` (ISO, e.g. 2023-02-06T08:00:00+07:00)."""
    return Clock(tz, dt.datetime.fromisoformat(moment))
