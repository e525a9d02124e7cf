"""The annex workbook of the compiled report (counts only) and the restricted list of children (names).

Every text cell is written as text: a unit's name or a note that begins with ``=``, ``+``, ``-`` or ``@`` would
otherwise be read as a formula by the spreadsheet that opens the file (CSV/formula injection). The restricted
file is written with mode 0600 in a folder of mode 0700, for the data officers only.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.worksheet import Worksheet

from followup.domain.compilation import Compilation
from followup.domain.special_groups import SPECIAL_GROUPS

RISKY = ("=", "+", "-", "@", "\t", "\r")
STATE_WORDS = {"on_time": "Đúng hạn", "late": "Trễ hạn", "rejected": "Chưa đạt, chờ sửa", "pending": "Chờ xem xét",
               "missing": "Chưa gửi"}  # fmt: skip
CHILD_COLUMNS = ("STT", "Xã, thị trấn", "Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Thôn, bản, tổ dân phố",
                 "Người chăm sóc", "Nhóm hoàn cảnh đặc biệt", "Hoàn cảnh khó khăn", "Hỗ trợ", "Ghi chú")  # fmt: skip


def put(ws: Worksheet, row: int, column: int, value: Any, bold: bool = False) -> None:
    """One cell; text is always stored as text (``data_type="s"``, quote prefix), never as a formula."""
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(RISKY):
            cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)


def _sheet(ws: Worksheet, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    ws.title = title
    for col, header in enumerate(headers, 1):
        put(ws, 1, col, header, bold=True)
        ws.cell(row=1, column=col).alignment = Alignment(wrap_text=True, vertical="center")
    for r, values in enumerate(rows, 2):
        for col, value in enumerate(values, 1):
            put(ws, r, col, value)
    ws.freeze_panes = "A2"
    for col, header in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(col)].width = max(10, min(45, len(header) + 2))


def _bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def annex_workbook(c: Compilation) -> bytes:
    """Indicators per unit; children per commune and group; completeness, with late and missing offices."""
    wb = Workbook()
    codes = [i.code for i in c.indicators]
    headers = ["STT", "Mã đơn vị", "Cơ quan, đơn vị", "Tình trạng", *(f"{i.label} ({i.unit})" for i in c.indicators)]
    rows: list[list[Any]] = [
        [n, u.code, u.name, STATE_WORDS.get(u.state, str(u.state)), *(u.values.get(code) for code in codes)]
        for n, u in enumerate(c.units, 1)
    ]
    rows.append(["", "", "Tổng cộng", "", *(i.total for i in c.indicators)])
    rows.append(["", "", "Số đơn vị báo cáo", "", *(i.reported for i in c.indicators)])
    _sheet(wb.active, "Chỉ tiêu theo đơn vị", headers, rows)

    if c.children is not None:
        letters = list(SPECIAL_GROUPS)
        headers = ["STT", "Mã", "Xã, thị trấn", "Đã gửi danh sách", "Tổng số trẻ em", "Hoàn cảnh đặc biệt",
                   "Hoàn cảnh khó khăn", *(f"{g}) {SPECIAL_GROUPS[g]}" for g in letters)]  # fmt: skip
        rows = [
            [
                n,
                k.code,
                k.name,
                "Có" if k.listed else "Chưa",
                k.rows,
                k.special,
                k.difficult,
                *(k.by_group.get(g, 0) for g in letters),
            ]  # fmt: skip
            for n, k in enumerate(c.children, 1)
        ]
        total, special, difficult = c.children_total
        rows.append(["", "", "Tổng cộng", "", total, special, difficult, *(c.by_group[g] for g in letters)])
        _sheet(wb.create_sheet(), "Trẻ em theo xã và nhóm", headers, rows)

    headers = ["Yêu cầu", "Kỳ", "Hạn", "Dự kiến", "Đã nhận", "Đúng hạn", "Trễ hạn", "Chưa đạt", "Chờ xem xét",
               "Chưa gửi", "Tỷ lệ", "Tỷ lệ đúng hạn", "Đơn vị trễ hạn", "Đơn vị chưa gửi hoặc chưa đạt"]  # fmt: skip
    rows = [
        [k.title, k.period, k.due_date, k.expected, k.accepted, k.on_time, k.late, k.rejected, k.pending, k.missing,
         round(k.reporting_rate, 4), round(k.on_time_rate, 4), "; ".join(k.late_units), "; ".join(k.missing_units)]
        for k in c.completeness
    ]  # fmt: skip
    ws = wb.create_sheet()
    _sheet(ws, "Tình hình gửi báo cáo", headers, rows)
    for r in range(2, len(rows) + 2):
        ws.cell(row=r, column=3).number_format = "DD/MM/YYYY"
        for col in (11, 12):
            ws.cell(row=r, column=col).number_format = "0.0%"
    return _bytes(wb)


def restricted_workbook(rows: Iterable[Sequence[Any]]) -> bytes:
    """The compiled list of children, with their names: rows in the order of ``CHILD_COLUMNS`` (from STT on).

    openpyxl makes the workbook (its parts, styles, header, frozen row, widths); the rows, 200,000 children
    at a district's scale, are then written into its sheet as they stream from the store: openpyxl spends some
    12 µs a cell (34 s for 2.3 million), this 1 µs, in constant memory. The cells are the ones ``put``
    writes: text as text (never a formula; a leading ``= + - @`` behind the quote prefix), dates DD/MM/YYYY."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách trẻ em")
    ws.freeze_panes = "A2"
    for col, header in enumerate(CHILD_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(col)].width = max(10, min(45, len(header) + 2))
    head = []
    for header in CHILD_COLUMNS:
        cell = WriteOnlyCell(ws, header)
        cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="center")
        head.append(cell)
    ws.append(head)
    date, risky = WriteOnlyCell(ws, dt.date(2000, 1, 1)), WriteOnlyCell(ws, "=")
    date.number_format = "DD/MM/YYYY"
    risky.data_type, risky.quotePrefix = "s", True
    ws.append([date, risky])  # the two styles the rows use, as openpyxl numbers them; replaced by the rows
    return _with_rows(_bytes(wb), rows)


