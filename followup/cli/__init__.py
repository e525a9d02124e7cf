"""The command line: what the clerk types. Each command is a thin call into the library or a flow."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from dotenv import load_dotenv
from rich import box
from rich.console import Console
from rich.table import Table

from followup.domain import clock
from followup.domain.config import Config, ConfigError
from followup.settings import PROJECT_ROOT, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Follow a district directive from letter to report.")
# Piped output (a log, a test) is not squeezed to 80 columns: the tables are wide.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160)

DEMO_NOW = "2023-02-06T08:00:00+07:00"


@app.callback()
def _setup() -> None:
    load_dotenv(Path.cwd() / ".env")


def _prefect_env(settings: Settings) -> None:
    """Keep Prefect's own state in the data folder and quiet, unless the user configured Prefect."""
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve())))
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # A first start creates Prefect's database; on a busy machine that outlasts Prefect's 20 s default.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def _start_prefect_early() -> threading.Thread | None:
    """Start Prefect's temporary server in the background while the command loads and checks its data.

    Without a configured server (PREFECT_API_URL) every flow run starts one (5-7 s); started now, that
    overlaps with our own start-up. The flow finds it running. Any failure here is left to the flow to meet.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None

    def start() -> None:
        with contextlib.suppress(Exception):
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()

    thread = threading.Thread(target=start, name="prefect-server", daemon=True)
    thread.start()
    return thread


def _config(settings: Settings) -> Config:
    try:
        return settings.load()
    except ConfigError as exc:
        _print_problems([str(p) for p in exc.problems])
        raise typer.Exit(2) from None


def _print_problems(problems: list[str]) -> None:
    err.print(f"[bold red]{len(problems)} problem(s) found:[/]")
    for problem in problems:
        err.print(f"  • {problem}", markup=False, highlight=False)


@app.command()
def check() -> None:
    """Validate recipients.yaml, schedules.yaml, directives and templates; test the database and mail servers."""
    from followup.services.checks import check_everything

    settings = Settings()
    problems, notes = check_everything(settings)
    for note in notes:
        console.print(f"[green]✓[/] {note}", highlight=False)
    if problems:
        _print_problems(problems)
        raise typer.Exit(1)
    console.print("[bold green]All checks passed.[/]")


@app.command()
def draft(directive: str) -> None:
    """Render the letter and the forms for review; send nothing, number nothing."""
    from followup.services.dispatch import write_draft

    settings = Settings()
    config = _config(settings)
    d = _directive(config, directive)
    folder = settings.home / "drafts" / d.code
    paths = write_draft(config, d, folder, clock.today())
    from followup.documents.letter import to_pdf

    pdf = to_pdf(paths[0], folder)
    for path in [*paths, *([pdf] if pdf else [])]:
        console.print(str(path), highlight=False)
    if pdf is None:
        console.print("[dim](no PDF: LibreOffice 'soffice' is not on PATH)[/]")


def _directive(config: Config, code: str):  # type: ignore[no-untyped-def]
    try:
        return config.directive(code)
    except KeyError as exc:
        err.print(str(exc.args[0]), markup=False)
        raise typer.Exit(2) from None


@app.command()
def dispatch(
    directive: str,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="send only to this unit code (repeatable)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be sent; send and record nothing")
    ] = False,
    resend: Annotated[bool, typer.Option("--resend", help="send again to units that already received it")] = False,
    signed: Annotated[Path | None, typer.Option("--signed", help="attach this signed PDF instead of the .docx")] = None,
) -> None:
    """Send the directive's letter and forms to every addressed unit, exactly once."""
    from followup.mail.sender import ServerUnavailable
    from followup.mail.urls import MailUrlError
    from followup.services.dispatch import UnknownUnits

    settings = Settings()
    _prefect_env(settings)
    server = _start_prefect_early()
    config = _config(settings)
    _directive(config, directive)
    if signed is not None and not signed.is_file():
        err.print(f"--signed {signed}: no such file; give the path of the signed PDF", markup=False)
        raise typer.Exit(2)
    import flows.dispatch as flow_module

    if server:
        server.join()

    with console.status("Sending…") as status:
        done = {"n": 0}

        def progress(outcome):  # type: ignore[no-untyped-def]
            done["n"] += 1
            status.update(f"Sending… {done['n']} ({outcome.unit_code}: {outcome.status})")

        flow_module.on_progress = progress
        try:
            report = flow_module.dispatch_flow(
                directive,
                units=unit or None,
                dry_run=dry_run,
                resend=resend,
                signed=str(signed) if signed else None,
                interactive=True,
            )
        except (UnknownUnits, MailUrlError) as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(2) from None
        except ServerUnavailable as exc:
            err.print(f"{exc} — nothing more was sent; run again when the server answers.", markup=False)
            raise typer.Exit(1) from None
        finally:
            flow_module.on_progress = None
    _print_dispatch(report, config)
    raise typer.Exit(report.exit_code)


