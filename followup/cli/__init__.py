"""The command line: what the clerk types. Each command translates its input, calls a service or a flow,
and prints; no rule lives here.

No traceback reaches the clerk: a dead server, a bad URL or a broken file is one line saying what failed
and what to check (``--debug`` shows the traceback). Ctrl-C stops a run after the message in flight.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from dotenv import load_dotenv
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from followup.domain.config import Config, ConfigError, Directive
from followup.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from followup.bootstrap import App

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Follow a district directive from letter to report.")
# Piped output (a log, a test) is not squeezed to 80 columns: the tables are wide.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
# What goes wrong is one line each: never broken by us (a log or a scheduled run's mail keeps it whole).
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160)

DEMO_NOW = "2023-02-06T08:00:00+07:00"
DEBUG = {"on": False}


class Stop(Exception):
    """A problem already told to the clerk: leave with this exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _product(settings: Settings | None = None) -> App:
    """The product's parts (imported here: `followup --help` does not load the store and the mail)."""
    from followup.bootstrap import bootstrap

    return bootstrap(settings)


@app.callback()
def _setup(
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of an unexpected error")] = False,
) -> None:
    load_dotenv(Path.cwd() / ".env")
    DEBUG["on"] = debug


def main() -> None:
    """The console script: run the command; turn what can go wrong into one line and an exit code."""
    from followup.mail.inbox import InboxError
    from followup.mail.sender import SendFailure
    from followup.mail.urls import MailUrlError

    try:
        code = app(standalone_mode=False)  # click returns the code of a typer.Exit here
        if isinstance(code, int):
            sys.exit(code)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place where any failure becomes one line
        import click
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
            err.print("Interrupted.")
            sys.exit(130)
        if DEBUG["on"]:
            raise
        if isinstance(exc, Stop):
            err.print(str(exc), markup=False, highlight=False)
            sys.exit(exc.code)
        if isinstance(exc, ConfigError):
            _print_problems([str(p) for p in exc.problems])
            sys.exit(2)
        if isinstance(exc, SendFailure | InboxError):
            err.print(f"[bold red]Mail server:[/] {exc}. Nothing is lost: run again when it answers.", highlight=False)
            sys.exit(1)
        if isinstance(exc, MailUrlError):
            err.print(str(exc), markup=False, highlight=False)
            sys.exit(2)
        if isinstance(exc, OperationalError):
            err.print(f"[bold red]Database:[/] cannot use {Settings().db_shown}: {exc.orig}", highlight=False)
            sys.exit(1)
        err.print(f"[bold red]{type(exc).__name__}:[/] {exc}", highlight=False)
        err.print("Run the same command with --debug to see where it happened.")
        sys.exit(1)


def _prefect_env(settings: Settings, discover: bool = True) -> Path:
    """Keep Prefect's state in the data folder; quiet its console (not its records, which the UI shows).

    The server is the one PREFECT_API_URL names; unset, the one `followup serve` runs for this data folder
    (``discover``), else a temporary one. Set before Prefect is imported: it reads its settings once.
    """
    from flows.server import standing_server

    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve())))
    prefect_home.mkdir(parents=True, exist_ok=True)
    if discover and not os.environ.get("PREFECT_API_URL") and (url := standing_server(prefect_home)):
        os.environ["PREFECT_API_URL"] = url
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # A first start creates Prefect's database; on a busy machine that outlasts Prefect's 20 s default.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    quiet = "DEBUG" if DEBUG["on"] else "CRITICAL"  # a failed run's traceback is for --debug, not the clerk
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", quiet)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", quiet)
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    return prefect_home


def _standing_server_answers() -> None:
    """With PREFECT_API_URL set, a server that does not answer is one line now, not minutes of retries."""
    from flows.server import answers

    url = os.environ.get("PREFECT_API_URL")
    if url and not answers(url):
        raise Stop(f"Prefect server: {url} (PREFECT_API_URL) does not answer; start it, or unset PREFECT_API_URL")


def _flow_app(settings: Settings | None = None) -> App:
    """The product for a command that runs a flow: Prefect's environment set and its server starting."""
    settings = settings or Settings()
    _check_mail_urls(settings)  # a mistyped option is told at once, not after Prefect's start
    _prefect_env(settings)
    _standing_server_answers()
    from flows.server import start_temporary_server

    server = start_temporary_server()
    product = _product(settings)
    _ = product.config  # validate (and cache) while the server starts
    if server:
        server.join()
    return product


