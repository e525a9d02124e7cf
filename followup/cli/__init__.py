"""The command line: what the clerk types. Each command translates its input, calls a service or a job (as
its Prefect flow where a Prefect server stands), and prints; no rule lives here.

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
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from dotenv import load_dotenv
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from followup.cli.help import ClerkApp, usage_error
from followup.domain.config import Config, ConfigError, Directive
from followup.domain.states import Delivery, SubmissionStatus, UnitState
from followup.domain.tracking import Only, selected
from followup.i18n import _
from followup.labels import counts_text, label
from followup.settings import DEFAULTS, Settings

if TYPE_CHECKING:
    from followup.bootstrap import App

app = ClerkApp(add_completion=False, no_args_is_help=True, help=_("Follow a district directive from letter to report."))
# Piped output (a log, a test) is not squeezed to 80 columns: the tables are wide.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
# What goes wrong is one line each: never broken by us (a log or a scheduled run's mail keeps it whole).
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160)

DEMO_NOW = "2023-02-06T08:00:00+07:00"
DEBUG = {"on": False}

DirectiveCode = Annotated[
    str,
    typer.Argument(metavar=_("DIRECTIVE"), help=_("the directive's code: its file name in directives/, without .yaml")),
]
NO_PDF = _("[dim](no PDF: LibreOffice 'soffice' is not on PATH)[/]")


class Stop(Exception):
    """A problem already told to the clerk: leave with this exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _product(settings: Settings | None = None) -> App:
    """The product's parts (imported here: `followup --help` does not load the store and the mail)."""
    from followup.bootstrap import bootstrap

    return bootstrap(settings)


def _version(asked: bool) -> None:
    """`followup --version`: the installed package's version, before anything else is loaded."""
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        shown = version("followup")
    except PackageNotFoundError:  # a checkout run without installing it
        from followup import __version__ as shown
    console.print(f"followup {shown}", highlight=False)
    raise typer.Exit()


@app.callback()
def _setup(
    debug: Annotated[bool, typer.Option("--debug", help=_("show the traceback of an unexpected error"))] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help=_("print the version and stop"))
    ] = False,
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
        from sqlalchemy.exc import OperationalError
        from typer._click.exceptions import NoArgsIsHelpError
        from typer.exceptions import Abort, Exit, TyperException

        if isinstance(exc, Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, NoArgsIsHelpError):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, TyperException):  # a mistyped command line
            err.print(usage_error(exc), markup=False, highlight=False)
            sys.exit(exc.exit_code)
        if isinstance(exc, Abort | KeyboardInterrupt):
            err.print(_("Interrupted."))
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
            err.print(
                _("[bold red]Mail server:[/] {error}. Nothing is lost: run again when it answers.").format(error=exc),
                highlight=False,
            )
            sys.exit(1)
        if isinstance(exc, MailUrlError):
            err.print(str(exc), markup=False, highlight=False)
            sys.exit(2)
        if isinstance(exc, OperationalError):
            err.print(
                _("[bold red]Database:[/] cannot use {database}: {error}").format(
                    database=Settings().db_shown, error=exc.orig
                ),
                highlight=False,
            )
            sys.exit(1)
        err.print(f"[bold red]{type(exc).__name__}:[/] {exc}", highlight=False)
        err.print(_("Run the same command with --debug to see where it happened."))
        sys.exit(1)


def _prefect_home(settings: Settings) -> Path:
    """Prefect's state: PREFECT_HOME, else the data folder's ``prefect/``."""
    return Path(os.environ.get("PREFECT_HOME") or (settings.home / "prefect").resolve())


def _prefect_env(settings: Settings, api_url: str | None = None) -> Path:
    """Keep Prefect's state in the data folder; quiet its console (not its records, which the UI shows).

    Set before Prefect is imported: it reads its settings once.
    """
    prefect_home = _prefect_home(settings)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    prefect_home.mkdir(parents=True, exist_ok=True)
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
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
        raise Stop(
            _("Prefect server: {url} (PREFECT_API_URL) does not answer; start it, or unset PREFECT_API_URL").format(
                url=url
            )
        )


@dataclass
class _Jobs:
    """Where a command's job runs. With a Prefect server standing (PREFECT_API_URL, or the one `followup serve`
    runs for this data folder), as its flow in this process: the UI shows the run, its logs and artifacts.
    Without one, directly (``followup.jobs``, the same steps): a server started for a run nobody watches cost
    5-10 s a command, and Prefect's import 1.5 s more."""

    product: App
    server: str | None  # the API URL of the server that records the runs

    def run(self, job: str, **params: Any) -> Any:
        """``jobs.<job>(product, **params)``, or ``flows.<job>.<job>_flow(**params)``: the same parameters."""
        if self.server is None:
            from followup import jobs

            return getattr(jobs, job)(self.product, **params, connect_retries=jobs.ATTENDED_RETRIES)
        import importlib

        flow = getattr(importlib.import_module(f"flows.{job}"), f"{job}_flow")
        return flow(**params, attended=True)


