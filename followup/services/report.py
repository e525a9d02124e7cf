"""The district's report of a period: compiled from the latest accepted reply of every unit, numbered from the
register, written (docx, PDF, annex, chart, restricted list) and, on request, summarised to leadership.

``compile_report`` reads the store (one query for the replies, one for the states) and hands the pure
``domain.compilation`` what it needs; ``produce`` numbers the report once per period (a rerun reuses the
number and rewrites the files), writes the files under ``FOLLOWUP_HOME/reports/<directive>/<period>/`` and
sends the summaries through the one mail path. Children's names go only into the restricted file (0600) and
the data officers' message; leadership, logs and artifacts see counts and office names.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from followup.documents import annex as annex_doc
from followup.documents import report as report_doc
from followup.documents.libreoffice import pdf_timeout, to_pdf
from followup.domain.compilation import (
    NO_PREVIOUS,
    Compilation,
    Reply,
    UnitInfo,
    compile_period,
    previous_period,
    vn_change,
    vn_number,
    vn_percent,
)
from followup.domain.config import Config, Directive, Requirement
from followup.domain.periods import Period, due_for, dues
from followup.domain.states import Delivery, MessageKind, MessageStatus
from followup.i18n import _
from followup.mail.compose import Attachment, Inline, Outgoing
from followup.mail.sender import Sender
from followup.mail.templates import Figure, ReportingLine, SummaryMail
from followup.services import outgoing
from followup.services.outgoing import Outcome
from followup.services.status import directive_status
from followup.storage.models import ChildRecord, OutgoingMessage, ReportRow
from followup.storage.uow import UnitOfWork

PURPOSE = "report"  # the register's word for a compiled report
CHART_CID = "chart"


def report_requirement(directive: Directive, period: Period) -> Requirement:
    """The requirement whose indicators a period's report totals: the H1 report for 2023-H1, the year's for 2023."""
    kind = "H1" if period.half == 1 else "year"
    for requirement in directive.requirements:
        if requirement.indicators and requirement.period == kind:
            return requirement
    raise ValueError(
        _("{directive} asks for no report with indicators for a period like {period}").format(
            directive=directive.code, period=period
        )
    )


def list_requirement(config: Config, directive: Directive, period: Period) -> Requirement | None:
    """The list counted for the report's year (the directive's ``report.children``), if it has that year."""
    code = directive.report.children if directive.report else None
    if code is None:
        return None
    requirement = directive.requirement(code)
    try:
        due_for(directive, requirement, Period(period.year), config.tz)
    except ValueError:
        return None
    return requirement


def default_period(config: Config, directive: Directive, as_of: dt.datetime) -> Period:
    """The latest report period whose deadline has passed by ``as_of`` (what a scheduled run compiles)."""
    passed = [
        due
        for requirement in directive.requirements
        if requirement.indicators
        for due in dues(directive, requirement, as_of.date(), config.tz)
        if due.cutoff <= as_of
    ]
    if not passed:
        raise ValueError(
            _("no report period of {directive} has passed its deadline by {day}; give --period").format(
                directive=directive.code, day=f"{as_of:%d/%m/%Y}"
            )
        )
    return max(passed, key=lambda due: due.cutoff).period


def _units(config: Config, requirement: Requirement) -> list[UnitInfo]:
    return [UnitInfo(u.code, u.name) for u in config.recipients.units_in(requirement.from_groups)]


def compile_report(
    uow: UnitOfWork, config: Config, directive: Directive, period: Period, as_of: dt.datetime
) -> Compilation:
    """The compilation of a period from what the store holds as of ``as_of``."""
    requirement = report_requirement(directive, period)
    listing = list_requirement(config, directive, period)
    before = previous_period(period)
    slots = {(requirement.code, str(period)), (requirement.code, str(before))}
    if listing is not None:
        slots.add((listing.code, str(period.year)))
    grouped: dict[tuple[str, str], list[Reply]] = {}
    for req, per, unit, received, summary, content in uow.repo.accepted_replies(directive.code, slots):
        grouped.setdefault((req, per), []).append(Reply(unit, received, summary, content))
    [status] = directive_status(uow, config, directive, as_of, requirement.code, str(period))
    list_status = None
    private: list[str] = []
    if listing is not None:
        [list_status] = directive_status(uow, config, directive, as_of, listing.code, str(period.year))
        children = uow.repo.accepted_children(directive.code, listing.code, str(period.year), ChildRecord.name)
        private = [name for _, name in children]
    previous = grouped.get((requirement.code, str(before)))
    listed = [r for r in grouped.get((listing.code, str(period.year)), []) if r.received_at <= as_of] if listing else []
    return compile_period(
        directive, period, requirement, _units(config, requirement),
        [r for r in grouped.get((requirement.code, str(period)), []) if r.received_at <= as_of], status,
        as_of=as_of, list_requirement=listing,
        lists=listed,
        list_status=list_status, list_units=_units(config, listing) if listing else [],
        previous=previous or None, private_names=private,
    )  # fmt: skip


@dataclass
class ReportResult:
    directive: str
    period: str
    number: str  # "3/BC-UBND"
    title: str
    compilation: Compilation
    paths: dict[str, Path]
    outcomes: list[Outcome] = field(default_factory=list)
    where: str = ""
    warnings: list[str] = field(default_factory=list)  # for the clerk: what was not made, and what to do

    def count(self, status: Delivery) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Delivery}

    @property
    def exit_code(self) -> int:
        return 1 if self.count(Delivery.FAILED) else 0


def folder_of(home: Path, directive: str, period: str) -> Path:
    return home / "reports" / directive / period


def produce(
    uow: UnitOfWork,
    config: Config,
    directive: Directive,
    period: str | None,
    home: Path,
    as_of: dt.datetime,
    *,
    send: bool = False,
    sender: Sender | None = None,
    pdf: bool = True,
    progress: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> ReportResult:
    """Compile, number (once per period), write the files and, with ``send``, mail the summaries."""
    if directive.report is None:
        raise ValueError(
            _("{directive} has no report: section (symbol, addressee) in its YAML").format(directive=directive.code)
        )
    uow.repo.sync_config(config, uow.now())
    chosen = Period.parse(period) if period else default_period(config, directive, as_of)
    compilation = compile_report(uow, config, directive, chosen, as_of)
    day = as_of.astimezone(config.tz).date()
    row = _numbered(uow, directive, str(chosen), as_of, day)
    label = row.number.label
    title = report_doc.report_title(directive, compilation)

    folder = folder_of(home, directive.code, str(chosen))
    folder.mkdir(parents=True, exist_ok=True)
    safe = label.replace("/", "-")
    issued = uow.repo.dispatch_of(directive.code)
    letter = report_doc.Issued(issued.number.label, issued.issued_on) if issued else None
    context = report_doc.report_context(compilation, directive, config.recipients, row.number.number, day, letter)
    paths: dict[str, Path] = {"report": folder / f"Báo cáo số {safe} - {chosen}.docx"}
    paths["report"].write_bytes(report_doc.render_report(config.root / "templates" / "report.docx", context))
    (folder / f"{paths['report'].stem}.pdf").unlink(missing_ok=True)  # an earlier run's PDF is not this report
    with ThreadPoolExecutor(max_workers=1) as pool:  # LibreOffice converts while the other files are made
        converting = pool.submit(to_pdf, paths["report"], folder, pdf_timeout(paths["report"])) if pdf else None
        paths["annex"] = folder / f"Phụ lục số liệu - Báo cáo số {safe}.xlsx"
        paths["annex"].write_bytes(annex_doc.annex_workbook(compilation))
        from followup.documents.chart import chart_png  # matplotlib only when a report is made

        paths["chart"] = folder / f"Biểu đồ - Báo cáo số {safe}.png"
        paths["chart"].write_bytes(chart_png(compilation, title))
        if directive.report.children and compilation.children is not None:
            paths["restricted"] = annex_doc.write_private(
                folder / "restricted" / f"Danh sách trẻ em (hạn chế) - {chosen}.xlsx",
                annex_doc.restricted_workbook(child_rows(uow, config, directive, chosen)),
            )
        result = ReportResult(directive.code, str(chosen), label, title, compilation, paths)
        try:  # a slow or failed PDF costs neither the other files nor the summaries
            made = converting.result() if converting else None
        except RuntimeError as exc:
            made = None
            result.warnings.append(
                _("No PDF: {reason}. The report is the .docx; open it in LibreOffice or Word to export a PDF.").format(
                    reason=exc
                )
            )
    if made is not None:
        paths["pdf"] = made
    row.paths = {key: str(path) for key, path in paths.items()}
    row.issued_on, row.compiled_at = day, uow.now()
    uow.commit()

    if send:
        assert sender is not None, "sending needs a sender"
        queue = _record_summaries(uow, config, directive, str(chosen), label, title)
        uow.commit()
        build = _Summaries(config, compilation, result, as_of).build
        result.outcomes = outgoing.deliver(uow, sender, queue, build, progress, stop)
        result.where = sender.where
    return result


def _numbered(uow: UnitOfWork, directive: Directive, period: str, as_of: dt.datetime, day: dt.date) -> ReportRow:
    """The period's report row: its number taken from the register the first time, kept on every rerun."""
    assert directive.report is not None
    row = uow.repo.report_of(directive.code, period)
    if row is not None:
        return row
    number = uow.repo.issue_number(
        year=day.year, symbol=directive.report.symbol, directive_code=directive.code, purpose=PURPOSE, at=as_of
    )
    row = ReportRow(directive_code=directive.code, period=period, number_id=number.id, issued_on=day, paths={},
                    created_at=uow.now(), compiled_at=uow.now())  # fmt: skip
    if not uow.repo.add_unique(row):  # another run numbered it this very moment: use its number
        uow.rollback()
        existing = uow.repo.report_of(directive.code, period)
        assert existing is not None
        return existing
    uow.session.refresh(row)  # its number
    return row


