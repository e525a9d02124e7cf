"""The district's compiled report as a document: a BÁO CÁO in the Decree 30 layout of the letter.

The context of templates/report.docx is made here from a ``Compilation``; the layout (header, signer, Nơi
nhận) is the letter's, built by scripts/build_templates.py, and the helpers of ``letter`` print the dates,
the office's name and the lists. Numbers are written as Vietnamese write them (1.234.567).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Length, Mm

from followup.documents.letter import (
    Segment,
    list_lines,
    office_lines,
    parse_emphasis,
    render_document,
    rich_text,
    vn_date_parts,
)
from followup.domain.compilation import Attributed, Compilation, next_period_label, vn_change, vn_number, vn_percent
from followup.domain.config import Directive, Recipients
from followup.domain.special_groups import SPECIAL_GROUPS

KIND_TITLE = "BÁO CÁO"
PARTIAL_MARK = "(*)"


@dataclass(frozen=True)
class Issued:
    """The letter the report answers (its number and date), when it was issued through the product."""

    label: str  # "1/UBND-LĐTBXH"
    issued_on: dt.date


def report_title(directive: Directive, c: Compilation) -> str:
    """The summary under BÁO CÁO, e.g. "Kết quả thực hiện công tác bảo vệ, chăm sóc trẻ em 6 tháng đầu năm 2023"."""
    assert directive.report is not None
    return directive.report.title.format(
        period=c.period.label_vi, next_period=next_period_label(c.period), subject=directive.subject
    )


def _words(directive: Directive, c: Compilation, letter: Issued | None) -> dict[str, str]:
    return {
        "period": c.period.label_vi,
        "next_period": next_period_label(c.period),
        "kind": directive.kind,
        "number": letter.label if letter else f"/{directive.symbol}",
        "issued_on": f"{letter.issued_on:%d/%m/%Y}" if letter else "…",
        "subject": directive.subject,
    }


def _attributed(items: list[Attributed]) -> list[Any]:
    """Each unit's text, its name in bold first; a text of several lines continues in its own paragraphs."""
    if not items:
        return [rich_text([Segment("Không có nội dung.")])]
    out = []
    for item in items:
        lines = [line.strip() for line in item.text.splitlines() if line.strip()]
        out.append(rich_text([Segment(f"- {item.unit}: ", bold=True), Segment(lines[0])]))
        out.extend(rich_text([Segment(line)]) for line in lines[1:])
    return out


def _partial_words(expected: int, got: int) -> str:
    return f"{PARTIAL_MARK} chưa đầy đủ: {got}/{expected} đơn vị"