def _check_mail_urls(settings: Settings) -> None:
    """Read FOLLOWUP_SMTP_URL and FOLLOWUP_IMAP_URL strictly (MailUrlError names the variable and option)."""
    from followup.mail.inbox import parse_imap_url
    from followup.mail.sender import SmtpSettings

    for url, parse in ((settings.smtp_url, SmtpSettings.from_url), (settings.imap_url, parse_imap_url)):
        if url is not None and url.get_secret_value().strip():
            parse(url.get_secret_value())


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """The first Ctrl-C asks the run to stop after the message in flight; a second one stops at once."""
    from flows import _support

    _support.STOP.clear()
    previous = signal.getsignal(signal.SIGINT)

    def ask_to_stop(signum: int, frame: Any) -> None:
        _support.STOP.set()
        err.print("[yellow]Stopping after the message in flight… (Ctrl-C again to stop at once)[/]")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[Any], None]]:
    """A progress bar with the total, the rate and the time left; hands the flows a callback per message."""
    from flows import _support

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]  # fmt: skip
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(outcome: Any) -> None:
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f}/s" if speed else "")

        _support.on_progress = advance
        try:
            yield advance
        finally:
            _support.on_progress = None


def _print_problems(problems: list[str]) -> None:
    err.print(f"[bold red]{len(problems)} problem(s) found:[/]")
    for problem in problems:
        err.print(f"  • {problem}", markup=False, highlight=False)


def _directive(config: Config, code: str) -> Directive:
    try:
        return config.directive(code)
    except KeyError as exc:
        raise Stop(str(exc.args[0])) from None


@app.command()
def check() -> None:
    """Validate recipients.yaml, schedules.yaml, directives and templates; test the database and mail servers."""
    from followup.services.checks import check_everything

    problems, notes = check_everything(Settings())
    for note in notes:
        console.print(f"[green]✓[/] {note}", highlight=False)
    if problems:
        _print_problems(problems)
        raise typer.Exit(1)
    console.print("[bold green]All checks passed.[/]")


@app.command()
def draft(directive: str) -> None:
    """Render the letter and the forms for review; send nothing, number nothing."""
    from followup.documents.libreoffice import to_pdf
    from followup.services.dispatch import write_draft

    product = _product()
    d = _directive(product.config, directive)
    folder = product.settings.home / "drafts" / d.code
    paths = write_draft(product.config, d, folder, product.clock.today())
    pdf = to_pdf(paths[0], folder)
    for path in [*paths, *([pdf] if pdf else [])]:
        console.print(str(path), highlight=False)
    if pdf is None:
        console.print("[dim](no PDF: LibreOffice 'soffice' is not on PATH)[/]")


@app.command()
def issue(directive: str) -> None:
    """Take the letter's number from the register and write the numbered letter (docx, PDF) for signing."""
    from followup.documents.libreoffice import to_pdf
    from followup.services.dispatch import issue as issue_letter

    product = _product()
    d = _directive(product.config, directive)
    with product.uow() as uow:
        issued = issue_letter(uow, product.config, d, product.settings.documents)
    letter = Path(issued.letter_path)
    pdf = to_pdf(letter, letter.parent)
    console.print(f"{d.kind} số {issued.number.label} ngày {issued.issued_on:%d/%m/%Y}", highlight=False)
    for path in [letter, *([pdf] if pdf else [])]:
        console.print(str(path), highlight=False)
    console.print(f"Sign it, then: followup dispatch {d.code} --signed SIGNED.pdf", highlight=False)


