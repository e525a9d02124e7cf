"""Settings in, the parts every use case works with out: configuration, clock, store, sender, inbox.

The CLI and the Prefect flows start here and nowhere else, so no entry point builds its own session,
file store or clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from sqlalchemy.orm import Session, sessionmaker

from followup.domain.clock import Clock
from followup.domain.config import Config
from followup.domain.states import Source
from followup.mail.inbox import Inbox, open_inbox
from followup.mail.sender import Sender, open_sender
from followup.settings import Settings
from followup.storage.db import open_database
from followup.storage.files import FileStore
from followup.storage.uow import UnitOfWork


@cache
def _sessions(url: str) -> sessionmaker[Session]:
    """One engine per database and process (migrated on first use)."""
    return open_database(url)


@dataclass
class App:
    settings: Settings

    @cached_property
    def config(self) -> Config:
        return self.settings.load()

    @cached_property
    def clock(self) -> Clock:
        """The office's clock, in the time zone of schedules.yaml."""
        return Clock.from_env(self.config.tz)

    @property
    def files(self) -> FileStore:
        return FileStore(self.settings.home / "store")

    def uow(self) -> UnitOfWork:
        return UnitOfWork(_sessions(self.settings.db_url.get_secret_value()), self.files, self.clock)

    def sender(self, connect_retries: int | None = None) -> Sender:
        """SMTP or the Maildir outbox; ``connect_retries=0`` tries a dead server once (someone is waiting)."""
        return open_sender(self.settings.smtp_url, self.settings.outbox, connect_retries=connect_retries)

    def inbox(self, connect_retries: int | None = None) -> Inbox:
        return open_inbox(self.settings.imap_url, self.settings.inbox, connect_retries)

    @property
    def inbox_source(self) -> Source:
        return Source.IMAP if self.settings.imap_url else Source.MAILDIR


def bootstrap(settings: Settings | None = None) -> App:
    return App(settings or Settings())
