"""The product's jobs (dispatch, collect, remind, report) as plain calls over the App.

Each Prefect task in ``flows/`` runs one of these steps, and the clerk's command runs the same steps
directly when no Prefect server stands to record the run: starting one for a run nobody watches cost
5-10 s a command (twice that on a busy machine), with nothing the clerk sees in return. Every step opens
its own unit of work, so a step that fails leaves the earlier ones done, as a failed task does.

``STOP`` and ``on_progress`` are the clerk's terminal (Ctrl-C, a progress bar), set by the command line;
unattended runs leave them alone and only count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from followup.bootstrap import App
from followup.domain.config import Config
from followup.services import answers, status, store
from followup.services import dispatch as dispatching
from followup.services import remind as reminding
from followup.services import report as reporting
from followup.services.dispatch import DispatchReport
from followup.services.interpret import Interpreter, ProcessResult
from followup.services.outgoing import Outcome
from followup.services.remind import RemindReport
from followup.services.report import ReportResult
from followup.services.store import StoreResult

#: Set by the command line on Ctrl-C: the mail path stops after the message in flight.
STOP = threading.Event()
#: Set by the command line to show progress, one call per message.
on_progress: Callable[[Outcome], None] | None = None

#: A run someone waits for tries a dead server once; a scheduled one uses the URL's retries.
ATTENDED_RETRIES = 0


# --------------------------------------------------------------------------- dispatch


def dispatch(
    app: App,
    directive: str,
    units: list[str] | None = None,
    dry_run: bool = False,
    resend: bool = False,
    signed: str | None = None,
    force: bool = False,
    connect_retries: int | None = None,
) -> DispatchReport:
    """Issue the letter if need be, queue a message per unit, send what is not sent yet (``dry_run``: plan only)."""
    d = app.config.directive(directive)
    if dry_run:
        targets = dispatching.addressed_units(d, app.config.recipients, units)
        planned = dispatching.plan(app.config, d, targets, app.clock.today())
        return DispatchReport(d.code, "(chưa cấp số)", Path(), planned, "dry run")
    with app.uow() as uow:
        return dispatching.dispatch(
            uow, app.sender(connect_retries), app.config, d, app.settings.documents, units, resend,
            Path(signed) if signed else None, on_progress, STOP, force,
        )  # fmt: skip


# --------------------------------------------------------------------------- collect


@dataclass
class CollectReport:
    stored: StoreResult
    processed: ProcessResult
    answers: list[Outcome] = field(default_factory=list)
    status: list[dict] = field(default_factory=list)  # counts per directive, requirement and period


def fetch(app: App, connect_retries: int | None = None) -> StoreResult:
    """Copy new messages into the store before anything reads them; mark them processed on the server."""
    with app.uow() as uow:
        return store.store_new(uow, app.inbox(connect_retries), app.inbox_source, store.own_addresses(app.config))


def interpret(app: App) -> ProcessResult:
    """Match, read, check and record every stored message; queue one answer per message."""
    with app.uow() as uow:
        return Interpreter(uow, app.config).process_stored()


def answer(app: App, connect_retries: int | None = None) -> list[Outcome]:
    """Send the queued answers over one connection."""
    with app.uow() as uow:
        return answers.send_answers(uow, app.sender(connect_retries), app.config, on_progress, STOP)


def status_counts(app: App) -> list[dict]:
    """Replies by directive, requirement and period: counts and states, never a name."""
    with app.uow() as uow:
        return status.all_counts(uow, app.config, app.clock.now())


def collect(app: App, connect_retries: int | None = None) -> CollectReport:
    """The collect flow's steps in its order: fetch, interpret, answer, count."""
    stored = fetch(app, connect_retries)
    processed = interpret(app)
    sent = answer(app, connect_retries)
    return CollectReport(stored, processed, sent, status_counts(app))


# --------------------------------------------------------------------------- remind


def remind(
    app: App, as_of: str | None = None, dry_run: bool = False, connect_retries: int | None = None
) -> RemindReport:
    """Decide who owes what today (or ``as_of``), record it, send it; a rerun of the day sends nothing more."""
    moment = app.clock.end_of(as_of) if as_of else app.clock.now()
    with app.uow() as uow:
        return reminding.remind(
            uow, app.sender(connect_retries), app.config, app.settings.documents, moment, dry_run, on_progress, STOP
        )


# --------------------------------------------------------------------------- report


def reported(config: Config, directive: str | None) -> list[str]:
    """The directives to report on: the one asked for, else every directive that has a report section."""
    return [directive] if directive else [d.code for d in config.directives.values() if d.report is not None]


def report_one(
    app: App, directive: str, period: str | None, send: bool = False, connect_retries: int | None = None
) -> ReportResult:
    """Compile the period (default: the latest whose deadline has passed), write the files, send the summaries.
    The result carries counts, offices and paths, no unit's free text (it goes on to Prefect's records)."""
    with app.uow() as uow:
        result = reporting.produce(
            uow, app.config, app.config.directive(directive), period, app.settings.home, app.clock.now(), send=send,
            sender=app.sender(connect_retries) if send else None, progress=on_progress, stop=STOP,
        )  # fmt: skip
    return reporting.without_narratives(result)


def report(
    app: App,
    directive: str | None = None,
    period: str | None = None,
    send: bool = False,
    connect_retries: int | None = None,
) -> list[ReportResult]:
    """The report of a period for one directive, or for every directive that has a report."""
    return [report_one(app, code, period, send, connect_retries) for code in reported(app.config, directive)]
