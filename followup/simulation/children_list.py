"""The children list (.xlsx) as a commune officer returns it: filled with one child a row, or broken with one
of the mistakes people make (a missing name, 31/02, a year only, a group that does not exist...).

It exists so the reader of the list can be exercised end to end on files that look like real replies: the
received workbook is edited in place, and only the rows written change.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from lxml import etree

from followup.domain.special_groups import group_choice
from followup.forms.children_list import CHILDREN_COLUMNS, CHILDREN_SHEET
from followup.simulation.ooxml import XML_SPACE, norm, parse_xml, rezip
from followup.simulation.people import SyntheticChild, birthday, synthetic_children

__all__ = ["LIST_ERRORS", "break_children_list", "fill_children_list"]


_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OFFICE_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _groups_text(groups: Sequence[str]) -> str:
    """As an officer writes it: the drop-down choice for one group, the letters for several ("d, n")."""
    if len(groups) == 1:
        return group_choice(groups[0])
    return ", ".join(groups)


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _col_letter(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@lru_cache(maxsize=32)
def _date_styles(styles_xml: bytes) -> frozenset[int]:
    """Indexes of the cell formats (``s=``) that show a number as a date."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    root = parse_xml(styles_xml)
    custom = {
        int(fmt.get("numFmtId")): fmt.get("formatCode") or ""
        for fmt in root.iterfind(f"{{{_S}}}numFmts/{{{_S}}}numFmt")
    }
    dates = set()
    for index, xf in enumerate(root.iterfind(f"{{{_S}}}cellXfs/{{{_S}}}xf")):
        fmt_id = int(xf.get("numFmtId") or 0)
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id) or ""
        if code and is_date_format(code):
            dates.add(index)
    return frozenset(dates)


@lru_cache(maxsize=32)
def _sheet_paths(workbook_xml: bytes, rels_xml: bytes) -> tuple[tuple[str, str], ...]:
    """(sheet name, part path) in workbook order."""
    targets = {}
    for rel in parse_xml(rels_xml).iterfind(f"{{{_PKG_R}}}Relationship"):
        target = rel.get("Target") or ""
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return tuple(
        (sheet.get("name") or "", targets.get(sheet.get(f"{{{_OFFICE_R}}}id"), ""))
        for sheet in parse_xml(workbook_xml).iterfind(f"{{{_S}}}sheets/{{{_S}}}sheet")
    )


_COLUMN_OF_TITLE = {norm(c.title): c.key for c in CHILDREN_COLUMNS}
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_ROOT_TAG = re.compile(rb"<worksheet\b[^>]*>")
_NS_DECL = re.compile(rb'\sxmlns(?::\w+)?="[^"]*"')
_DIMENSION = re.compile(rb'(<dimension ref=")([A-Z]+\d+):([A-Z]+)(\d+)(")')