def child_rows(uow: UnitOfWork, config: Config, directive: Directive, period: Period) -> Iterator[list[object]]:
    """The rows of the restricted list, streamed: every child of the accepted lists, with the commune's name."""
    assert directive.report is not None and directive.report.children is not None
    names = {u.code: u.name for u in config.recipients.units}
    c = ChildRecord
    children = uow.repo.accepted_children(
        directive.code, directive.report.children, str(period.year),
        c.name, c.birth_date, c.sex, c.ethnicity, c.village, c.carer, c.groups, c.difficult, c.support, c.note,
    )  # fmt: skip
    return (
        [n, names.get(unit, unit), name, born, sex or "", ethnicity or "", village or "", carer or "",
         ", ".join(groups), "Có" if difficult else "", support or "", note or ""]
        for n, (unit, name, born, sex, ethnicity, village, carer, groups, difficult, support, note) in enumerate(
            children, 1
        )
    )  # fmt: skip


def _record_summaries(
    uow: UnitOfWork, config: Config, directive: Directive, period: str, label: str, title: str
) -> list[OutgoingMessage]:
    """The leadership's and the data officers' messages of a period, recorded once; those not yet sent."""
    recipients = config.recipients
    audiences = [
        ("leadership", [leader.email for leader in recipients.leadership]),
        ("officers", [officer.email for officer in recipients.data_officers]),
    ]
    queue = []
    for audience, emails in audiences:
        if not emails:
            continue
        message = outgoing.record(
            uow, config, MessageKind.SUMMARY, f"{directive.code}.{period}.{audience}", recipients=emails,
            subject=f"Báo cáo số {label}: {title}", unit_code=None, directive_code=directive.code,
        )  # fmt: skip
        if message.status != MessageStatus.SENT:
            queue.append(message)
    return queue