@app.command()
def dispatch(
    directive: str,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="send only to this unit code (repeatable)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be sent; send and record nothing")
    ] = False,
    resend: Annotated[bool, typer.Option("--resend", help="send again to units that already received it")] = False,
    signed: Annotated[
        Path | None, typer.Option("--signed", help="attach this signed PDF of the issued letter instead of the .docx")
    ] = None,
) -> None:
    """Send the directive's letter and forms to every addressed unit, exactly once."""
    from followup.services.dispatch import SignedCopyMismatch, UnknownUnits, addressed_units

    if signed is not None and not signed.is_file():
        raise Stop(f"--signed {signed}: no such file; give the path of the signed PDF")
    product = _flow_app()
    d = _directive(product.config, directive)
    try:
        total = len(addressed_units(d, product.config.recipients, unit))
    except UnknownUnits as exc:
        raise Stop(str(exc)) from None
    import flows.dispatch as flow_module

    with _stoppable(), _progress("Sending", None if dry_run else total):
        try:
            report = flow_module.dispatch_flow(
                directive, units=unit or None, dry_run=dry_run, resend=resend,
                signed=str(signed) if signed else None, attended=True,
            )  # fmt: skip
        except SignedCopyMismatch as exc:
            raise Stop(str(exc)) from None
    _print_dispatch(report, product.config)
    from flows import _support

    if report.waiting and _support.STOP.is_set():
        err.print(
            f"[yellow]Interrupted: {report.count('sent')} sent, {len(report.waiting)} waiting.[/] "
            "Run the same command again to send the rest."
        )
        raise typer.Exit(130)
    if report.waiting:  # not stopped: another run (a schedule, a colleague) holds them at this moment
        err.print(f"{len(report.waiting)} message(s) left to another run of dispatch sending at the same time.")
    raise typer.Exit(report.exit_code)


def _print_dispatch(report, config: Config) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in config.recipients.units}
    table = Table(title=f"{report.directive} — số {report.number}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Unit")
    table.add_column("Name")
    table.add_column("Status")
    table.add_column("Detail", overflow="fold")
    style = {"sent": "green", "skipped": "dim", "failed": "bold red", "planned": "cyan", "waiting": "yellow"}
    for o in report.outcomes:
        table.add_row(o.unit_code, names.get(o.unit_code, ""), f"[{style[o.status]}]{o.status}[/]", o.detail)
    console.print(table)
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    console.print(f"{summary or 'nothing to do'} — via {report.where}", highlight=False)
    if report.failed:
        err.print(f"[bold red]{len(report.failed)} unit(s) failed[/]; fix the address or server and run again.")


@app.command()
def collect() -> None:
    """Fetch new replies, match, read, check and answer them; print who has replied."""
    product = _flow_app()
    import flows.collect as flow_module

    with _stoppable(), console.status("Collecting replies…"):
        report = flow_module.collect_flow(attended=True)
    _print_collect(report)
    with product.uow() as uow:
        for directive in product.config.directives.values():
            _print_status(_status_slots(uow, product, directive, product.clock.now()), product)
    raise typer.Exit(1 if report.processed.failed else 0)


@app.command()
def remind(
    as_of: Annotated[str | None, typer.Option("--as-of", help="remind as on this date (default: today)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show who would be reminded; send nothing")] = False,
) -> None:
    """Remind the units that still owe a reply; issue the công văn đôn đốc and tell leadership when late."""
    product = _flow_app()
    if as_of:
        try:
            product.clock.end_of(as_of)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    import flows.remind as flow_module

    with _stoppable(), console.status("Reminding…"):
        report = flow_module.remind_flow(as_of=as_of, dry_run=dry_run, attended=True)
    _print_remind(report, product)
    raise typer.Exit(report.exit_code)


def _print_remind(report, product: App) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in product.config.recipients.units}
    plan = report.plan
    table = Table(title=f"Nhắc hạn ngày {report.day:%d/%m/%Y}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Unit", "Name", "Owes (requirement period step)"):
        table.add_column(column, overflow="fold")
    for unit, items in plan.owed.items():
        owes = "; ".join(f"{o.requirement} {o.period} ({o.step.key})" for o in items)
        table.add_row(unit, names.get(unit, ""), owes)
    console.print(table)
    for path in report.letters:
        console.print(f"Công văn đôn đốc: {path}", highlight=False)
    if plan.escalations:
        console.print(f"Leadership told of {len(plan.escalations)} late requirement(s).")
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    console.print(f"{counts or 'nothing to send today'} — via {report.where}", highlight=False)