def _jobs(product: App | None = None) -> _Jobs:
    """The product for a command that runs a job (``product``, when the command has loaded it already), and
    the Prefect server that records it, if one stands."""
    from flows.server import standing_server

    product = product or _product()
    settings = product.settings
    _check_mail_urls(settings)  # a mistyped option is told at once
    if named := os.environ.get("PREFECT_API_URL"):
        _standing_server_answers()  # a discovered one has just answered
    server = named or standing_server(_prefect_home(settings))
    if server:
        _prefect_env(settings, server)
    return _Jobs(product, server)


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
    from followup import jobs

    jobs.STOP.clear()
    previous = signal.getsignal(signal.SIGINT)

    def ask_to_stop(signum: int, frame: Any) -> None:
        jobs.STOP.set()
        err.print(_("[yellow]Stopping after the message in flight… (Ctrl-C again to stop at once)[/]"))
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield
    except KeyboardInterrupt:  # the second Ctrl-C (typer would turn it into a silent exit 130)
        raise Stop(_("Interrupted."), code=130) from None
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[Any], None]]:
    """A progress bar with the total, the rate and the time left; hands the flows a callback per message."""
    from followup import jobs

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]  # fmt: skip
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(outcome: Any) -> None:
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f}/s" if speed else "")

        jobs.on_progress = advance
        try:
            yield advance
        finally:
            jobs.on_progress = None


def _print_problems(problems: list[str]) -> None:
    err.print(_("[bold red]{n} problem(s) found:[/]").format(n=len(problems)))
    for problem in problems:
        err.print(f"  • {problem}", markup=False, highlight=False)


def _directive(config: Config, code: str) -> Directive:
    try:
        return config.directive(code)
    except KeyError as exc:
        raise Stop(str(exc.args[0])) from None


def _passed_deadlines(product: App, d: Directive, codes: list[str] | None = None, force: bool = True) -> None:
    """Warn when the letter asks for a reply by a day already over (every unit would be late on receipt);
    unless ``force``, the service's refusal (DeadlinePassed) follows the warnings."""
    from followup.services.dispatch import DeadlinePassed, addressed_units, refuse_passed

    now = product.clock.now()
    try:
        passed = refuse_passed(d, addressed_units(d, product.config.recipients, codes), now, product.config.tz, force)
        refused = None
    except DeadlinePassed as exc:
        passed, refused = exc.requests, exc
    for request in passed:
        err.print(
            _(
                "Warning: the letter asks for {requirement} ({period}) by {date}, which has passed (today is "
                "{today}): every unit would be late as soon as it receives it."
            ).format(
                requirement=request.requirement.code,
                period=request.due.period,
                date=f"{request.due.due_date:%d/%m/%Y}",
                today=f"{now:%d/%m/%Y}",
            ),
            style="yellow",
            markup=False,
            highlight=False,
        )
    if passed:
        err.print(
            _("If the date is a mistake, correct the deadline in {file}.").format(
                file=product.config.root / "directives" / f"{d.code}.yaml"
            ),
            markup=False,
            highlight=False,
        )
    if refused is not None:
        raise Stop(str(refused))


@app.command(
    help=_("Validate recipients.yaml, schedules.yaml, directives and templates; test the database and mail servers.")
)
def check() -> None:
    from followup.services.checks import check_everything

    problems, notes = check_everything(Settings())
    for note in notes:
        console.print(f"[green]✓[/] {note}", highlight=False)
    if problems:
        _print_problems(problems)
        raise typer.Exit(1)
    console.print(_("[bold green]All checks passed.[/]"))


@app.command(
    help=_("Write the built-in configuration (units, schedules, the seed directive, templates) into FOLDER to edit.")
)
def init(
    folder: Annotated[
        Path, typer.Argument(metavar=_("FOLDER"), help=_("where the clerk's files go (created if missing)"))
    ],
    force: Annotated[bool, typer.Option("--force", help=_("overwrite the files already there"))] = False,
) -> None:
    from followup.services.init import FilesExist, write_defaults

    try:
        written = write_defaults(folder, force)
    except FilesExist as exc:
        raise Stop(str(exc)) from None
    console.print(_("Wrote {n} files in {folder}.").format(n=len(written), folder=folder.resolve()), highlight=False)
    console.print(_("Edit them next, in this order:"))
    for name, what in (
        ("recipients.yaml", _("the issuing office, the units, their real e-mail addresses (.example reaches no one)")),
        ("directives/", _("one file per directive; copy the seed for a new one")),
        ("schedules.yaml", _("the time zone and when collect, remind and report run on their own")),
        ("templates/", _("the letter, the report and the e-mail bodies, if the office words them differently")),
    ):
        console.print(f"  {name:17}{what}", highlight=False)
    console.print(
        _("Mail servers and the database go in {env} (FOLLOWUP_SMTP_URL, FOLLOWUP_IMAP_URL, FOLLOWUP_DATABASE_URL), "
          "never in the YAML files.").format(env=folder / ".env"),
        highlight=False,
    )  # fmt: skip
    console.print(_("Then, in {folder}: followup check").format(folder=folder), highlight=False)