class _Summaries:
    """The summary messages of one report, composed from this run's compilation and files."""

    def __init__(self, config: Config, c: Compilation, result: ReportResult, as_of: dt.datetime):
        self.config, self.c, self.result, self.as_of = config, c, result, as_of

    def build(self, message: OutgoingMessage) -> Outgoing:
        officers = ".officers." in message.message_id  # the key is <directive>.<period>.<audience>
        paths = self.result.paths
        # Leadership receive the report; the data officers also the annex and the restricted list of children.
        keys = ["report", "pdf"] + (["annex", "restricted"] if officers else [])
        attachments = [Attachment(paths[k].name, paths[k].read_bytes()) for k in keys if k in paths]
        c, office = self.c, self.config.recipients.office
        figures = [
            Figure(label=i.label, value=f"{vn_number(i.total)} {i.unit}", change=vn_change(i.change), partial=i.partial)
            for i in c.indicators
        ]
        children = ""
        if c.children is not None:
            rows, special, difficult = c.children_total
            children = (
                f"Danh sách trẻ em: {vn_number(rows)} trẻ em, trong đó {vn_number(special)} trẻ em có hoàn cảnh đặc "
                f"biệt, {vn_number(difficult)} trẻ em có hoàn cảnh khó khăn."
            )
        reporting = [
            ReportingLine(
                title=k.title,
                period=k.period,
                expected=k.expected,
                accepted=k.accepted,
                on_time=k.on_time,
                rate=vn_percent(k.reporting_rate),
                on_time_rate=vn_percent(k.on_time_rate),
                late_units=list(k.late_units),
                missing_units=list(k.missing_units),
            )  # fmt: skip
            for k in c.completeness
        ]
        context = SummaryMail(
            office_name=office.short_name, office_department=office.department, title=self.result.title,
            number=self.result.number, as_of=f"{self.as_of.astimezone(self.config.tz):%d/%m/%Y}", partial=c.partial,
            figures=figures, children=children, comparison="" if c.has_previous else NO_PREVIOUS,
            reporting=reporting, chart_cid=CHART_CID, attachments=[a.filename for a in attachments],
            for_officers=officers,
        )  # fmt: skip
        chart = Inline(CHART_CID, paths["chart"].name, paths["chart"].read_bytes())
        return outgoing.outgoing(self.config, message, context, attachments, inline=[chart])


def without_narratives(result: ReportResult) -> ReportResult:
    """The result as a flow hands it on: counts, names of offices and paths; no unit's free text."""
    return replace(result, compilation=replace(result.compilation, narratives={}))