@app.command()
def report(
    directive: str,
    period: Annotated[
        str | None,
        typer.Option("--period", "-p", help="2023-H1 or 2023 (default: the latest whose deadline has passed)"),
    ] = None,  # fmt: skip
    send: Annotated[
        bool, typer.Option("--send", help="mail the summary to leadership, the files to the data officers")
    ] = False,  # fmt: skip
) -> None:
    """Compile the report of a period (BÁO CÁO, annex, chart, restricted list); with --send, mail the summaries."""
    product = _flow_app()
    d = _directive(product.config, directive)
    if d.report is None:
        raise Stop(f"{d.code} has no report: section (symbol, addressee) in {product.config.root / 'directives'}")
    if period:
        from followup.domain.periods import Period

        try:
            Period.parse(period)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    import flows.report as flow_module

    with _stoppable(), console.status("Compiling the report…"):
        try:
            [result] = flow_module.report_flow(d.code, period, send=send, attended=True)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    _print_report(result)
    raise typer.Exit(result.exit_code)


def _print_report(result) -> None:  # type: ignore[no-untyped-def]
    c = result.compilation
    k = c.report
    console.print(f"Báo cáo số {result.number}: {result.title}", highlight=False)
    console.print(
        f"{k.accepted}/{k.expected} units reported ({k.on_time} on time, {k.late} late, {len(k.missing_units)} "
        f"missing){' — PARTIAL' if c.partial else ''}",
        highlight=False,
    )
    words = {"report": "Report", "pdf": "PDF", "annex": "Annex", "chart": "Chart", "restricted": "Restricted list"}
    for key, path in result.paths.items():
        console.print(f"{words.get(key, key) + ':':17}{path}", highlight=False)
    for warning in result.warnings:
        err.print(warning, style="yellow", markup=False, highlight=False)
    if "pdf" not in result.paths and not result.warnings:
        console.print("[dim](no PDF: LibreOffice 'soffice' is not on PATH)[/]")
    if result.outcomes:
        counts = ", ".join(f"{n} {s}" for s, n in result.counts().items() if n)
        console.print(f"Summaries: {counts} — via {result.where}", highlight=False)


def _print_collect(report) -> None:  # type: ignore[no-untyped-def]
    s, p = report.stored, report.processed
    by_status = ", ".join(f"{n} {k}" for k, n in sorted(p.submissions.items())) or "no form"
    sent = sum(1 for a in report.answers if a.status == "sent")
    failed = [a for a in report.answers if a.status == "failed"]
    console.print(
        f"Fetched {s.fetched} message(s): {s.stored} new, {s.duplicates} already stored. "
        f"Interpreted {p.messages}: {by_status}. Answers sent: {sent}.",
        highlight=False,
    )
    if p.failed:
        err.print(f"[bold red]{p.failed} message(s) could not be read[/]; they are kept in the store (status failed).")
    if failed:
        err.print(f"[bold red]{len(failed)} answer(s) could not be sent[/]; the next collect tries again.")


def _status_slots(uow, product: App, directive: Directive, as_of, requirement=None, period=None):  # type: ignore[no-untyped-def]
    from followup.services.status import directive_status

    return directive_status(uow, product.config, directive, as_of, requirement, period)


STATE_VI = {
    "on_time": "[green]đúng hạn[/]",
    "late": "[yellow]trễ hạn[/]",
    "rejected": "[red]chưa đạt, chờ sửa[/]",
    "pending": "[cyan]chờ xem xét[/]",
    "missing": "chưa nộp",
}


UNIT_ROWS = 200  # past this many units a requirement, the unit list is for --json or --all-units