@app.command(help=_("Render the letter and the forms for review; send nothing, number nothing."))
def draft(directive: DirectiveCode) -> None:
    from followup.documents.libreoffice import to_pdf
    from followup.services.dispatch import write_draft

    product = _product()
    d = _directive(product.config, directive)
    _passed_deadlines(product, d)
    folder = product.settings.home / "drafts" / d.code
    paths = write_draft(product.config, d, folder, product.clock.today())
    pdf = to_pdf(paths[0], folder)
    for path in [*paths, *([pdf] if pdf else [])]:
        console.print(str(path), highlight=False)
    if pdf is None:
        console.print(NO_PDF)


@app.command(
    help=_("Take the letter's number from the register and write the numbered letter (docx, PDF) for signing.")
)
def issue(directive: DirectiveCode) -> None:
    from followup.documents.libreoffice import to_pdf
    from followup.services.dispatch import issue as issue_letter

    product = _product()
    d = _directive(product.config, directive)
    _passed_deadlines(product, d)
    with product.uow() as uow:
        issued = issue_letter(uow, product.config, d, product.settings.documents)
    letter = Path(issued.letter_path)
    pdf = to_pdf(letter, letter.parent)
    console.print(f"{d.kind} số {issued.number.label} ngày {issued.issued_on:%d/%m/%Y}", highlight=False)
    for path in [letter, *([pdf] if pdf else [])]:
        console.print(str(path), highlight=False)
    console.print(
        _("Sign it, then: followup dispatch {directive} --signed SIGNED.pdf").format(directive=d.code), highlight=False
    )


@app.command(help=_("Send the directive's letter and forms to every addressed unit, exactly once."))
def dispatch(
    directive: DirectiveCode,
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", metavar=_("CODE"), help=_("send only to this unit code (repeatable)")),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("show what would be sent; send and record nothing"))
    ] = False,
    resend: Annotated[bool, typer.Option("--resend", help=_("send again to units that already received it"))] = False,
    signed: Annotated[
        Path | None,
        typer.Option(
            "--signed", metavar=_("FILE"), help=_("attach this signed PDF of the issued letter instead of the .docx")
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help=_("send even though a deadline the letter asks for has passed"))
    ] = False,
) -> None:
    from followup.services.dispatch import SignedCopyMismatch, UnknownUnits, addressed_units

    if signed is not None and not signed.is_file():
        raise Stop(_("--signed {file}: no such file; give the path of the signed PDF").format(file=signed))
    product = _product()  # what can be refused is refused before Prefect starts
    d = _directive(product.config, directive)
    try:
        total = len(addressed_units(d, product.config.recipients, unit))
    except UnknownUnits as exc:
        raise Stop(str(exc)) from None
    _passed_deadlines(product, d, unit, force=force or dry_run)  # refused before anything is sent
    runner = _jobs(product)
    with _stoppable(), _progress(_("Sending"), None if dry_run else total):
        try:
            report = runner.run(
                "dispatch", directive=directive, units=unit or None, dry_run=dry_run, resend=resend,
                signed=str(signed) if signed else None, force=force,
            )  # fmt: skip
        except SignedCopyMismatch as exc:
            raise Stop(str(exc)) from None
    _print_dispatch(report, product.config)
    from followup import jobs

    if report.waiting and jobs.STOP.is_set():
        stopped = _(
            "[yellow]Interrupted: {sent} sent, {waiting} waiting.[/] Run the same command again to send the rest."
        )
        err.print(stopped.format(sent=report.count("sent"), waiting=len(report.waiting)))
        raise typer.Exit(130)
    if report.waiting:  # not stopped: another run (a schedule, a colleague) holds them at this moment
        err.print(
            _("{n} message(s) left to another run of dispatch sending at the same time.").format(n=len(report.waiting))
        )
    raise typer.Exit(report.exit_code)