class _ChildrenSheet:
    """The list sheet of a children-list workbook, edited in place (inline strings, date serials).

    Only the rows it touches are parsed: the sheet is split into row strings, and rows are parsed (inside the
    sheet's own root tag, for its namespaces) when read or written, then spliced back. A 200-row form sheet
    costs a tenth of a full parse.
    """

    def __init__(self, data: bytes):
        self.data = data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            workbook = zf.read("xl/workbook.xml")
            sheets = _sheet_paths(workbook, zf.read("xl/_rels/workbook.xml.rels"))
            styles = zf.read("xl/styles.xml") if "xl/styles.xml" in names else b""
            shared = zf.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in names else b""
            self.date_styles = _date_styles(styles) if styles else frozenset()
            self.epoch = dt.date(1904, 1, 1) if re.search(rb'date1904="(1|true)"', workbook) else dt.date(1899, 12, 30)
            self.shared = ["".join(si.itertext()) for si in parse_xml(shared).iterfind(f"{{{_S}}}si")] if shared else []
            for _name, path in sorted(sheets, key=lambda s: s[0] != CHILDREN_SHEET):
                if path in names and self._load(zf.read(path)) and self._find_header():
                    self.path = path
                    return
        raise ValueError("no children list in this workbook (no header row with Họ và tên, Ngày sinh, ...)")

    # -- structure

    def _load(self, xml: bytes) -> bool:
        root = _ROOT_TAG.search(xml)
        xml = re.sub(rb"<sheetData\s*/>", b"<sheetData></sheetData>", xml, count=1)
        opening, closing = xml.find(b"<sheetData>"), xml.rfind(b"</sheetData>")
        if root is None or opening < 0 or closing < opening:
            return False  # a sheet written with a namespace prefix: not a form this simulator fills
        found = (opening + len(b"<sheetData>"), closing)
        self.xml, self.root_tag = xml, root.group(0)
        self.body = found
        self.spans: dict[int, tuple[int, int]] = {}
        number, pos, stop = 0, *self.body
        while (start := xml.find(b"<row", pos, stop)) >= 0:
            tag_end = xml.find(b">", start)
            if tag_end < 0:
                return False
            end = tag_end + 1 if xml[tag_end - 1] == ord("/") else xml.find(b"</row>", tag_end) + len(b"</row>")
            if end < tag_end:
                return False
            match = _ROW_NUMBER.search(xml, start, tag_end)
            number = int(match[1]) if match else number + 1
            self.spans[number] = (start, end)
            pos = end
        self.parsed: dict[int, Any] = {}
        self._cell_index: dict[int, dict[int, Any]] = {}
        return True

    def _row(self, number: int, create: bool = False) -> Any:
        row = self.parsed.get(number)
        if row is not None:
            return row
        span = self.spans.get(number)
        if span is not None:
            start, end = span
            wrapped = self.root_tag + b"<sheetData>" + self.xml[start:end] + b"</sheetData></worksheet>"
            row = parse_xml(wrapped)[0][0]
        elif create:
            row = etree.Element(f"{{{_S}}}row", nsmap={None: _S}, r=str(number))
        else:
            return None
        self.parsed[number] = row
        return row

    def _cells(self, number: int) -> dict[int, Any]:
        cached = self._cell_index.get(number)
        if cached is not None:
            return cached
        cells: dict[int, Any] = {}
        row = self._row(number)
        col = 0
        for c in row.iterfind(f"{{{_S}}}c") if row is not None else ():
            match = _REF.match(c.get("r") or "")
            col = _col_index(match[1]) if match else col + 1
            cells[col] = c
        self._cell_index[number] = cells
        return cells

    def _find_header(self) -> bool:
        for number in sorted(self.spans)[:40]:
            fields: dict[str, int] = {}
            for col, c in self._cells(number).items():
                key = _COLUMN_OF_TITLE.get(norm(self._text(c)))
                if key and key not in fields:
                    fields[key] = col
            if {"name", "birth_date"} <= set(fields):
                self.header_row, self.columns = number, fields
                return True
        return False

    def _text(self, c: Any) -> str:
        kind = c.get("t")
        if kind == "inlineStr":
            return "".join(t.text or "" for t in c.iter(f"{{{_S}}}t"))
        v = c.find(f"{{{_S}}}v")
        if v is None or v.text is None:
            return ""
        if kind == "s":
            index = int(v.text)
            return self.shared[index] if index < len(self.shared) else ""
        return v.text

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    def data_rows(self) -> list[int]:
        """Rows under the header that hold a name or a birth date."""
        found = []
        numbers = sorted({*self.spans, *self.parsed})
        for number in (n for n in numbers if n > self.header_row):
            cells = self._cells(number)
            if any(self._text(cells[self.columns[k]]) for k in ("name", "birth_date") if self.columns[k] in cells):
                found.append(number)
        return found

    def _cell(self, number: int, col: int) -> Any:
        row = self._row(number, create=True)
        cells = self._cells(number)
        if col in cells:
            return cells[col]
        c = etree.SubElement(row, f"{{{_S}}}c", r=f"{_col_letter(col)}{number}")  # in the row's namespace scope
        if number != self.first_row and number > self.header_row:
            model = self._cells(self.first_row).get(col)  # past the prepared rows: the first row's format
            if model is not None and model.get("s") is not None:
                c.set("s", model.get("s"))
        later = [k for k in cells if k > col]
        if later:
            cells[min(later)].addprevious(c)
        cells[col] = c
        return c

    # -- values

    def set(self, number: int, key: str, value: str | int | dt.date | None) -> None:
        col = self.columns.get(key)
        if col is None:
            return
        c = self._cell(number, col)
        for child in list(c):
            c.remove(child)
        c.attrib.pop("t", None)
        if isinstance(value, dt.date):
            style = c.get("s")
            if style is not None and int(style) in self.date_styles:
                value = (value - self.epoch).days
            else:  # not a date cell: typed as text, the way people do
                value = f"{value:%d/%m/%Y}"
        if value is None or value == "":
            return
        if isinstance(value, str):
            c.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(c, f"{{{_S}}}is"), f"{{{_S}}}t")
            t.text = value
            if value != value.strip():
                t.set(XML_SPACE, "preserve")
        else:
            etree.SubElement(c, f"{{{_S}}}v").text = str(value)

    def write_child(self, number: int, stt: int, child: SyntheticChild) -> None:
        self.set(number, "stt", stt)
        self.set(number, "name", child.name)
        self.set(number, "birth_date", child.birth_date)
        self.set(number, "sex", child.sex)
        self.set(number, "ethnicity", child.ethnicity)
        self.set(number, "village", child.village)
        self.set(number, "carer", child.carer)
        self.set(number, "groups", _groups_text(child.groups))
        self.set(number, "difficult", "Có" if child.difficult else "Không")
        self.set(number, "support", child.support)
        self.set(number, "note", child.note)

    def _row_xml(self, number: int) -> bytes:
        row = self.parsed[number]
        text = etree.tostring(row, encoding="UTF-8", xml_declaration=False)
        head, sep, rest = text.partition(b">")
        return _NS_DECL.sub(b"", head) + sep + rest  # the sheet's root declares the namespaces

    def save(self) -> bytes:
        start, end = self.body
        pieces = [self.xml[:start]]
        cursor = start
        added = sorted(n for n in self.parsed if n not in self.spans)
        for number, (row_start, row_end) in sorted(self.spans.items(), key=lambda item: item[1]):
            while added and added[0] < number:
                pieces.append(self._row_xml(added.pop(0)))
            pieces.append(self.xml[cursor:row_start])
            pieces.append(self._row_xml(number) if number in self.parsed else self.xml[row_start:row_end])
            cursor = row_end
        pieces.append(self.xml[cursor:end])
        pieces += [self._row_xml(n) for n in added]
        pieces.append(self.xml[end:])
        xml = b"".join(pieces)
        last = max([*self.spans, *self.parsed], default=1)
        xml = _DIMENSION.sub(
            lambda m: m.group(0) if int(m[4]) >= last else m[1] + m[2] + b":" + m[3] + str(last).encode() + m[5],
            xml,
            count=1,
        )
        return rezip(self.data, {self.path: xml})