def _print_status(slots, product: App, units: bool | None = False) -> None:  # type: ignore[no-untyped-def]
    """The summary table; with ``units`` the state of each unit too (None: only where there are few)."""
    names = {u.code: u.name for u in product.config.recipients.units}
    table = Table(title="Tình hình nộp báo cáo", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("Requirement", "Period", "Due"):
        table.add_column(column, no_wrap=True)
    for column in ("Exp.", "Acc.", "Late", "Rej.", "Pend.", "Miss.", "Overdue", "Rate", "On time"):
        table.add_column(column, justify="right", no_wrap=True)
    for slot in slots:
        c = slot.counts()
        table.add_row(
            slot.requirement, slot.period, f"{slot.due_date:%d/%m/%y}",
            *(str(c[k]) for k in ("expected", "accepted", "late", "rejected", "pending", "missing", "overdue")),
            f"{c['reporting_rate']:.0%}", f"{c['on_time_rate']:.0%}",
        )  # fmt: skip
    console.print(table)
    if units is False:
        return
    for slot in slots:
        if units is None and slot.expected > UNIT_ROWS:
            console.print(
                f"{slot.requirement} {slot.period}: {slot.expected} units; list them with --all-units or --json",
                highlight=False,
            )
            continue
        detail = Table(title=f"{slot.requirement} {slot.period}", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("Unit", "Name", "State", "Received", "Replies"):
            detail.add_column(column)
        for u in slot.units:
            when = f"{product.clock.local(u.received_at):%d/%m/%Y %H:%M}" if u.received_at else ""
            state = STATE_VI[u.state] + (" [bold red](quá hạn)[/]" if u.overdue else "")
            detail.add_row(u.unit, names.get(u.unit, ""), state, when, str(u.replies))
        console.print(detail)


@app.command()
def status(
    directive: str,
    requirement: Annotated[str | None, typer.Option("--requirement", "-r", help="one requirement code")] = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="2023 or 2023-H1")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the state at this date or date-time")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (shape in the README)")] = False,
    all_units: Annotated[
        bool, typer.Option("--all-units", help="list every unit, even past 200 units a requirement")
    ] = False,
) -> None:
    """Who has replied, on time or late, per requirement and period; one row per unit."""
    from followup.services.status import status_json

    product = _product()
    d = _directive(product.config, directive)
    try:
        moment = product.clock.end_of(as_of) if as_of else product.clock.now()
        with product.uow() as uow:
            slots = _status_slots(uow, product, d, moment, requirement, period)
    except (ValueError, KeyError) as exc:
        raise Stop(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from None
    if as_json:
        names = {u.code: u.name for u in product.config.recipients.units}
        indent = 2 if sys.stdout.isatty() else None  # piped: the C encoder, ten times faster at 10,000 units
        data = status_json(slots, names, product.config.tz)
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")
        return
    _print_status(slots, product, units=True if all_units else None)


def _period(product: App, d: Directive, requirement: str, period: str | None, on) -> str:  # type: ignore[no-untyped-def]
    """The period asked for, or the one open on that day."""
    from followup.domain.periods import first_due

    return period or str(first_due(d, d.requirement(requirement), on, product.config.tz).period)


@app.command()
def record(
    unit: str,
    requirement: str,
    files: Annotated[list[Path], typer.Argument(help="the scanned or typed forms")],
    received: Annotated[str | None, typer.Option("--received", help="when it arrived (default: now)")] = None,
    directive: Annotated[
        str | None, typer.Option("--directive", help="needed if several directives share the code")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="default: the period open when it arrived")] = None,
) -> None:
    """Record a reply that came on paper or by hand; it is read and checked like an e-mailed one."""
    from followup.services import clerk

    product = _product()
    config = product.config
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise Stop(f"no such file: {', '.join(missing)}")
    try:
        config.recipients.unit(unit)
    except KeyError:
        raise Stop(f"unknown unit {unit!r}; see the codes in {config.root / 'recipients.yaml'}") from None
    try:
        d = config.asking_for(requirement, directive)
        moment = product.clock.moment(received) if received else product.clock.now()
        chosen = _period(product, d, requirement, period, moment.date())
    except ValueError as exc:
        raise Stop(str(exc)) from None
    with product.uow() as uow:
        submissions = clerk.record(uow, config, unit, d.code, requirement, chosen, list(files), moment)
        for sub in submissions:
            console.print(f"#{sub.id} {sub.attachment_name}: {sub.status}", highlight=False)
            for problem in sub.problems:
                console.print(f"   {problem['where']}: {problem['message']}", highlight=False)
    console.print("The answer to the unit goes out with the next `followup collect`.")