def _print_dispatch(report, config: Config) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in config.recipients.units}
    table = Table(title=f"{report.directive} — số {report.number}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(_("Unit"))
    table.add_column(_("Name"))
    table.add_column(_("Status"))
    table.add_column(_("Detail"), overflow="fold")
    style = {"sent": "green", "skipped": "dim", "failed": "bold red", "planned": "cyan", "waiting": "yellow"}
    for o in report.outcomes:
        shown = label(Delivery, o.status)
        table.add_row(o.unit_code, names.get(o.unit_code, ""), f"[{style[o.status]}]{shown}[/]", o.detail)
    console.print(table)
    summary = counts_text(Delivery, report.counts())
    console.print(
        _("{counts} — via {where}").format(counts=summary or _("nothing to do"), where=report.where), highlight=False
    )
    if report.failed:
        err.print(
            _("[bold red]{n} unit(s) failed[/]; fix the address or server and run again.").format(n=len(report.failed))
        )


@app.command(help=_("Fetch new replies, match, read, check and answer them; print who has replied."))
def collect() -> None:
    runner = _jobs()
    product = runner.product
    with _stoppable(), console.status(_("Collecting replies…")):
        report = runner.run("collect")
    _print_collect(report)
    with product.uow() as uow:
        for directive in product.config.directives.values():
            _print_status(_status_slots(uow, product, directive, product.clock.now()), product)
    raise typer.Exit(1 if report.processed.failed else 0)


@app.command(
    help=_("Remind the units that still owe a reply; issue the công văn đôn đốc and tell leadership when late.")
)
def remind(
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar=_("DATE"), help=_("remind as on this date (default: today)"))
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("show who would be reminded; send nothing"))] = False,
) -> None:
    runner = _jobs()
    product = runner.product
    if as_of:
        try:
            product.clock.end_of(as_of)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    from followup.services.remind import IssuedElsewhere

    with _stoppable(), console.status(_("Reminding…")):
        try:
            report = runner.run("remind", as_of=as_of, dry_run=dry_run)
        except IssuedElsewhere as exc:
            raise Stop(str(exc), code=1) from None
    _print_remind(report, product)
    raise typer.Exit(report.exit_code)


def _print_remind(report, product: App) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in product.config.recipients.units}
    plan = report.plan
    title = _("Reminders of {day}").format(day=f"{report.day:%d/%m/%Y}")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in (_("Unit"), _("Name"), _("Owes (requirement period step)")):
        table.add_column(column, overflow="fold")
    for unit, items in plan.owed.items():
        owes = "; ".join(f"{o.requirement} {o.period} ({o.step.key})" for o in items)
        table.add_row(unit, names.get(unit, ""), owes)
    console.print(table)
    for path in report.letters:
        console.print(_("Follow-up letter (công văn đôn đốc): {path}").format(path=path), highlight=False)
    if plan.escalations:
        console.print(_("Leadership told of {n} late requirement(s).").format(n=len(plan.escalations)))
    for code, units in plan.unreached.items():
        shown = ", ".join(sorted(units))
        console.print(
            _("Not reminded: {units} never received the letter of {directive}; send it with: {command}").format(
                units=shown, directive=code, command=f"followup dispatch {code} --unit CODE"
            ),
            style="yellow",
            highlight=False,
        )
    counts = counts_text(Delivery, report.counts())
    console.print(
        _("{counts} — via {where}").format(counts=counts or _("nothing to send today"), where=report.where),
        highlight=False,
    )


@app.command(
    help=_("Compile the report of a period (BÁO CÁO, annex, chart, restricted list); with --send, mail the summaries.")
)
def report(
    directive: DirectiveCode,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            "-p",
            metavar=_("PERIOD"),
            help=_("2023-H1 or 2023 (default: the latest whose deadline has passed)"),
        ),
    ] = None,  # fmt: skip
    send: Annotated[
        bool, typer.Option("--send", help=_("mail the summary to leadership, the files to the data officers"))
    ] = False,  # fmt: skip
) -> None:
    runner = _jobs()
    product = runner.product
    d = _directive(product.config, directive)
    if d.report is None:
        raise Stop(
            _("{directive} has no report: section (symbol, addressee) in {folder}").format(
                directive=d.code, folder=product.config.root / "directives"
            )
        )
    if period:
        from followup.domain.periods import Period

        try:
            Period.parse(period)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    with _stoppable(), console.status(_("Compiling the report…")):
        try:
            [result] = runner.run("report", directive=d.code, period=period, send=send)
        except ValueError as exc:
            raise Stop(str(exc)) from None
    _print_report(result)
    raise typer.Exit(result.exit_code)


def _print_report(result) -> None:  # type: ignore[no-untyped-def]
    c = result.compilation
    k = c.report
    console.print(f"Báo cáo số {result.number}: {result.title}", highlight=False)
    reported = _("{accepted}/{expected} units reported ({on_time} on time, {late} late, {missing} missing)").format(
        accepted=k.accepted, expected=k.expected, on_time=k.on_time, late=k.late, missing=len(k.missing_units)
    )
    console.print(reported + (_(" — PARTIAL") if c.partial else ""), highlight=False)
    words = {
        "report": _("Report"),
        "pdf": "PDF",
        "annex": _("Annex"),
        "chart": _("Chart"),
        "restricted": _("Restricted list"),
    }
    width = max(len(w) for w in words.values()) + 2
    for key, path in result.paths.items():
        console.print(f"{words.get(key, key) + ':':{width}}{path}", highlight=False)
    for warning in result.warnings:
        err.print(warning, style="yellow", markup=False, highlight=False)
    if "pdf" not in result.paths and not result.warnings:
        console.print(NO_PDF)
    if result.outcomes:
        counts = counts_text(Delivery, result.counts())
        console.print(_("Summaries: {counts} — via {where}").format(counts=counts, where=result.where), highlight=False)