def report_context(
    c: Compilation,
    directive: Directive,
    recipients: Recipients,
    number: int | None,
    issued_on: dt.date,
    letter: Issued | None,
) -> dict[str, Any]:
    """Everything templates/report.docx prints, ready to print."""
    settings = directive.report
    assert settings is not None, "the directive has no report: section"
    office = recipients.office
    day, month, year = vn_date_parts(issued_on)
    words = _words(directive, c, letter)
    report = c.report
    partial_note = ""
    if c.partial:
        partial_note = (
            f"Đến ngày {c.as_of:%d/%m/%Y}, còn {len(report.missing_units)}/{report.expected} cơ quan, đơn vị chưa "
            f"gửi báo cáo đạt yêu cầu (danh sách tại Phụ lục); các số liệu đánh dấu {PARTIAL_MARK} là số liệu "
            "chưa đầy đủ."
        )

    def figure(i: Any) -> str:
        mark = f" {_partial_words(i.expected, i.reported)}" if i.partial else ""
        return f"{i.label}: {vn_number(i.total)} {i.unit}{mark}; {vn_change(i.change)}."

    tasks = []
    names = settings.tasks or [f"Nhiệm vụ {n}" for n in range(1, len(directive.items) + 1)]
    list_item = directive.requirement(settings.children).item if settings.children else None
    for n, name in enumerate(names, 1):
        lines = [figure(i) for i in c.indicators if i.item == n]
        if n == list_item and c.children is not None and c.list_completeness is not None:
            rows, special, difficult = c.children_total
            lc = c.list_completeness
            mark = f" {_partial_words(lc.expected, lc.accepted)}" if not lc.complete else ""
            lines.append(
                f"Danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc biệt: {lc.accepted}/{lc.expected} xã, thị trấn "
                f"đã gửi, gồm {vn_number(rows)} trẻ em, trong đó {vn_number(special)} trẻ em có hoàn cảnh đặc biệt, "
                f"{vn_number(difficult)} trẻ em có hoàn cảnh khó khăn{mark} (Biểu 3, Biểu 4)."
            )
        if not lines:
            lines = ["Các cơ quan, đơn vị đã triển khai thực hiện; kết quả cụ thể tại mục 3 dưới đây."]
        tasks.append({"heading": f"1.{n}. {name}", "lines": lines})

    totals_rows = [
        {
            "no": str(n),
            "label": i.label,
            "unit": i.unit,
            "total": vn_number(i.total) + (f" {PARTIAL_MARK}" if i.partial else ""),
            "reported": f"{i.reported}/{i.expected}",
            "change": vn_change(i.change) if i.change is not None else "—",
        }  # fmt: skip
        for n, i in enumerate(c.indicators, 1)
    ]
    totals_notes = [
        f"{PARTIAL_MARK} Số liệu chưa đầy đủ: chưa có báo cáo của tất cả các cơ quan, đơn vị."
        if any(i.partial for i in c.indicators)
        else "Số liệu đã đủ báo cáo của tất cả các cơ quan, đơn vị.",
        "So với cùng kỳ: " + ("theo báo cáo cùng kỳ năm trước." if c.has_previous else "chưa có số liệu cùng kỳ."),
    ]
    codes = [i.code for i in c.indicators]
    unit_rows = [
        {"no": str(n), "name": u.name, "cells": [vn_number(u.values.get(code)) for code in codes]}
        for n, u in enumerate(c.units, 1)
    ]
    unit_rows.append({"no": "", "name": "Tổng cộng", "cells": [vn_number(i.total) for i in c.indicators]})
    unit_notes = [
        "Cột (" + "), (".join(str(n) for n in range(1, len(codes) + 1)) + "): các chỉ tiêu theo số thứ tự tại Biểu 1; "
        "“—”: chưa có báo cáo được tiếp nhận hoặc không ghi số liệu."
    ]

    context: dict[str, Any] = {
        "office_lines": office_lines(office.name),
        "number": "" if number is None else str(number),
        "symbol": settings.symbol,
        "subject_lines": [],
        "place": office.place,
        "day": day,
        "month": month,
        "year": year,
        "kind_title": KIND_TITLE,
        "title_lines": [report_title(directive, c)],
        "addressee_lines": list_lines([settings.addressee], dash=False),
        "opening": rich_text(parse_emphasis(settings.opening.format(**words))),
        "partial_note": partial_note,
        "tasks": tasks,
        "period_label": c.period.label_vi,
        "totals_rows": totals_rows,
        "totals_notes": totals_notes,
        "unit_columns": [f"({n})" for n in range(1, len(codes) + 1)],
        "unit_rows": unit_rows,
        "unit_notes": unit_notes,
        "children": c.children is not None,
        "group_rows": [],
        "commune_rows": [],
        "children_notes": [],
        "results": _attributed(c.narratives.get("ket_qua", [])),
        "achieved": _achieved(c),
        "difficulties": _attributed(c.narratives.get("kho_khan", [])),
        "next_heading": f"III. PHƯƠNG HƯỚNG, NHIỆM VỤ {next_period_label(c.period).upper()}",
        "next_steps": [line.format(**words) for line in settings.next_steps]
        or ["Tiếp tục thực hiện các nội dung của Công văn."],
        "proposals": _attributed(c.narratives.get("de_xuat", [])),
        "distribution_heading": "",
        "distribution_lines": list_lines(settings.distribution),
        "signer_authority": list(directive.signer.authority),
        "signer_name": directive.signer.name,
        "annex_subtitle": (
            f"(Kèm theo Báo cáo số {number or ''}/{settings.symbol}; số liệu tính đến ngày {c.as_of:%d/%m/%Y})"
        ),
        "completeness_rows": [
            {
                "label": f"{k.title} ({k.period})",
                "due": f"{k.due_date:%d/%m/%Y}",
                "expected": str(k.expected),
                "accepted": str(k.accepted),
                "on_time": str(k.on_time),
                "late": str(k.late),
                "missing": str(len(k.missing_units)),
                "rate": vn_percent(k.reporting_rate),
                "on_time_rate": vn_percent(k.on_time_rate),
            }  # fmt: skip
            for k in c.completeness
        ],
        "unit_lists": [
            block
            for k in c.completeness
            for block in (
                {
                    "heading": f"{k.title} ({k.period}) — đơn vị gửi trễ hạn ({len(k.late_units)}):",
                    "text": _names(k.late_units),
                },
                {
                    "heading": f"{k.title} ({k.period}) — đơn vị chưa gửi hoặc gửi chưa đạt ({len(k.missing_units)}):",
                    "text": _names(k.missing_units),
                },
            )  # fmt: skip
        ],
    }
    if c.children is not None:
        lc = c.list_completeness
        context["group_rows"] = [
            {"no": f"{g})", "label": SPECIAL_GROUPS[g], "count": vn_number(n)} for g, n in c.by_group.items()
        ] + [{"no": "", "label": "Tổng số lượt trẻ em theo nhóm", "count": vn_number(sum(c.by_group.values()))}]
        rows, special, difficult = c.children_total
        context["commune_rows"] = [
            {
                "no": str(n), "name": k.name,
                "rows": vn_number(k.rows) if k.listed else "—", "special": vn_number(k.special) if k.listed else "—",
                "difficult": vn_number(k.difficult) if k.listed else "—",
            }  # fmt: skip
            for n, k in enumerate(c.children, 1)
        ] + [{"no": "", "name": "Tổng cộng", "rows": vn_number(rows), "special": vn_number(special),
              "difficult": vn_number(difficult)}]  # fmt: skip
        notes = ["Một trẻ em có thể thuộc nhiều nhóm; “—”: xã, thị trấn chưa gửi danh sách đạt yêu cầu."]
        if lc is not None and not lc.complete:
            notes.insert(
                0, f"{PARTIAL_MARK} Số liệu chưa đầy đủ: {lc.accepted}/{lc.expected} xã, thị trấn đã gửi danh sách."
            )
        context["children_notes"] = notes
    return context