@app.command()
def triage(
    assign: Annotated[int | None, typer.Option("--assign", help="reply number to assign")] = None,
    unit: Annotated[str | None, typer.Option("--unit")] = None,
    requirement: Annotated[str | None, typer.Option("--requirement")] = None,
    period: Annotated[str | None, typer.Option("--period")] = None,
    reject: Annotated[int | None, typer.Option("--reject", help="reply number to set aside")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "set aside by the clerk",
) -> None:
    """List replies that could not be matched; assign one to a unit and requirement, or set it aside."""
    from followup.services import clerk

    product = _product()
    with product.uow() as uow:
        try:
            if assign is not None:
                if not (unit and requirement):
                    raise ValueError("--assign needs --unit and --requirement (and --period if not the open one)")
                d = product.config.asking_for(requirement)
                chosen = _period(product, d, requirement, period, product.clock.today())
                sub = clerk.assign(uow, product.config, assign, unit, d.code, requirement, chosen)
                console.print(f"#{assign} → #{sub.id} {unit} {requirement} {chosen}: {sub.status}", highlight=False)
                return
            if reject is not None:
                clerk.reject(uow, reject, reason)
                console.print(f"#{reject} set aside: {reason}", highlight=False)
                return
        except ValueError as exc:
            raise Stop(str(exc)) from None
        rows = clerk.waiting_in_triage(uow)
        table = Table(title=f"{len(rows)} reply(ies) waiting in triage", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("#", "Received", "From", "File", "Unit?", "Why"):
            table.add_column(column, overflow="fold")
        for sub, incoming in rows:
            table.add_row(
                str(sub.id), f"{product.clock.local(sub.received_at):%d/%m/%Y %H:%M}", incoming.from_addr or "",
                sub.attachment_name or "(no file)", sub.unit_code or "", sub.reason or "",
            )  # fmt: skip
    console.print(table)
    if rows:
        console.print("Assign: followup triage --assign N --unit CODE --requirement CODE [--period P]; "
                      "set aside: followup triage --reject N --reason TEXT")  # fmt: skip


@app.command()
def serve(
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            envvar="FOLLOWUP_PREFECT_PORT",
            help="port of the local Prefect server and its UI (default 4200, or a free one)",
        ),
    ] = None,
) -> None:
    """Run the flows of schedules.yaml on their schedules, and any flow the clerk starts in the Prefect UI.

    With PREFECT_API_URL set, on that server; unset, on a local Prefect server (with its UI) started here
    and stopped with this command. Runs until Ctrl-C.
    """
    settings = Settings()
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "DEBUG" if DEBUG["on"] else "INFO")
    prefect_home = _prefect_env(settings, discover=False)
    from flows import serve as serving
    from flows import server as servers

    product = _product(settings)
    config = product.config
    names = serving.check(config)  # a wrong flow name is one line before anything starts
    with contextlib.ExitStack() as stack:
        if os.environ.get("PREFECT_API_URL"):
            _standing_server_answers()
            console.print(f"Prefect server: {os.environ['PREFECT_API_URL']}", highlight=False)
        else:
            if running := servers.standing_server(prefect_home):
                raise Stop(f"followup serve already runs for this data folder ({running.removesuffix('/api')})")
            with console.status("Starting the Prefect server…"):
                try:
                    local = stack.enter_context(servers.local_server(prefect_home, port))
                except servers.ServerFailed as exc:
                    raise Stop(str(exc), code=1) from None
            os.environ["PREFECT_API_URL"] = local.api_url
            console.print(f"Prefect UI: {local.ui_url}", highlight=False)

        def ready(deployments: list[str]) -> None:
            zone = config.schedules.timezone
            for name, deployment in zip(names, deployments, strict=True):
                cron = config.schedules.flows.get(name)
                when = f"{cron} ({zone})" if cron else "when started from the UI, with its parameters"
                console.print(f"  {deployment}: {when}", highlight=False)
            console.print("Serving; Ctrl-C to stop.")

        serving.serve_all(config, ready=ready)
    console.print("Stopped; the schedules are paused until the next `followup serve`.")


