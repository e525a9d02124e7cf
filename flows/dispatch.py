"""Dispatch flow: number and render the letter once, queue a message per unit, send, report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from followup.domain import clock
from followup.mail.sender import LoginRefused, ServerUnavailable, open_sender
from followup.services.delivery import Outcome, deliver
from followup.services.dispatch import (
    DispatchReport,
    addressed_units,
    mail_kit,
    open_dispatch,
    plan,
    queue_messages,
)
from followup.settings import Settings
from followup.storage.db import open_database

#: Set by the command line to show progress; the flow itself only counts.
on_progress: Callable[[Outcome], None] | None = None


def _server_unavailable(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    error = state.result(raise_on_failure=False)
    return isinstance(error, ServerUnavailable) and not isinstance(error, LoginRefused)


@task(retries=2, retry_delay_seconds=30, retry_condition_fn=_server_unavailable)
def send_queued(
    settings: Settings,
    directive_code: str,
    units: list[str] | None,
    resend: bool,
    signed: str | None,
    connect_retries: int | None = None,
) -> DispatchReport:
    """Everything that touches the store and the mail server, repeatable: a rerun sends only what is missing.

    ``connect_retries`` as in ``SmtpSender``: None for the URL's, 0 to try an unreachable server once.
    """
    config = settings.load()
    directive = config.directive(directive_code)
    targets = addressed_units(directive, config.recipients, units)
    Session = open_database(settings.db_url)
    with Session() as session:
        dispatch = open_dispatch(
            session, config, directive, clock.now(), settings.documents, Path(signed) if signed else None
        )
        kit = mail_kit(config, directive, dispatch)
        queue, skipped = queue_messages(session, kit, dispatch, targets, resend, clock.now())
        sender = open_sender(settings.smtp_url, settings.outbox, connect_retries=connect_retries)
        units_by_code = {u.code: u for u in targets}
        sent = deliver(
            session,
            sender,
            queue,
            lambda m: kit.outgoing(units_by_code[m.unit_code], m.message_id),
            clock.now,
            on_progress,
            ahead=4,  # compose the next messages while the server takes this one
        )
        return DispatchReport(
            directive.code, dispatch.number.label, Path(dispatch.letter_path), skipped + sent, sender.where
        )


@flow(name="dispatch", log_prints=False)
def dispatch_flow(
    directive: str,
    units: list[str] | None = None,
    dry_run: bool = False,
    resend: bool = False,
    signed: str | None = None,
    interactive: bool = False,
) -> DispatchReport:
    """Send a directive to every addressed unit, exactly once.

    ``interactive``: someone waits at the command line, so an unreachable server is tried once, not retried.
    """
    logger = get_run_logger()
    settings = Settings()
    if dry_run:
        config = settings.load()
        d = config.directive(directive)
        outcomes = plan(config, d, addressed_units(d, config.recipients, units), clock.today())
        return DispatchReport(d.code, "(chưa cấp số)", Path(), outcomes, "dry run")
    if interactive:
        report = send_queued.with_options(retries=0)(settings, directive, units, resend, signed, connect_retries=0)
    else:
        report = send_queued(settings, directive, units, resend, signed)
    counts = report.counts()
    logger.info(
        "dispatch %s: %s sent, %s skipped, %s failed", directive, counts["sent"], counts["skipped"], counts["failed"]
    )
    create_table_artifact(
        key=f"dispatch-{directive}".lower().replace("_", "-"),
        table=[{"status": s, "units": n} for s, n in counts.items() if s != "planned"],
        description=f"Dispatch of {directive} ({report.number}): messages by status",
    )
    return report
