"""Collect flow: store new replies as received, interpret them, answer each unit, publish the status."""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from followup.domain import clock
from followup.mail.inbox import InboxLoginRejected, InboxUnavailable, open_inbox
from followup.mail.sender import LoginRefused, ServerUnavailable, open_sender
from followup.services.collect import (
    Collector,
    ProcessResult,
    StoreResult,
    build_answer,
    own_addresses,
    pending_answers,
    store_new,
)
from followup.services.delivery import Outcome, deliver
from followup.services.status import directive_status
from followup.settings import Settings
from followup.storage.db import open_database
from followup.storage.files import FileStore


def _retry_if(*kinds: type[BaseException], unless: tuple[type[BaseException], ...] = ()):  # type: ignore[no-untyped-def]
    def condition(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
        error = state.result(raise_on_failure=False)
        return isinstance(error, kinds) and not isinstance(error, unless)

    return condition


@task(
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=_retry_if(InboxUnavailable, unless=(InboxLoginRejected,)),
)
def fetch_new(settings: Settings, connect_retries: int | None = None) -> StoreResult:
    """Copy new messages into the store before anything reads them; mark them processed on the server.

    ``connect_retries`` as in ``ImapInbox``: None for the URL's, 0 to try an unavailable server once.
    """
    own = own_addresses(settings.load())
    Session = open_database(settings.db_url)
    with Session() as session:
        inbox = open_inbox(settings.imap_url, settings.inbox, connect_retries)
        source = "imap" if settings.imap_url else "maildir"
        return store_new(session, inbox, FileStore(settings.home / "store"), source, clock.now(), own)


@task
def interpret(settings: Settings) -> ProcessResult:
    """Match, read, check and record every stored message; queue one answer per message."""
    config = settings.load()
    Session = open_database(settings.db_url)
    with Session() as session:
        return Collector(session, config, FileStore(settings.home / "store"), clock.now).process_stored()


@task(retries=2, retry_delay_seconds=60, retry_condition_fn=_retry_if(ServerUnavailable, unless=(LoginRefused,)))
def answer(settings: Settings, connect_retries: int | None = None) -> list[Outcome]:
    """Send the queued answers over one connection (``connect_retries`` as in ``SmtpSender``)."""
    config = settings.load()
    Session = open_database(settings.db_url)
    with Session() as session:
        queue = pending_answers(session)
        sender = open_sender(settings.smtp_url, settings.outbox, connect_retries=connect_retries)
        return deliver(session, sender, queue, lambda m: build_answer(session, config, m), clock.now)


@dataclass
class CollectReport:
    stored: StoreResult
    processed: ProcessResult
    answers: list[Outcome] = field(default_factory=list)
    status: list[dict] = field(default_factory=list)  # counts per directive, requirement and period


@task
def publish_status(settings: Settings) -> list[dict]:
    """The status table as a Prefect artifact: counts and states, never a name."""
    config = settings.load()
    Session = open_database(settings.db_url)
    rows = []
    with Session() as session:
        for directive in config.directives.values():
            for slot in directive_status(session, config, directive, clock.now()):
                rows.append(
                    {
                        "directive": slot.directive,
                        "requirement": slot.requirement,
                        "period": slot.period,
                        **slot.counts(),
                    }
                )
    create_table_artifact(key="reply-status", table=rows, description="Replies by requirement and period (counts only)")
    return rows


@flow(name="collect")
def collect_flow(interactive: bool = False) -> CollectReport:
    """Fetch replies, interpret them, answer the units, publish who has replied.

    ``interactive``: someone waits at the command line, so an unreachable server is tried once, not retried.
    """
    logger = get_run_logger()
    settings = Settings()
    stored = fetch_new.with_options(retries=0)(settings, connect_retries=0) if interactive else fetch_new(settings)
    processed = interpret(settings)
    answers = answer.with_options(retries=0)(settings, connect_retries=0) if interactive else answer(settings)
    status = publish_status(settings)
    logger.info(
        "collect: %s fetched (%s new, %s duplicates), %s interpreted (%s failed), %s answers sent",
        stored.fetched, stored.stored, stored.duplicates, processed.messages, processed.failed,
        sum(1 for a in answers if a.status == "sent"),
    )  # fmt: skip
    return CollectReport(stored, processed, answers, status)