def _print_collect(report) -> None:  # type: ignore[no-untyped-def]
    s, p = report.stored, report.processed
    by_status = counts_text(SubmissionStatus, dict(sorted(p.submissions.items()))) or _("no form")
    sent = sum(1 for a in report.answers if a.status == "sent")
    failed = [a for a in report.answers if a.status == "failed"]
    console.print(
        _(
            "Fetched {fetched} message(s): {new} new, {duplicates} already stored. "
            "Interpreted {messages}: {by_status}. Answers sent: {sent}."
        ).format(
            fetched=s.fetched,
            new=s.stored,
            duplicates=s.duplicates,
            messages=p.messages,
            by_status=by_status,
            sent=sent,
        ),
        highlight=False,
    )
    if p.failed:
        err.print(
            _("[bold red]{n} message(s) could not be read[/]; they are kept in the store (status failed).").format(
                n=p.failed
            )
        )
    if failed:
        err.print(
            _("[bold red]{n} answer(s) could not be sent[/]; the next collect tries again.").format(n=len(failed))
        )


def _status_slots(uow, product: App, directive: Directive, as_of, requirement=None, period=None):  # type: ignore[no-untyped-def]
    from followup.services.status import directive_status

    return directive_status(uow, product.config, directive, as_of, requirement, period)


STATE_STYLE = {"on_time": "green", "late": "yellow", "rejected": "red", "pending": "cyan", "missing": "default"}


UNIT_ROWS = 200  # past this many units a requirement, the unit list is for --json or --all-units


def _print_status(slots, product: App, units: bool | None = False, only: Only | None = None) -> None:  # type: ignore[no-untyped-def]
    """The summary table; with ``units`` the state of each unit too (None: only where there are few), or with
    ``only`` of the units that answer that question."""
    names = {u.code: u.name for u in product.config.recipients.units}
    table = Table(title=_("Reporting status"), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (_("Requirement"), _("Period"), _("Due")):
        table.add_column(column, no_wrap=True)
    for column in (
        _("Exp."),
        _("Acc."),
        _("Late"),
        _("Rej."),
        _("Pend."),
        _("Miss."),
        _("Overdue"),
        _("Rate"),
        _("On time"),
    ):
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
        shown = [u for u in slot.units if only is None or selected(u, only)]
        if units is None and len(shown) > UNIT_ROWS:
            console.print(
                _("{requirement} {period}: {n} units; list them with --all-units or --json").format(
                    requirement=slot.requirement, period=slot.period, n=len(shown)
                ),
                highlight=False,
            )
            continue
        title = f"{slot.requirement} {slot.period}"
        if only is not None:
            title += " — " + _("{only}: {n} of {total} units").format(only=only, n=len(shown), total=slot.expected)
        detail = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for column in (_("Unit"), _("Name"), _("State"), _("Received"), _("Replies")):
            detail.add_column(column)
        overdue = " [bold red]" + _("(overdue)") + "[/]"
        for u in shown:
            when = f"{product.clock.local(u.received_at):%d/%m/%Y %H:%M}" if u.received_at else ""
            state = f"[{STATE_STYLE[u.state]}]{label(UnitState, u.state)}[/]" + (overdue if u.overdue else "")
            detail.add_row(u.unit, names.get(u.unit, ""), state, when, str(u.replies))
        console.print(detail)


@app.command(help=_("Who has replied, on time or late, per requirement and period; one row per unit."))
def status(
    directive: DirectiveCode,
    requirement: Annotated[
        str | None, typer.Option("--requirement", "-r", metavar=_("CODE"), help=_("one requirement code"))
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", "-p", metavar=_("PERIOD"), help=_("2023 or 2023-H1"))
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar=_("DATE"), help=_("the state at this date or date-time"))
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("print JSON (shape in the README)"))] = False,
    all_units: Annotated[
        bool, typer.Option("--all-units", help=_("list every unit, even past 200 units a requirement"))
    ] = False,
    only: Annotated[
        Only | None,
        typer.Option(
            "--only",
            help=_(
                "list only these units: missing = nothing accepted and nothing waiting in triage (rejected "
                "included: those remind reminds); late = accepted after the deadline, or past it with nothing "
                "accepted; rejected = a reply rejected and no corrected one accepted"
            ),
        ),
    ] = None,
) -> None:
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
        data = status_json(slots, names, product.config.tz, only)
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")
        return
    _print_status(slots, product, units=True if all_units else None, only=only)