def _names(names: tuple[str, ...]) -> str:
    return "; ".join(names) + "." if names else "Không có."


def _achieved(c: Compilation) -> list[str]:
    k = c.report
    lines = [
        f"{k.accepted}/{k.expected} cơ quan, đơn vị đã gửi báo cáo ({vn_percent(k.reporting_rate)}), trong đó "
        f"{k.on_time} đơn vị gửi đúng hạn ({vn_percent(k.on_time_rate)}), {k.late} đơn vị gửi trễ hạn."
    ]
    if c.list_completeness is not None:
        lc = c.list_completeness
        lines.append(
            f"{lc.accepted}/{lc.expected} xã, thị trấn đã gửi danh sách trẻ em có hoàn cảnh khó khăn, hoàn cảnh đặc "
            f"biệt ({vn_percent(lc.reporting_rate)}), {lc.on_time} đúng hạn."
        )
    if c.partial:
        lines.append(f"Còn {len(k.missing_units)} cơ quan, đơn vị chưa gửi báo cáo đạt yêu cầu (Phụ lục).")
    return lines


TEXT_WIDTH = Mm(165)  # A4 less the margins of the template


def render_report(template: Path, context: dict[str, Any]) -> bytes:
    """The report as .docx bytes (the letter's renderer: autoescape on), its per-unit table fitted to the page."""
    document = render_document(template, context)
    for tbl in document.element.body.iterchildren(qn("w:tbl")):
        if _texts(tbl.tr_lst[0])[:2] == ["STT", "Cơ quan, đơn vị"]:
            _fit(tbl, fixed=[Mm(11), Mm(42)])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _texts(tr: Any) -> list[str]:
    """The text of each cell of a row (read from the XML: python-docx's ``row.cells`` walks the whole grid)."""
    return ["".join(tc.itertext(qn("w:t"))) for tc in tr.tc_lst]


def _fit(tbl: Any, fixed: list[Length]) -> None:
    """Columns after the fixed ones share the rest of the text width by the length of their longest cell
    (the column loop of the template leaves them all as wide as one). The widths go into the table's grid
    (its layout is fixed) and the few cells that name one; the repeated rows' cells name none."""
    longest = [4] * (len(tbl.tblGrid.gridCol_lst) - len(fixed))
    for tr in tbl.tr_lst:
        for i, text in enumerate(_texts(tr)[len(fixed) :]):
            longest[i] = max(longest[i], len(text))
    rest = TEXT_WIDTH - sum(fixed)
    widths = [*fixed, *(Length(int(rest * n / sum(longest))) for n in longest)]
    for column, width in zip(tbl.tblGrid.gridCol_lst, widths, strict=True):
        column.w = width
    tbl.tblPr.find(qn("w:tblW")).set(qn("w:w"), str(sum(width.twips for width in widths)))
    for tr in tbl.tr_lst:
        for tc, width in zip(tr.tc_lst, widths, strict=True):
            if tc.tcPr is not None and tc.tcPr.tcW is not None:
                tc.width = width
