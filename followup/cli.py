"""The command line: what the clerk types. Each command is a thin call into the library or a flow."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from dotenv import load_dotenv
from rich.console import Console
from rich.table import Table

from followup import clock
from followup.config import Config, ConfigError, load_config
from followup.settings import PROJECT_ROOT, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Follow a district directive from letter to report.")
console = Console()
err = Console(stderr=True)

DEMO_NOW = "2023-02-06T08:00:00+07:00"


@app.callback()
def _setup() -> None:
    load_dotenv(Path.cwd() / ".env")


def _prefect_env(settings: Settings) -> None:
    """Keep Prefect's own state in the data folder and quiet, unless the user configured Prefect."""
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve())))
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def _config(settings: Settings) -> Config:
    try:
        return load_config(settings.config)
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
    from followup.checks import check_everything

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
    from followup.dispatch import write_draft

    settings = Settings()
    config = _config(settings)
    d = _directive(config, directive)
    folder = settings.home / "drafts" / d.code
    paths = write_draft(config, d, folder, clock.today())
    from followup.documents import to_pdf

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
    from followup.dispatch import UnknownUnits

    settings = Settings()
    config = _config(settings)
    _directive(config, directive)
    if signed is not None and not signed.is_file():
        err.print(f"--signed {signed}: no such file; give the path of the signed PDF", markup=False)
        raise typer.Exit(2)
    _prefect_env(settings)
    import flows.dispatch as flow_module

    with console.status("Sending…") as status:
        done = {"n": 0}

        def progress(outcome):  # type: ignore[no-untyped-def]
            done["n"] += 1
            status.update(f"Sending… {done['n']} ({outcome.unit_code}: {outcome.status})")

        flow_module.on_progress = progress
        try:
            report = flow_module.dispatch_flow(
                directive, units=unit or None, dry_run=dry_run, resend=resend, signed=str(signed) if signed else None
            )
        except UnknownUnits as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(2) from None
        finally:
            flow_module.on_progress = None
    _print_dispatch(report, config)
    raise typer.Exit(report.exit_code)


def _print_dispatch(report, config: Config) -> None:  # type: ignore[no-untyped-def]
    names = {u.code: u.name for u in config.recipients.units}
    table = Table(title=f"{report.directive} — số {report.number}", title_justify="left")
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
def demo(
    keep: Annotated[bool, typer.Option(help="keep the previous demo data instead of starting afresh")] = False,
) -> None:
    """Play the whole cycle on the built-in defaults (the 2023 seed) and print where every output is."""
    base = Settings()
    home = (base.home / "demo").resolve()
    if home.exists() and not keep:
        shutil.rmtree(home)
    for var in ("FOLLOWUP_SMTP_URL", "FOLLOWUP_IMAP_URL", "FOLLOWUP_DATABASE_URL"):
        os.environ.pop(var, None)
    os.environ["FOLLOWUP_HOME"] = str(home)
    os.environ["FOLLOWUP_CONFIG"] = str(PROJECT_ROOT)
    os.environ.setdefault("FOLLOWUP_NOW", DEMO_NOW)
    settings = Settings()
    config = _config(settings)
    code = "2023-child-protection"
    console.rule(f"followup demo — {code}, as of {clock.now():%d/%m/%Y %H:%M}")
    from followup.dispatch import write_draft

    drafts = write_draft(config, config.directive(code), settings.home / "drafts" / code, clock.today())
    _prefect_env(settings)
    import flows.dispatch as flow_module

    with console.status("Dispatching the seed directive…"):
        report = flow_module.dispatch_flow(code)
    _print_dispatch(report, config)
    messages = sorted((settings.outbox / "new").glob("*"))
    console.rule("Where everything is")
    console.print(f"Letter (numbered):   {report.letter}", highlight=False)
    for path in drafts[1:]:
        console.print(f"Form for review:     {path}", highlight=False)
    console.print(f"Messages ({len(messages)}):       {settings.outbox} (a Maildir; open it with any mail client)")
    if messages:
        console.print(f"  e.g.               {messages[0]}", highlight=False)
    console.print(f"Database:            {settings.db_url}", highlight=False)
    raise typer.Exit(report.exit_code)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