@app.command(help=_("The units of recipients.yaml: code, name, kind, e-mail addresses and groups."))
def units(
    group: Annotated[str | None, typer.Option("--group", "-g", help=_("only the units of this group"))] = None,
) -> None:
    config = _product().config
    recipients = config.recipients
    chosen = recipients.units
    if group is not None:
        try:
            name = recipients.group(group).name
        except KeyError:
            known = ", ".join(f"{g.code} ({g.name})" for g in recipients.groups)
            raise Stop(
                _("unknown group '{group}'; the groups of {file} are: {known}").format(
                    group=group, file=config.root / "recipients.yaml", known=known
                )
            ) from None
        chosen = recipients.units_in([group])
    title = _("{n} unit(s)").format(n=len(chosen)) + (f" — {group}: {name}" if group else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in (_("Code"), _("Name"), _("Kind"), _("E-mail"), _("Groups")):
        table.add_column(column, overflow="fold")
    for u in chosen:
        table.add_row(u.code, u.name, u.kind.value, ", ".join(u.emails), ", ".join(u.groups))
    console.print(table, highlight=False)


@app.command(
    help=_("Each directive: its letter, what it asks back with periods and deadlines, and how many have replied.")
)
def directives() -> None:
    product = _product()
    now = product.clock.now()
    with product.uow() as uow:
        for d in product.config.directives.values():
            issued = uow.repo.dispatch_of(d.code)
            letter = (
                _("{kind} no. {number} of {day}").format(
                    kind=d.kind, number=issued.number.label, day=f"{issued.issued_on:%d/%m/%Y}"
                )
                if issued
                else _("{kind} not issued yet").format(kind=d.kind)
            )
            console.print(f"[bold]{escape(d.code)}[/] — V/v {escape(d.subject)} — {escape(letter)}", highlight=False)
            if not d.requirements:
                console.print("  " + _("asks for no reply"))
                continue
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for column in (_("Requirement"), _("Title"), _("From"), _("Period"), _("Deadline")):
                table.add_column(column, overflow="fold")
            for column in (_("Accepted"), _("Rate"), _("On time")):
                table.add_column(column, justify="right", no_wrap=True)
            for slot in _status_slots(uow, product, d, now):
                req = d.requirement(slot.requirement)
                due = f"{slot.due_date:%d/%m/%Y}"
                c = slot.counts()
                table.add_row(
                    req.code, req.title, ", ".join(req.from_groups), slot.period,
                    _("before {date}").format(date=due) if req.before else _("by {date}").format(date=due),
                    f"{c['accepted']}/{c['expected']}", f"{c['reporting_rate']:.0%}", f"{c['on_time_rate']:.0%}",
                )  # fmt: skip
            console.print(table)
    console.print(_("As of {moment}.").format(moment=f"{now:%d/%m/%Y %H:%M}"), highlight=False)


def _period(product: App, d: Directive, requirement: str, period: str | None, on) -> str:  # type: ignore[no-untyped-def]
    """The period asked for, or the one open on that day."""
    from followup.domain.periods import first_due

    return period or str(first_due(d, d.requirement(requirement), on, product.config.tz).period)


@app.command(help=_("Record a reply that came on paper or by hand; it is read and checked like an e-mailed one."))
def record(
    unit: Annotated[str, typer.Argument(metavar=_("UNIT"), help=_("the unit's code in recipients.yaml"))],
    requirement: Annotated[
        str, typer.Argument(metavar=_("REQUIREMENT"), help=_("the requirement's code in the directive"))
    ],
    files: Annotated[list[Path], typer.Argument(metavar=_("FILE"), help=_("the scanned or typed forms"))],
    received: Annotated[
        str | None, typer.Option("--received", metavar=_("DATE"), help=_("when it arrived (default: now)"))
    ] = None,
    directive: Annotated[
        str | None,
        typer.Option("--directive", metavar=_("DIRECTIVE"), help=_("needed if several directives share the code")),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", metavar=_("PERIOD"), help=_("default: the period open when it arrived")),
    ] = None,
) -> None:
    from followup.services import clerk

    product = _product()
    config = product.config
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise Stop(_("no such file: {files}").format(files=", ".join(missing)))
    try:
        config.recipients.unit(unit)
    except KeyError:
        raise Stop(
            _("unknown unit {unit}; see the codes in {file}").format(
                unit=repr(unit), file=config.root / "recipients.yaml"
            )
        ) from None
    try:
        d = config.asking_for(requirement, directive)
        moment = product.clock.moment(received) if received else product.clock.now()
        chosen = _period(product, d, requirement, period, moment.date())
    except ValueError as exc:
        raise Stop(str(exc)) from None
    with product.uow() as uow:
        submissions = clerk.record(uow, config, unit, d.code, requirement, chosen, list(files), moment)
        for sub in submissions:
            console.print(f"#{sub.id} {sub.attachment_name}: {label(SubmissionStatus, sub.status)}", highlight=False)
            for problem in sub.problems:
                console.print(f"   {problem['where']}: {problem['message']}", highlight=False)
    console.print(_("The answer to the unit goes out with the next `followup collect`."))


@app.command(help=_("List replies that could not be matched; assign one to a unit and requirement, or set it aside."))
def triage(
    assign: Annotated[int | None, typer.Option("--assign", metavar="N", help=_("reply number to assign"))] = None,
    unit: Annotated[str | None, typer.Option("--unit", metavar=_("CODE"), help=_("the unit it came from"))] = None,
    requirement: Annotated[
        str | None, typer.Option("--requirement", metavar=_("CODE"), help=_("the requirement it answers"))
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", metavar=_("PERIOD"), help=_("default: the period open today"))
    ] = None,
    reject: Annotated[int | None, typer.Option("--reject", metavar="N", help=_("reply number to set aside"))] = None,
    reason: Annotated[
        str, typer.Option("--reason", metavar=_("TEXT"), help=_("why it is set aside, kept with it"))
    ] = _("set aside by the clerk"),
    show: Annotated[
        int | None, typer.Option("--show", help=_("copy the file(s) of this reply into a folder you can open"))
    ] = None,
) -> None:
    from followup.services import clerk

    product = _product()
    with product.uow() as uow:
        try:
            if show is not None:
                for path in clerk.show(uow, show, product.settings.home / "triage" / str(show)):
                    console.print(str(path), highlight=False)
                console.print(_("Copies only: what the unit sent stays in the store as it came."))
                return
            if assign is not None:
                if not (unit and requirement):
                    raise ValueError(_("--assign needs --unit and --requirement (and --period if not the open one)"))
                d = product.config.asking_for(requirement)
                chosen = _period(product, d, requirement, period, product.clock.today())
                sub = clerk.assign(uow, product.config, assign, unit, d.code, requirement, chosen)
                shown = label(SubmissionStatus, sub.status)
                console.print(f"#{assign} → #{sub.id} {unit} {requirement} {chosen}: {shown}", highlight=False)
                return
            if reject is not None:
                clerk.reject(uow, reject, reason)
                console.print(_("#{n} set aside: {reason}").format(n=reject, reason=reason), highlight=False)
                return
        except ValueError as exc:
            raise Stop(str(exc)) from None
        rows = clerk.waiting_in_triage(uow)
        title = _("{n} reply(ies) waiting in triage").format(n=len(rows))
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("#", _("Received"), _("From"), _("File"), _("Unit?"), _("Why")):
            table.add_column(column, overflow="fold")
        for sub, incoming in rows:
            table.add_row(
                str(sub.id), f"{product.clock.local(sub.received_at):%d/%m/%Y %H:%M}", incoming.from_addr or "",
                sub.attachment_name or _("(no file)"), sub.unit_code or "", sub.reason or "",
            )  # fmt: skip
    console.print(table)
    if rows:
        console.print(
            _(
                "Assign: followup triage --assign N --unit CODE --requirement CODE [--period P]; "
                "set aside: followup triage --reject N --reason TEXT"
            ),
            highlight=False,
        )


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"
    BOTH = "both"

    @property
    def formats(self) -> tuple[str, ...]:
        return ("xlsx", "csv") if self is ExportFormat.BOTH else (self.value,)


@app.command(
    help=_("A period's figures per unit and the children's counts per commune and group, for your spreadsheets.")
)
def export(
    directive: str,
    period: Annotated[str, typer.Option("--period", "-p", help=_("2023-H1 or 2023"))],
    with_names: Annotated[
        bool, typer.Option("--with-names", help=_("also the list of children with their names, only for you"))
    ] = False,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help=_("xlsx, csv (one file per table) or both"))
    ] = ExportFormat.XLSX,
) -> None:
    from followup.domain.periods import Period
    from followup.services.export import export as export_period
    from followup.services.export import folder_of

    product = _product()
    d = _directive(product.config, directive)
    try:
        chosen = Period.parse(period)
        with product.uow() as uow:
            folder = folder_of(product.settings.home, d.code, chosen)
            paths = export_period(uow, product.config, d, chosen, product.clock.now(), folder, fmt.formats, with_names)
    except ValueError as exc:
        raise Stop(str(exc)) from None
    for path in paths:
        console.print(str(path), highlight=False)
    if with_names:
        console.print(
            _("The files under restricted/ name children: only you can open them; share them only with the data "
              "officers, never by ordinary e-mail.")
        )  # fmt: skip