def _print_dispatch(report, config: Config) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in config.recipients.units}
    table = Table(title=f"{report.directive} — số {report.number}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Unit")
    table.add_column("Name")
    table.add_column("Status")
    table.add_column("Detail", overflow="fold")
    style = {"sent": "green", "skipped": "dim", "failed": "bold red", "planned": "cyan"}
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
    settings = Settings()
    _prefect_env(settings)
    server = _start_prefect_early()
    config = _config(settings)
    import flows.collect as flow_module

    if server:
        server.join()

    from followup.mail.inbox import InboxUnavailable
    from followup.mail.sender import ServerUnavailable
    from followup.mail.urls import MailUrlError

    try:
        with console.status("Collecting replies…"):
            report = flow_module.collect_flow(interactive=True)
    except MailUrlError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    except (InboxUnavailable, ServerUnavailable) as exc:
        err.print(f"{exc} — run again when the server answers.", markup=False)
        raise typer.Exit(1) from None
    _print_collect(report)
    for directive in config.directives.values():
        _print_status(_status_slots(settings, config, directive, clock.now(), None, None), config)
    raise typer.Exit(1 if report.processed.failed else 0)


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


def _status_slots(settings, config, directive, as_of, requirement, period):  # type: ignore[no-untyped-def]
    from followup.services.status import directive_status
    from followup.storage.db import open_database

    Session = open_database(settings.db_url)
    with Session() as session:
        return directive_status(session, config, directive, as_of, requirement, period)


STATE_VI = {
    "on_time": "[green]đúng hạn[/]",
    "late": "[yellow]trễ hạn[/]",
    "rejected": "[red]chưa đạt, chờ sửa[/]",
    "pending": "[cyan]chờ xem xét[/]",
    "missing": "chưa nộp",
}


UNIT_ROWS = 200  # past this many units a requirement, the unit list is for --json or --all-units


