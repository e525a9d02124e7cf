"""A workbook's sheets as CSV files, for the clerk's other tools: read back from the xlsx the product wrote,
so the two formats never disagree.

A text that begins like a formula (``=``, ``+``, ``-``, ``@``) gets a leading apostrophe, the mark spreadsheet
applications read as "this is text", so opening the file never runs it. UTF-8 with a BOM: without it Excel
reads Vietnamese as Latin-1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook

from followup.documents.annex import RISKY


def csv_cell(value: object) -> str:
    """One value as the CSV holds it: dates as Vietnamese write them, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y}" if value.time() == dt.time() else f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, str):
        return "'" + value if value.startswith(RISKY) else value
    return str(value)


def csv_sheets(workbook: bytes) -> list[tuple[str, bytes]]:
    """Each sheet of ``workbook`` (xlsx bytes) as (its title, CSV bytes)."""
    wb = load_workbook(io.BytesIO(workbook), read_only=True, data_only=True)
    sheets = []
    try:
        for ws in wb.worksheets:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in ws.iter_rows(values_only=True):
                writer.writerow([csv_cell(value) for value in row])
            sheets.append((ws.title, buffer.getvalue().encode("utf-8-sig")))
    finally:
        wb.close()
    return sheets
