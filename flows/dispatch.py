"""Dispatch flow: the issued letter and each unit's forms reach every addressed unit, once."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows import _support
from followup import jobs
from followup.mail.sender import LoginRefused, ServerUnavailable
from followup.services.dispatch import DispatchReport
from followup.settings import Settings


@task(
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=_support.retry_if(ServerUnavailable, unless=(LoginRefused,)),
)
def send_queued(
    settings: Settings,
    directive_code: str,
    units: list[str] | None,
    resend: bool,
    signed: str | None,
    connect_retries: int | None = None,
    force: bool = False,
) -> DispatchReport:
    """Issue the letter if need be, queue a message per unit, send what is not sent yet."""
    return jobs.dispatch(
        _support.app(settings), directive_code, units, resend=resend, signed=signed, force=force,
        connect_retries=connect_retries,
    )  # fmt: skip


@flow(name="dispatch", log_prints=False)
def dispatch_flow(
    directive: str,
    units: list[str] | None = None,
    dry_run: bool = False,
    resend: bool = False,
    signed: str | None = None,
    attended: bool = False,
    force: bool = False,
) -> DispatchReport:
    """Send a directive to every addressed unit, exactly once (``force``: even when its deadline is over)."""
    settings = Settings()
    if dry_run:
        return jobs.dispatch(_support.app(settings), directive, units, dry_run=True)
    sending = send_queued.with_options(retries=0) if attended else send_queued
    report = sending(settings, directive, units, resend, signed, _support.connect_retries(attended), force)
    counts = report.counts()
    get_run_logger().info(
        "dispatch %s: %s sent, %s skipped, %s failed, %s waiting",
        directive, counts["sent"], counts["skipped"], counts["failed"], counts["waiting"],
    )  # fmt: skip
    create_table_artifact(
        key=f"dispatch-{directive}".lower().replace("_", "-"),
        table=[{"status": s, "units": n} for s, n in counts.items() if s != "planned"],
        description=f"Dispatch of {directive} ({report.number}): messages by status",
    )
    return report