_SAMPLE_ROW = re.compile(r'<row r="2"[^>]*>.*?</row>', re.S)
_STYLE = re.compile(r'<c [^>]*?s="(\d+)"')


def _with_rows(package: bytes, rows: Iterable[Sequence[Any]]) -> bytes:
    """The package with the sample row of its one sheet replaced by ``rows`` (from row 2 on)."""
    sheet = "xl/worksheets/sheet1.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        xml = src.read(sheet).decode("utf-8")
        sample = _SAMPLE_ROW.search(xml)
        assert sample is not None, "openpyxl wrote no sample row"
        date_style, text_style = _STYLE.findall(sample.group())
        before = re.sub(r"<dimension [^>]*/>", "", xml[: sample.start()])  # optional; the sample's is wrong
        for info in src.infolist():
            if info.filename != sheet:
                dst.writestr(info, src.read(info))
        with dst.open(sheet, "w") as writer:
            writer.write(before.encode("utf-8"))
            for n, values in enumerate(rows, 2):
                cells = "".join(_cell(f"{_column(i)}{n}", v, date_style, text_style) for i, v in enumerate(values))
                writer.write(f'<row r="{n}">{cells}</row>'.encode())
            writer.write(xml[sample.end() :].encode("utf-8"))
    return out.getvalue()


@cache
def _column(index: int) -> str:
    return get_column_letter(index + 1)


def _cell(ref: str, value: Any, date_style: str, text_style: str) -> str:
    """One cell's XML, as openpyxl would store the value with ``put``'s rules."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = escape(ILLEGAL_CHARACTERS_RE.sub("", value))
        style = f' s="{text_style}"' if value.startswith(RISKY) else ""
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{date_style}"><v>{to_excel(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return _cell(ref, str(value), date_style, text_style)


def write_private(path: Path, data: bytes) -> Path:
    """Write a file only its owner may read (0600) in a folder only its owner may open (0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path