DEMO_COLLECT = "2023-02-27T08:00:00+07:00"


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="keep the previous demo data instead of starting afresh")] = False,
) -> None:
    """Play the whole cycle on the built-in defaults (the 2023 seed) and print where every output is.

    Dispatch on 06/02/2023; the units reply (some on time, one late, one with errors, one never); collect
    on 27/02/2023, a week after the children-list deadline; print who has replied; remind the units that
    still owe the list (the công văn đôn đốc attached) and tell leadership; compile the first-half report from
    the replies (the units sent their report forms with their lists) and send its summaries.
    """
    import datetime as dt
    import mailbox

    from followup.services.dispatch import write_draft
    from followup.simulation import Behaviour, delivered, play_units

    home = (Settings().home / "demo").resolve()
    if home.exists() and not keep:
        shutil.rmtree(home)
    for var in ("FOLLOWUP_SMTP_URL", "FOLLOWUP_IMAP_URL", "FOLLOWUP_DATABASE_URL"):
        os.environ.pop(var, None)
    os.environ["FOLLOWUP_HOME"] = str(home)
    os.environ["FOLLOWUP_CONFIG"] = str(PROJECT_ROOT)
    os.environ["FOLLOWUP_NOW"] = DEMO_NOW
    product = _flow_app()
    settings, config = product.settings, product.config
    code = "2023-child-protection"
    console.rule(f"1. Dispatch — {code}, {product.clock.now():%d/%m/%Y %H:%M}")
    drafts = write_draft(config, config.directive(code), settings.home / "drafts" / code, product.clock.today())
    import flows.collect as collect_module
    import flows.dispatch as dispatch_module

    with console.status("Dispatching the seed directive…"):
        report = dispatch_module.dispatch_flow(code, attended=True)
    _print_dispatch(report, config)

    tz = config.tz
    plan = {
        "XA-CAOSON": Behaviour("on-time", at=dt.datetime(2023, 2, 13, 9, 30, tzinfo=tz)),
        "XA-CAMGIANG": Behaviour("on-time", at=dt.datetime(2023, 2, 16, 14, 5, tzinfo=tz)),
        "TT-PHUTHONG": Behaviour("on-time", at=dt.datetime(2023, 2, 20, 16, 45, tzinfo=tz)),
        "P-GDDT": Behaviour("on-time", at=dt.datetime(2023, 2, 17, 10, 0, tzinfo=tz)),
        "XA-VUMUON": Behaviour("late", at=dt.datetime(2023, 2, 24, 8, 15, tzinfo=tz)),
        "XA-SYBINH": Behaviour("errors", at=dt.datetime(2023, 2, 19, 11, 20, tzinfo=tz), error="bad-group"),
        "XA-QUANHA": Behaviour("never"),
    }
    sent = [m.as_bytes() for _, m in sorted(mailbox.Maildir(settings.outbox, create=False).items())]
    replies = play_units(sent, plan, seed=2023)
    inbox = mailbox.Maildir(settings.inbox, create=True)
    for raw in replies:  # delivered when sent: the file time is when the reply counts from
        inbox.add(delivered(raw))
    os.environ["FOLLOWUP_NOW"] = DEMO_COLLECT
    product = _product(settings)
    console.rule(f"2. The units reply ({len(replies)} messages); collect on {product.clock.now():%d/%m/%Y %H:%M}")
    with console.status("Collecting replies…"):
        collected = collect_module.collect_flow(attended=True)
    _print_collect(collected)
    with product.uow() as uow:
        _print_status(_status_slots(uow, product, config.directive(code), product.clock.now()), product)

    import flows.remind as remind_module

    console.rule(f"3. Reminders of {product.clock.now():%d/%m/%Y}: the silent, late and rejected units")
    with console.status("Reminding…"):
        reminded = remind_module.remind_flow(attended=True)
    _print_remind(reminded, product)

    import flows.report as report_module

    console.rule("4. The first-half report compiled from the replies received (units that sent their forms early)")
    with console.status("Compiling the report of 2023-H1…"):
        [compiled] = report_module.report_flow(code, "2023-H1", send=True, attended=True)
    _print_report(compiled)

    messages = sorted((settings.outbox / "new").glob("*"))
    console.rule("Where everything is")
    console.print(f"Letter (numbered):   {report.letter}", highlight=False)
    for path in drafts[1:]:
        console.print(f"Form for review:     {path}", highlight=False)
    console.print(f"Messages sent ({len(messages)}):  {settings.outbox} (a Maildir; open it with any mail client)")
    console.print(f"Replies received:    {settings.inbox}", highlight=False)
    console.print(f"Report 2023-H1:      {compiled.paths['report'].parent}", highlight=False)
    console.print(f"Replies as stored:   {settings.home / 'store'}", highlight=False)
    console.print(f"Database:            {settings.db_shown}", highlight=False)
    console.print(
        f"Who has replied:     followup status {code}   (with FOLLOWUP_HOME={home} FOLLOWUP_NOW={DEMO_COLLECT})"
    )
    raise typer.Exit(report.exit_code)