def _print_status(slots, config: Config, units: bool | None = False) -> None:  # type: ignore[no-untyped-def]
    """The summary table; with ``units`` the state of each unit too (None: only where there are few)."""
    names = {u.code: u.name for u in config.recipients.units}
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
            when = f"{u.received_at.astimezone(clock.OFFICE_TZ):%d/%m/%Y %H:%M}" if u.received_at else ""
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

    settings = Settings()
    config = _config(settings)
    d = _directive(config, directive)
    try:
        moment = clock.end_of(as_of) if as_of else clock.now()
        slots = _status_slots(settings, config, d, moment, requirement, period)
    except (ValueError, KeyError) as exc:
        err.print(str(exc.args[0] if isinstance(exc, KeyError) else exc), markup=False)
        raise typer.Exit(2) from None
    if as_json:
        names = {u.code: u.name for u in config.recipients.units}
        indent = 2 if sys.stdout.isatty() else None  # piped: the C encoder, ten times faster at 10,000 units
        sys.stdout.write(json.dumps(status_json(slots, names), ensure_ascii=False, indent=indent) + "\n")
        return
    _print_status(slots, config, units=True if all_units else None)


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
    from followup.domain.periods import first_due
    from followup.services.collect import Collector
    from followup.storage.db import open_database
    from followup.storage.files import FileStore

    settings = Settings()
    config = _config(settings)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        err.print(f"no such file: {', '.join(missing)}", markup=False)
        raise typer.Exit(2)
    try:
        config.recipients.unit(unit)
    except KeyError:
        err.print(f"unknown unit {unit!r}; see the codes in {config.root / 'recipients.yaml'}", markup=False)
        raise typer.Exit(2) from None
    try:
        d = config.asking_for(requirement, directive)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    try:
        moment = clock.parse_moment(received) if received else clock.now()
        chosen = period or str(first_due(d, d.requirement(requirement), moment.date()).period)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    Session = open_database(settings.db_url)
    with Session() as session:
        collector = Collector(session, config, FileStore(settings.home / "store"), clock.now)
        submissions = collector.record(unit, d.code, requirement, chosen, list(files), moment)
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
    from sqlalchemy import select

    from followup.domain.periods import first_due
    from followup.services.collect import Collector
    from followup.storage.db import open_database
    from followup.storage.files import FileStore
    from followup.storage.models import IncomingMessage, Submission

    settings = Settings()
    config = _config(settings)
    Session = open_database(settings.db_url)
    with Session() as session:
        collector = Collector(session, config, FileStore(settings.home / "store"), clock.now)
        try:
            if assign is not None:
                if not (unit and requirement):
                    raise ValueError("--assign needs --unit and --requirement (and --period if not the open one)")
                d = config.asking_for(requirement)
                chosen = period or str(first_due(d, d.requirement(requirement), clock.today()).period)
                sub = collector.assign(assign, unit, d.code, requirement, chosen)
                console.print(f"#{assign} → #{sub.id} {unit} {requirement} {chosen}: {sub.status}", highlight=False)
                return
            if reject is not None:
                collector.discard(reject, reason)
                console.print(f"#{reject} set aside: {reason}", highlight=False)
                return
        except ValueError as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(2) from None
        rows = session.execute(
            select(Submission, IncomingMessage)
            .join(IncomingMessage, Submission.incoming_id == IncomingMessage.id)
            .where(Submission.status == "triage")
            .order_by(Submission.id)
        ).all()
    table = Table(title=f"{len(rows)} reply(ies) waiting in triage", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("#", "Received", "From", "File", "Unit?", "Why"):
        table.add_column(column, overflow="fold")
    for sub, incoming in rows:
        table.add_row(
            str(sub.id), f"{sub.received_at.astimezone(clock.OFFICE_TZ):%d/%m/%Y %H:%M}", incoming.from_addr or "",
            sub.attachment_name or "(no file)", sub.unit_code or "", sub.reason or "",
        )  # fmt: skip
    console.print(table)
    if rows:
        console.print("Assign: followup triage --assign N --unit CODE --requirement CODE [--period P]; "
                      "set aside: followup triage --reject N --reason TEXT")  # fmt: skip


DEMO_COLLECT = "2023-02-27T08:00:00+07:00"


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="keep the previous demo data instead of starting afresh")] = False,
) -> None:
    """Play the whole cycle on the built-in defaults (the 2023 seed) and print where every output is.

    Dispatch on 06/02/2023; the units reply (some on time, one late, one with errors, one never); collect
    on 27/02/2023, a week after the children-list deadline; print who has replied.
    """
    import datetime as dt
    import mailbox

    from followup.simulation.units import Behaviour, play_units

    base = Settings()
    home = (base.home / "demo").resolve()
    if home.exists() and not keep:
        shutil.rmtree(home)
    for var in ("FOLLOWUP_SMTP_URL", "FOLLOWUP_IMAP_URL", "FOLLOWUP_DATABASE_URL"):
        os.environ.pop(var, None)
    os.environ["FOLLOWUP_HOME"] = str(home)
    os.environ["FOLLOWUP_CONFIG"] = str(PROJECT_ROOT)
    os.environ["FOLLOWUP_NOW"] = DEMO_NOW
    settings = Settings()
    _prefect_env(settings)
    server = _start_prefect_early()
    config = _config(settings)
    code = "2023-child-protection"
    console.rule(f"1. Dispatch — {code}, {clock.now():%d/%m/%Y %H:%M}")
    from followup.services.dispatch import write_draft

    drafts = write_draft(config, config.directive(code), settings.home / "drafts" / code, clock.today())
    import flows.collect as collect_module
    import flows.dispatch as dispatch_module

    if server:
        server.join()

    with console.status("Dispatching the seed directive…"):
        report = dispatch_module.dispatch_flow(code)
    _print_dispatch(report, config)

    tz = clock.OFFICE_TZ
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
    for raw in replies:
        inbox.add(raw)
    os.environ["FOLLOWUP_NOW"] = DEMO_COLLECT
    console.rule(f"2. The units reply ({len(replies)} messages); collect on {clock.now():%d/%m/%Y %H:%M}")
    with console.status("Collecting replies…"):
        collected = collect_module.collect_flow()
    _print_collect(collected)
    _print_status(_status_slots(settings, config, config.directive(code), clock.now(), None, None), config)

    messages = sorted((settings.outbox / "new").glob("*"))
    console.rule("Where everything is")
    console.print(f"Letter (numbered):   {report.letter}", highlight=False)
    for path in drafts[1:]:
        console.print(f"Form for review:     {path}", highlight=False)
    console.print(f"Messages sent ({len(messages)}):  {settings.outbox} (a Maildir; open it with any mail client)")
    console.print(f"Replies received:    {settings.inbox}", highlight=False)
    console.print(f"Replies as stored:   {settings.home / 'store'}", highlight=False)
    console.print(f"Database:            {settings.db_shown}", highlight=False)
    console.print(
        f"Who has replied:     followup status {code}   (with FOLLOWUP_HOME={home} FOLLOWUP_NOW={DEMO_COLLECT})"
    )
    raise typer.Exit(report.exit_code)
