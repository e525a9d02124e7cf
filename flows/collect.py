"""Collect flow: store new replies as received, interpret them, answer each unit, publish the counts.

The steps are ``followup.jobs``'s, each a task with its own retries (a dead IMAP server retries the fetch
only); ``jobs.collect`` runs the same steps in the same order for the clerk when no Prefect server stands.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows import _support
from followup import jobs
from followup.jobs import CollectReport
from followup.mail.inbox import InboxLoginRejected, InboxUnavailable
from followup.mail.sender import LoginRefused, ServerUnavailable
from followup.services.interpret import ProcessResult
from followup.services.outgoing import Outcome
from followup.services.store import StoreResult
from followup.settings import Settings


@task(
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=_support.retry_if(InboxUnavailable, unless=(InboxLoginRejected,)),
)
def fetch_new(settings: Settings, connect_retries: int | None = None) -> StoreResult:
    """Copy new messages into the store before anything reads them; mark them processed on the server."""
    return jobs.fetch(_support.app(settings), connect_retries)


@task
def interpret(settings: Settings) -> ProcessResult:
    """Match, read, check and record every stored message; queue one answer per message."""
    return jobs.interpret(_support.app(settings))


@task(
    retries=2,
    retry_delay_seconds=60,
    retry_condition_fn=_support.retry_if(ServerUnavailable, unless=(LoginRefused,)),
)
def answer(settings: Settings, connect_retries: int | None = None) -> list[Outcome]:
    """Send the queued answers over one connection."""
    return jobs.answer(_support.app(settings), connect_retries)


@task
def publish_status(settings: Settings) -> list[dict]:
    """The status table as a Prefect artifact: counts and states, never a name."""
    rows = jobs.status_counts(_support.app(settings))
    create_table_artifact(key="reply-status", table=rows, description="Replies by requirement and period (counts only)")
    return rows


@flow(name="collect")
def collect_flow(attended: bool = False) -> CollectReport:
    """Fetch replies, interpret them, answer the units, publish who has replied."""
    settings = Settings()
    fetching, answering = (fetch_new, answer) if not attended else (
        fetch_new.with_options(retries=0), answer.with_options(retries=0)
    )  # fmt: skip
    retries = _support.connect_retries(attended)
    stored = fetching(settings, retries)
    processed = interpret(settings)
    sent = answering(settings, retries)
    counts = publish_status(settings)
    get_run_logger().info(
        "collect: %s fetched (%s new, %s duplicates), %s interpreted (%s failed), %s answers sent",
        stored.fetched, stored.stored, stored.duplicates, processed.messages, processed.failed,
        sum(1 for a in sent if a.status == "sent"),
    )  # fmt: skip
    return CollectReport(stored, processed, sent, counts)