def fill_children_list(form: bytes, children: Sequence[SyntheticChild]) -> bytes:
    """The received .xlsx with one child per row under the header; everything else in the file unchanged."""
    sheet = _ChildrenSheet(form)
    for i, child in enumerate(children):
        sheet.write_child(sheet.first_row + i, i + 1, child)
    return sheet.save()


#: Ways a children list comes back wrong -> the field the reader's FormProblem names (all are errors).
LIST_ERRORS: dict[str, str] = {
    "missing-name": "name",
    "bad-date": "birth_date",  # 31/02/2015
    "year-only": "birth_date",  # 2015
    "missing-date": "birth_date",
    "future-birth": "birth_date",
    "too-old": "birth_date",  # 16 or over
    "bad-group": "groups",  # "z"
    "bad-sex": "sex",
}


def break_children_list(form: bytes, kind: str, *, row: int = 0, as_of: dt.date | None = None) -> bytes:
    """A filled list with one realistic mistake in its ``row``-th child (a blank form gets one child first).

    ``as_of`` is the reading date, for "future-birth" and "too-old" (default: today).
    """
    if kind not in LIST_ERRORS:
        raise ValueError(f"unknown children-list error {kind!r}; one of {', '.join(LIST_ERRORS)}")
    as_of = as_of or dt.date.today()
    sheet = _ChildrenSheet(form)
    rows = sheet.data_rows()
    if len(rows) <= row:
        start = len(rows)
        for i, child in enumerate(synthetic_children(row + 1 - start, seed=f"break:{kind}", as_of=as_of)):
            sheet.write_child(sheet.first_row + start + i, start + i + 1, child)
        rows = sheet.data_rows()
    number = rows[row]
    value: str | dt.date | None = {
        "missing-name": None,
        "bad-date": "31/02/2015",
        "year-only": "2015",
        "missing-date": None,
        "future-birth": as_of + dt.timedelta(days=45),
        "too-old": birthday(as_of, -17),
        "bad-group": "z",
        "bad-sex": "Không rõ",
    }[kind]
    sheet.set(number, LIST_ERRORS[kind], value)
    return sheet.save()
