"""The unit of work: one session over the store, the file store beside it, and the clock.

A use case opens one (``with uow:``), reads and writes through ``uow.repo``, and commits when what it did
must hold; leaving the block rolls back whatever was not committed.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from followup.domain.clock import Clock
from followup.storage.files import FileStore
from followup.storage.repository import Repository, run_name


class UnitOfWork:
    def __init__(self, sessions: sessionmaker[Session], files: FileStore, clock: Clock):
        self._sessions = sessions
        self.files = files
        self.clock = clock
        #: names this run in the claims it takes (two runs at once never take the same work)
        self.run_id = run_name()

    def __enter__(self) -> Self:
        self.session = self._sessions()
        self.repo = Repository(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.rollback()
        self.session.close()

    def now(self) -> dt.datetime:
        return self.clock.now()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
