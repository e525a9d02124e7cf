"""Cell values and tables of hand-filled workbooks and Word documents, shared by every kind of form.

Lenient about form (composed or decomposed text, numbers and dates typed many ways, merged cells,
formulas without a saved value); a value that cannot be used raises ``BadValue`` with a Vietnamese
explanation that never quotes the value.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from followup.forms.identity import UnreadableForm

# --------------------------------------------------------------------------- text helpers


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def clean(value: Any) -> str:
    """Cell text as a person means it: composed, single-spaced, no invisible characters."""
    if value is None:
        return ""
    text = _nfc(str(value)).replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip()


def title_key(text: str) -> str:
    """A title reduced to bare letters and digits, so "Họ và tên", "HỌ VÀ TÊN:" and "Ho va ten" all match."""
    text = unicodedata.normalize("NFD", clean(text).lower()).replace("đ", "d")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text)


# --------------------------------------------------------------------------- value parsers

_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_WORDS = re.compile(r"^ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})$")
_ERROR_VALUES = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"}


class BadValue(Exception):
    """A cell value that cannot be used; carries the Vietnamese explanation (without the value)."""

    def __init__(self, message_vi: str):
        self.message_vi = message_vi
        super().__init__(message_vi)


def parse_date(value: Any, *, epoch: dt.datetime | None = None) -> dt.date | None:
    """A birth date from an Excel date, a serial number or text; None when blank; BadValue otherwise."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.time):
        raise BadValue(
            "Ô chứa giờ chứ không phải ngày; ghi ngày sinh theo dạng ngày/tháng/năm, ví dụ 20/02/2015.",
        )
    if isinstance(value, bool):
        raise BadValue("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    if isinstance(value, int | float):
        if float(value).is_integer() and 1900 <= value <= 2100:
            raise BadValue("Chỉ có năm sinh; ghi đủ ngày/tháng/năm sinh, ví dụ 20/02/2015.")
        if 20000 <= value <= 80000:  # an Excel serial date in a cell not formatted as a date
            from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

            converted = from_excel(value, epoch or CALENDAR_WINDOWS_1900)
            return converted.date() if isinstance(converted, dt.datetime) else converted
        raise BadValue("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    text = clean(value).lower()
    if not text:
        return None
    if match := _ISO.match(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := (_DMY.match(text) or _WORDS.match(text)):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if year < 100:
            raise BadValue("Năm sinh chỉ có 2 chữ số; ghi đủ 4 chữ số, ví dụ 20/02/2015.")
    elif re.fullmatch(r"\d{4}", text):
        raise BadValue("Chỉ có năm sinh; ghi đủ ngày/tháng/năm sinh, ví dụ 20/02/2015.")
    else:
        raise BadValue("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        if month > 12 and day <= 12:
            raise BadValue(
                "Ngày sinh không hợp lệ: có thể đã ghi tháng trước ngày. Ghi theo thứ tự ngày/tháng/năm, "
                "ví dụ 20/02/2015."
            ) from None
        raise BadValue("Ngày sinh không có thật (ngày hoặc tháng sai); kiểm tra lại.") from None


_GROUPED = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


def parse_count(value: Any, unit: str | None = None) -> int | None:
    """A non-negative whole number; '.' ',' and spaces group thousands ("1.234.567"). None when blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue("Phải là số nguyên không âm (ghi 0 nếu không có).")
    if isinstance(value, int | float):
        if not float(value).is_integer():
            raise BadValue("Phải là số nguyên (không có phần thập phân).")
        if value < 0:
            raise BadValue("Không được là số âm.")
        return int(value)
    text = clean(value).lower()
    if not text:
        return None
    suffixes = {"đ", "đồng", "vnđ", "vnd"} if (unit or "").lower() == "đồng" else set()
    if unit:
        suffixes.add(clean(unit).lower())
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
            break
    if text.startswith("-") and re.fullmatch(r"-\s*[\d.,\s]+", text):
        raise BadValue("Không được là số âm.")
    if re.fullmatch(r"\d+", text):
        return int(text)
    if _GROUPED.match(text):
        return int(re.sub(r"[.,\s]", "", text))
    if re.fullmatch(r"\d+[.,]\d+", text):
        raise BadValue("Phải là số nguyên; dấu chấm/phẩy chỉ dùng để tách hàng nghìn (ví dụ 1.234.567).")
    raise BadValue("Không phải là số; ghi số nguyên không âm, ghi 0 nếu không có.")


# --------------------------------------------------------------------------- grids


@dataclass
class Cell:
    """A value with where it came from; ``formula_missing`` when a formula has no computed value saved."""

    value: Any
    column: str
    formula_missing: bool = False
    error_value: bool = False


@dataclass
class Table:
    """A grid read from a sheet or a Word table, rows numbered as the unit sees them."""

    sheet: str
    rows: list[tuple[int, list[Cell]]]
    epoch: dt.datetime | None = None


MAX_ROWS = 20_000  # far more children than a commune lists; bounds work on hostile sheets
MAX_COLUMNS = 60


def column_numbers(values: list[str]) -> bool:
    """A row of column numbers ("(1)", "(2)", ... or "a", "b", ...) printed under a table's header."""
    filled = [v for v in values if v]
    return len(filled) >= 3 and all(re.fullmatch(r"\(?\d{1,2}\)?|[a-z]", v.lower()) for v in filled)


def plainly_blank(cell: Cell | None) -> bool:
    """Blank because nothing was written, not because a formula lost its value (reported separately)."""
    return cell is None or not (cell.formula_missing or cell.error_value or clean(cell.value))


# --------------------------------------------------------------------------- grids from xlsx and docx


def unreadable(filename: str, what: str) -> UnreadableForm:
    return UnreadableForm(
        f'Không đọc được tệp "{filename}" ({what}). Vui lòng mở tệp bằng Excel/Word, '
        "lưu lại dạng .xlsx/.docx rồi gửi lại."
    )


_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _xml(zf: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)
    return etree.fromstring(zf.read(name), parser)


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _cell_value(cell: Any, shared: list[str]) -> tuple[Any, bool, bool]:
    """(value, formula without a saved value, error value) of one <c> element, as Excel saved it."""
    kind = cell.get("t", "n")
    formula = cell.find(f"{_S}f") is not None
    v = cell.find(f"{_S}v")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_S}t")), False, False
    if v is None or v.text is None:
        return None, formula, False
    text = v.text
    if kind == "s":
        index = int(text)
        return (shared[index] if 0 <= index < len(shared) else None), False, False
    if kind == "b":
        return text.strip() == "1", False, False
    if kind == "e":
        return text, False, True
    if kind in ("str", "d"):
        return text, False, text.strip() in _ERROR_VALUES
    try:
        number = float(text)
    except ValueError:
        return text, False, False
    return (int(number) if number.is_integer() else number), False, False


def xlsx_tables(data: bytes, filename: str, first: str = "", last: Collection[str] = ()) -> Iterator[Table]:
    """The sheets of a workbook as grids, read straight from its XML: cached values of formulas, merged cells
    filled from their top-left cell. One pass per sheet, no workbook model (ten times faster than openpyxl).

    Visible sheets come first, the sheet named ``first`` before the others, the ones named in ``last`` after all
    (a form's guide and drop-down lists), so a reader that stops at what it looks for reads little."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
        workbook = _xml(zf, "xl/workbook.xml")
        rels = _xml(zf, "xl/_rels/workbook.xml.rels")
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            for si in _xml(zf, "xl/sharedStrings.xml").iter(f"{_S}si"):
                shared.append("".join(t.text or "" for t in si.iter(f"{_S}t") if t.getparent().tag != f"{_S}rPh"))
    except Exception as exc:  # a missing or malformed part
        raise unreadable(filename, "bảng tính bị lỗi cấu trúc") from exc
    pr = workbook.find(f"{_S}workbookPr")
    epoch = CALENDAR_MAC_1904 if pr is not None and pr.get("date1904") in ("1", "true") else CALENDAR_WINDOWS_1900
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    sheets = []
    for sheet in workbook.iter(f"{_S}sheet"):
        target = targets.get(sheet.get(_R_ID), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if path in names:
            sheets.append((sheet.get("name", ""), sheet.get("state", "visible"), path))
    sheets.sort(key=lambda s: (s[0] in last, s[1] != "visible", s[0] != first))
    for title, _, path in sheets:
        try:
            root = _xml(zf, path)
        except Exception as exc:
            raise unreadable(filename, "bảng tính bị lỗi cấu trúc") from exc
        merged: dict[tuple[int, int], tuple[int, int]] = {}
        for merge in root.iter(f"{_S}mergeCell"):
            first, _, last = (merge.get("ref") or "").partition(":")
            a, b = _CELL_REF.match(first), _CELL_REF.match(last or first)
            if not (a and b):
                continue
            r1, c1, r2, c2 = int(a[2]), _column_number(a[1]), int(b[2]), _column_number(b[1])
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 100_000:
                continue
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    merged[(r, c)] = (r1, c1)
        stored: dict[tuple[int, int], tuple[Any, bool, bool]] = {}
        for row in root.iter(f"{_S}row"):
            row_number = int(row.get("r", "0") or 0)
            if row_number > MAX_ROWS * 2:
                break
            column = 0
            for cell in row.iter(f"{_S}c"):
                ref = _CELL_REF.match(cell.get("r", ""))
                column = _column_number(ref[1]) if ref else column + 1
                if ref:
                    row_number = int(ref[2])
                if len(cell) and column <= MAX_COLUMNS:  # a cell with only a style holds nothing
                    stored[(row_number, column)] = _cell_value(cell, shared)
        used = {key[0] for key in stored if stored[key][0] is not None or stored[key][1]} | {k[0] for k in merged}
        max_col = min(max((key[1] for key in stored), default=0), MAX_COLUMNS)
        rows: list[tuple[int, list[Cell]]] = []
        for r in sorted(used)[:MAX_ROWS]:
            cells: list[Cell] = []
            for c in range(1, max_col + 1):
                value, formula_missing, error_value = stored.get(merged.get((r, c), (r, c)), (None, False, False))
                if isinstance(value, str) and value.strip() in _ERROR_VALUES:
                    error_value = True
                cells.append(Cell(value, _column_letter(c), formula_missing, error_value))
            rows.append((r, cells))
        yield Table(f'Trang tính "{title}"', rows, epoch)


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- Word: the body's paragraphs and tables, straight from word/document.xml


@dataclass
class Paragraph:
    text: str


@dataclass
class WordTable:
    rows: list[list[str]]  # the text of each grid column, merged cells repeated as python-docx does


def _paragraph_text(p: Any) -> str:
    parts = []
    for node in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
        if node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _word_table(tbl: Any) -> WordTable:
    rows: list[list[str]] = []
    above: dict[int, str] = {}
    for tr in tbl.iterchildren(f"{_W}tr"):
        texts: list[str] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            props = tc.find(f"{_W}tcPr")
            span, continues = 1, False
            if props is not None:
                grid_span = props.find(f"{_W}gridSpan")
                if grid_span is not None:
                    span = max(1, int(grid_span.get(f"{_W}val", "1") or 1))
                v_merge = props.find(f"{_W}vMerge")
                continues = v_merge is not None and v_merge.get(f"{_W}val", "continue") != "restart"
            text = "\n".join(_paragraph_text(p) for p in tc.iterchildren(f"{_W}p"))
            if continues:
                text = above.get(len(texts), "")
            texts.extend([text] * span)
        above = dict(enumerate(texts))
        rows.append(texts)
    return WordTable(rows)


def word_blocks(data: bytes, filename: str) -> list[Paragraph | WordTable]:
    try:
        body = _xml(zipfile.ZipFile(io.BytesIO(data)), "word/document.xml").find(f"{_W}body")
    except Exception as exc:
        raise unreadable(filename, "văn bản bị lỗi cấu trúc") from exc
    if body is None:
        raise unreadable(filename, "văn bản bị lỗi cấu trúc")
    blocks: list[Paragraph | WordTable] = []
    for child in body:
        if child.tag == f"{_W}p":
            blocks.append(Paragraph(_paragraph_text(child)))
        elif child.tag == f"{_W}tbl":
            blocks.append(_word_table(child))
    return blocks


def docx_tables(data: bytes, filename: str) -> Iterator[Table]:
    tables = [b for b in word_blocks(data, filename) if isinstance(b, WordTable)]
    for number, table in enumerate(tables, start=1):
        yield docx_grid(table, f"Bảng {number}")


def docx_grid(table: WordTable, label: str) -> Table:
    rows = [(r, [Cell(text, str(c)) for c, text in enumerate(row, start=1)]) for r, row in enumerate(table.rows, 1)]
    return Table(label, rows)