@app.command(
    help=_(
        "Run the flows of schedules.yaml on their schedules, and any flow the clerk starts in the Prefect UI.\n\n"
        "With PREFECT_API_URL set, on that server; unset, on a local Prefect server (with its UI) started here "
        "and stopped with this command. Runs until Ctrl-C."
    )
)
def serve(
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            envvar="FOLLOWUP_PREFECT_PORT",
            metavar=_("PORT"),
            help=_("port of the local Prefect server and its UI (default 4200, or a free one)"),
        ),
    ] = None,
) -> None:
    settings = Settings()
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "DEBUG" if DEBUG["on"] else "INFO")
    prefect_home = _prefect_env(settings)
    from flows import serve as serving
    from flows import server as servers

    product = _product(settings)
    config = product.config
    names = serving.check(config)  # a wrong flow name is one line before anything starts
    with contextlib.ExitStack() as stack:
        if os.environ.get("PREFECT_API_URL"):
            _standing_server_answers()
            console.print(_("Prefect server: {url}").format(url=os.environ["PREFECT_API_URL"]), highlight=False)
        else:
            if running := servers.standing_server(prefect_home):
                raise Stop(
                    _("followup serve already runs for this data folder ({url})").format(
                        url=running.removesuffix("/api")
                    )
                )
            with console.status(_("Starting the Prefect server…")):
                try:
                    local = stack.enter_context(servers.local_server(prefect_home, port))
                except servers.ServerFailed as exc:
                    raise Stop(str(exc), code=1) from None
            os.environ["PREFECT_API_URL"] = local.api_url
            console.print(_("Prefect UI: {url}").format(url=local.ui_url), highlight=False)

        def ready(deployments: list[str]) -> None:
            zone = config.schedules.timezone
            for name, deployment in zip(names, deployments, strict=True):
                cron = config.schedules.flows.get(name)
                when = f"{cron} ({zone})" if cron else _("when started from the UI, with its parameters")
                console.print(f"  {deployment}: {when}", highlight=False)
            console.print(_("Serving; Ctrl-C to stop."))

        serving.serve_all(config, ready=ready)
    console.print(_("Stopped; the schedules are paused until the next `followup serve`."))


