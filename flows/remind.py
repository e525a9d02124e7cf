"""Remind flow: units that still owe a reply hear of it; late requirements get their letter; leadership hears."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows import _support
from followup import jobs
from followup.mail.sender import LoginRefused, ServerUnavailable
from followup.services.remind import RemindReport
from followup.settings import Settings


@task(
    retries=2,
    retry_delay_seconds=60,
    retry_condition_fn=_support.retry_if(ServerUnavailable, unless=(LoginRefused,)),
)
def send_reminders(
    settings: Settings, as_of: str | None, dry_run: bool, connect_retries: int | None = None
) -> RemindReport:
    """Decide who owes what today, record it, send it; a rerun of the day sends nothing more."""
    return jobs.remind(_support.app(settings), as_of, dry_run, connect_retries)


@flow(name="remind")
def remind_flow(as_of: str | None = None, dry_run: bool = False, attended: bool = False) -> RemindReport:
    """Remind the units that still owe a reply (working days only; one message per unit per day)."""
    settings = Settings()
    sending = send_reminders.with_options(retries=0) if attended else send_reminders
    report = sending(settings, as_of, dry_run, _support.connect_retries(attended))
    counts = report.counts()
    plan = report.plan
    get_run_logger().info(
        "remind %s: %s units owe something, %s sent, %s failed, %s letters, %s escalations",
        report.day, len(plan.owed), counts["sent"], counts["failed"], len(plan.letters), len(plan.escalations),
    )  # fmt: skip
    create_table_artifact(
        key="reminders",
        table=[{"status": s, "messages": n} for s, n in counts.items() if n],
        description=f"Reminders of {report.day:%d/%m/%Y}: messages by status (counts only)",
    )
    return report
