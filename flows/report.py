"""Report flow: the district's report of a period, compiled, numbered, written and (on request) summarised."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows import _support
from followup import jobs
from followup.domain.compilation import summary_markdown
from followup.mail.sender import LoginRefused, ServerUnavailable
from followup.services.report import ReportResult
from followup.settings import Settings


@task(
    retries=2,
    retry_delay_seconds=60,
    retry_condition_fn=_support.retry_if(ServerUnavailable, unless=(LoginRefused,)),
)
def compile_and_send(
    settings: Settings, directive: str, period: str | None, send: bool, connect_retries: int | None = None
) -> ReportResult:
    """Compile the period (default: the latest whose deadline has passed), write the files, send the summaries."""
    return jobs.report_one(_support.app(settings), directive, period, send, connect_retries)


@flow(name="report")
def report_flow(
    directive: str | None = None, period: str | None = None, send: bool = False, attended: bool = False
) -> list[ReportResult]:
    """The report of a period for one directive (or, on a schedule, every directive that has a report)."""
    settings = Settings()
    running = compile_and_send.with_options(retries=0) if attended else compile_and_send
    results = []
    for code in jobs.reported(_support.app(settings).config, directive):
        result = running(settings, code, period, send, _support.connect_retries(attended))
        c = result.compilation
        get_run_logger().info(
            "report %s %s: số %s, %s/%s units accepted, partial=%s, %s summaries sent, %s failed",
            code, result.period, result.number, c.report.accepted, c.report.expected, c.partial,
            result.count("sent"), result.count("failed"),
        )  # fmt: skip
        for warning in result.warnings:  # counts and file names only
            get_run_logger().warning("report %s %s: %s", code, result.period, warning)
        create_markdown_artifact(
            key=f"report-{code}-{result.period}".lower(),
            markdown=summary_markdown(c, f"Báo cáo số {result.number}: {result.title}"),
            description="The compiled report: counts only",
        )
        results.append(result)
    return results