DEMO_COLLECT = "2023-02-27T08:00:00+07:00"


@app.command(
    help=_(
        "Play the whole cycle on the built-in defaults (the 2023 seed) and print where every output is.\n\n"
        "Dispatch on 06/02/2023; the units reply (some on time, one late, one with errors, one never); collect "
        "on 27/02/2023, a week after the children-list deadline; print who has replied; remind the units that "
        "still owe the list (the công văn đôn đốc attached) and tell leadership; compile the first-half report from "
        "the replies (the units sent their report forms with their lists) and send its summaries."
    )
)
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help=_("keep the previous demo data instead of starting afresh"))
    ] = False,
) -> None:
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
    os.environ["FOLLOWUP_CONFIG"] = str(DEFAULTS)
    os.environ["FOLLOWUP_NOW"] = DEMO_NOW
    runner = _jobs()
    product = runner.product
    settings, config = product.settings, product.config
    code = "2023-child-protection"
    console.rule(
        _("1. Dispatch — {directive}, {when}").format(directive=code, when=f"{product.clock.now():%d/%m/%Y %H:%M}")
    )
    drafts = write_draft(config, config.directive(code), settings.home / "drafts" / code, product.clock.today())
    with console.status(_("Dispatching the seed directive…")):
        report = runner.run("dispatch", directive=code)
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
    runner = _Jobs(_product(settings), runner.server)  # the office's clock a week later
    product = runner.product
    console.rule(
        _("2. The units reply ({n} messages); collect on {when}").format(
            n=len(replies), when=f"{product.clock.now():%d/%m/%Y %H:%M}"
        )
    )
    with console.status(_("Collecting replies…")):
        collected = runner.run("collect")
    _print_collect(collected)
    with product.uow() as uow:
        _print_status(_status_slots(uow, product, config.directive(code), product.clock.now()), product)

    console.rule(
        _("3. Reminders of {day}: the silent, late and rejected units").format(day=f"{product.clock.now():%d/%m/%Y}")
    )
    with console.status(_("Reminding…")):
        reminded = runner.run("remind")
    _print_remind(reminded, product)

    console.rule(_("4. The first-half report compiled from the replies received (units that sent their forms early)"))
    with console.status(_("Compiling the report of {period}…").format(period="2023-H1")):
        [compiled] = runner.run("report", directive=code, period="2023-H1", send=True)
    _print_report(compiled)

    messages = sorted((settings.outbox / "new").glob("*"))
    console.rule(_("Where everything is"))
    where = [
        (_("Letter (numbered)"), str(report.letter)),
        *((_("Form for review"), str(path)) for path in drafts[1:]),
        (
            _("Messages sent ({n})").format(n=len(messages)),
            _("{folder} (a Maildir; open it with any mail client)").format(folder=settings.outbox),
        ),
        (_("Replies received"), str(settings.inbox)),
        (_("Report {period}").format(period="2023-H1"), str(compiled.paths["report"].parent)),
        (_("Replies as stored"), str(settings.home / "store")),
        (_("Database"), settings.db_shown),
        (
            _("Who has replied"),
            _("followup status {directive}   (with FOLLOWUP_HOME={home} FOLLOWUP_NOW={now})").format(
                directive=code, home=home, now=DEMO_COLLECT
            ),
        ),
    ]
    width = max(len(what) for what, _path in where) + 3
    for what, path in where:
        console.print(f"{what + ':':{width}}{path}", highlight=False)
    raise typer.Exit(report.exit_code)
