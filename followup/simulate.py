"""Units that reply: forms filled as a commune officer fills them, broken as people break them, and the e-mails
that carry them back. Used by ``followup demo`` (which plays the units), integration tests and benchmarks.

Pure functions over bytes: no database, no network. Everything random is seeded, so a run can be replayed.

Filling edits the XML parts of the received .xlsx/.docx directly and copies every other part unchanged: the
form identity (custom and core properties, visible line), styles, drop-downs and hidden sheets stay as they
were, and a reply costs a few milliseconds instead of an openpyxl/python-docx round trip.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import mimetypes
import operator
import random
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from functools import lru_cache
from typing import Any, Literal

from lxml import etree

from followup.clock import OFFICE_TZ
from followup.config import Requirement
from followup.forms import (
    CHILDREN_COLUMNS,
    CHILDREN_SHEET,
    REPORT_SECTIONS,
    FormIdentity,
    UnreadableForm,
    group_choice,
    read_identity,
)

__all__ = [
    "LIST_ERRORS",
    "REPORT_ERRORS",
    "Behaviour",
    "SyntheticChild",
    "attachments_of",
    "break_children_list",
    "break_report",
    "default_narrative",
    "fill_children_list",
    "fill_periodic_report",
    "forward_email",
    "plausible_report_values",
    "play_units",
    "reply_email",
    "synthetic_children",
]

# --------------------------------------------------------------------------- synthetic children


@dataclass(frozen=True)
class SyntheticChild:
    """A made-up child, as one row of the list. ``groups`` are letters of the 14 groups (may be empty)."""

    name: str
    birth_date: dt.date
    sex: str  # "Nam" / "Nữ"
    ethnicity: str
    village: str
    carer: str
    groups: tuple[str, ...]
    difficult: bool
    support: str | None = None
    note: str | None = None


# Family names by ethnicity, most frequent first (Bắc Kạn: mostly Tày, then Nùng, Dao, Kinh, H'Mông).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "Tày": ("Hoàng", "Nông", "Ma", "Hà", "Lường", "Lục", "Đàm", "Bế", "Triệu", "Lý", "Dương", "Vi", "Sầm"),
    "Nùng": ("Hoàng", "Nông", "Lý", "Lục", "Vi", "Lương", "Chu", "Mông"),
    "Dao": ("Triệu", "Bàn", "Đặng", "Lý", "Phùng", "Chu"),
    "Kinh": ("Nguyễn", "Trần", "Phạm", "Lê", "Hoàng", "Vũ", "Đỗ", "Hà"),
    "H'Mông": ("Giàng", "Sùng", "Vàng", "Lý", "Hầu", "Thào"),
}
_ETHNICITY_WEIGHTS: dict[str, int] = {"Tày": 50, "Nùng": 14, "Dao": 14, "Kinh": 14, "H'Mông": 8}
_MIDDLE = {
    "Nam": ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Tiến"),
    "Nữ": ("Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Kim"),
}
_MIDDLE_HMONG = {"Nam": ("A", "Seo", "Văn"), "Nữ": ("Thị", "Thị")}
_GIVEN = {
    "Nam": (
        "Anh", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Nam", "Phúc",
        "Quân", "Sơn", "Thắng", "Tuấn", "Việt", "Vinh", "Bảo", "Huy", "Lâm", "Toàn",
    ),
    "Nữ": (
        "An", "Chi", "Diệp", "Hà", "Hằng", "Hoa", "Huyền", "Lan", "Linh", "Mai", "My", "Ngân",
        "Nhung", "Phương", "Thảo", "Trang", "Vân", "Yến", "Nhi", "Quỳnh", "Hiền", "Tuyết",
    ),
}  # fmt: skip
_GIVEN_HMONG = {"Nam": ("Páo", "Chứ", "Sử", "Dính", "Pó", "Lử"), "Nữ": ("Mỷ", "Sua", "Dợ", "Chá", "Mai", "Pà")}
_VILLAGES = (
    "Thôn Nà Pài", "Bản Khét", "Thôn Nà Lẹng", "Thôn Khuổi Chủ", "Bản Cạu", "Thôn Nà Thác", "Thôn Pác Cộp",
    "Thôn Khuổi Dủm", "Bản Phiêng Lót", "Thôn Nà Mố", "Thôn Bản Đồn", "Thôn Nà Cà", "Thôn Còi Táng",
    "Bản Pjạc", "Tổ 3", "Tổ 5", "Thôn Nà Cọ", "Thôn Khau Cưởm",
)  # fmt: skip
# Group letters weighted by how often communes list them (disability and orphans lead; trafficking is rare).
_GROUP_WEIGHTS: dict[str, int] = {
    "a": 12, "b": 2, "c": 6, "d": 30, "đ": 2, "e": 2, "g": 1, "h": 8, "i": 3, "k": 1, "l": 2, "m": 1, "n": 14,
    "o": 1,
}  # fmt: skip
_SUPPORT: dict[str, tuple[str, ...]] = {
    "a": ("Trợ cấp xã hội hằng tháng 540.000 đồng", "Trợ cấp xã hội hằng tháng 900.000 đồng"),
    "b": ("Nuôi dưỡng tại cơ sở bảo trợ xã hội", "Trợ cấp nuôi dưỡng 900.000 đồng/tháng"),
    "c": ("Trợ cấp xã hội hằng tháng 540.000 đồng",),
    "d": ("Trợ cấp khuyết tật 720.000 đồng/tháng", "Trợ cấp khuyết tật 900.000 đồng/tháng", "Cấp xe lăn"),
    "đ": ("Thẻ bảo hiểm y tế; điều trị ARV miễn phí",),
    "n": ("Thẻ bảo hiểm y tế", "Hỗ trợ chi phí điều trị 2.000.000 đồng"),
    "h": ("Miễn học phí; hỗ trợ sách vở",),
}
_SUPPORT_GENERAL = ("Hỗ trợ đồ ấm mùa đông", "Thẻ bảo hiểm y tế", "Hỗ trợ gạo, sách vở", "Quà Tết 500.000 đồng")
_NOTES = (
    "Đang học lớp {grade}",
    "Hộ nghèo",
    "Hộ cận nghèo",
    "Bố mẹ đi làm ăn xa",
    "Đang điều trị tại Bệnh viện Nhi Trung ương",
    "Gia đình đã được tư vấn",
)


def _ethnicity(rng: random.Random) -> str:
    return rng.choices(list(_ETHNICITY_WEIGHTS), weights=list(_ETHNICITY_WEIGHTS.values()))[0]


def _person(rng: random.Random, family: str, sex: str, ethnicity: str) -> str:
    hmong = ethnicity == "H'Mông"
    middle = rng.choice((_MIDDLE_HMONG if hmong else _MIDDLE)[sex])
    given = rng.choice((_GIVEN_HMONG if hmong else _GIVEN)[sex])
    return f"{family} {middle} {given}"


def _birthday(birth: dt.date, years: int) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return dt.date(birth.year + years, 3, 1)


def synthetic_children(n: int, seed: int | str = 0, as_of: dt.date | None = None) -> list[SyntheticChild]:
    """``n`` plausible children of a commune of Bắc Kạn, aged 0-15 on ``as_of``; same seed, same children.

    Every child is in at least one of the 14 groups or in difficult circumstances (else the list would not
    name them), and no two share name and birth date.
    """
    as_of = as_of or dt.date(2023, 2, 20)
    rng = random.Random(f"children:{seed}")
    letters = list(_GROUP_WEIGHTS)
    weights = list(_GROUP_WEIGHTS.values())
    seen: set[tuple[str, dt.date]] = set()
    children: list[SyntheticChild] = []
    while len(children) < n:
        ethnicity = _ethnicity(rng)
        family = rng.choice(_FAMILIES[ethnicity])
        sex = rng.choice(("Nam", "Nữ"))
        name = _person(rng, family, sex, ethnicity)
        oldest = _birthday(as_of, -16) + dt.timedelta(days=1)  # turns 16 after as_of
        birth = oldest + dt.timedelta(days=rng.randrange((as_of - oldest).days + 1))
        if (name, birth) in seen:
            continue
        seen.add((name, birth))
        roll = rng.random()
        if roll < 0.3:
            groups: tuple[str, ...] = ()
        elif roll < 0.9:
            groups = (rng.choices(letters, weights)[0],)
        else:
            groups = tuple(sorted(set(rng.choices(letters, weights, k=2)), key=letters.index))
        difficult = True if not groups else rng.random() < 0.65
        if "a" in groups or "c" in groups:
            relation = rng.choice(("ông nội", "bà nội", "ông ngoại", "bà ngoại", "bác ruột", "chú ruột"))
            carer_sex = "Nữ" if relation.startswith("bà") else "Nam"
        else:
            relation = rng.choice(("bố", "mẹ", "mẹ"))
            carer_sex = "Nam" if relation == "bố" else "Nữ"
        carer_family = family if carer_sex == "Nam" else rng.choice(_FAMILIES[ethnicity])
        carer = f"{_person(rng, carer_family, carer_sex, ethnicity)} ({relation})"
        if "b" in groups and rng.random() < 0.5:
            carer = "Cơ sở bảo trợ xã hội tỉnh Bắc Kạn"
        offers = [s for g in groups for s in _SUPPORT.get(g, ())]
        support = rng.choice(offers) if offers and rng.random() < 0.85 else None
        if support is None and rng.random() < 0.4:
            support = rng.choice(_SUPPORT_GENERAL)
        note = None
        if rng.random() < 0.35:
            age = as_of.year - birth.year
            note = rng.choice(_NOTES).format(grade=min(max(age - 5, 1), 9))
        village = rng.choice(_VILLAGES)
        children.append(SyntheticChild(name, birth, sex, ethnicity, village, carer, groups, difficult, support, note))
    return children


def _groups_text(groups: Sequence[str]) -> str:
    """As an officer writes it: the drop-down choice for one group, the letters for several ("d, n")."""
    if len(groups) == 1:
        return group_choice(groups[0])
    return ", ".join(groups)


# --------------------------------------------------------------------------- OOXML plumbing

_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_OFFICE_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _xml(data: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def _serialise(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rezip(data: bytes, replaced: Mapping[str, bytes]) -> bytes:
    """The same package, entry order and compression, with some parts replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = replaced.get(info.filename)
            dst.writestr(info, src.read(info) if body is None else body, compress_type=info.compress_type)
    return out.getvalue()


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split()).lower()


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

    root = _xml(styles_xml)
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
    for rel in _xml(rels_xml).iterfind(f"{{{_PKG_R}}}Relationship"):
        target = rel.get("Target") or ""
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return tuple(
        (sheet.get("name") or "", targets.get(sheet.get(f"{{{_OFFICE_R}}}id"), ""))
        for sheet in _xml(workbook_xml).iterfind(f"{{{_S}}}sheets/{{{_S}}}sheet")
    )


_COLUMN_OF_TITLE = {_norm(c.title): c.key for c in CHILDREN_COLUMNS}


class _ChildrenSheet:
    """The list sheet of a children-list workbook, edited in place (inline strings, date serials)."""

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
            self.shared = ["".join(si.itertext()) for si in _xml(shared).iterfind(f"{{{_S}}}si")] if shared else []
            ordered = sorted(sheets, key=lambda s: s[0] != CHILDREN_SHEET)
            for _name, path in ordered:
                if path not in names:
                    continue
                self.path, self.root = path, _xml(zf.read(path))
                self.sheet_data = self.root.find(f"{{{_S}}}sheetData")
                if self.sheet_data is not None and self._find_header():
                    return
        raise ValueError("no children list in this workbook (no header row with Họ và tên, Ngày sinh, ...)")

    # -- structure

    def _index_rows(self) -> None:
        self.rows: dict[int, Any] = {}
        number = 0
        for row in self.sheet_data.iterfind(f"{{{_S}}}row"):
            number = int(row.get("r") or number + 1)
            self.rows[number] = row

    def _cells(self, row: Any) -> dict[int, Any]:
        cells, col = {}, 0
        for c in row.iterfind(f"{{{_S}}}c"):
            match = _REF.match(c.get("r") or "")
            col = _col_index(match[1]) if match else col + 1
            cells[col] = c
        return cells

    def _find_header(self) -> bool:
        self._index_rows()
        for number in sorted(self.rows)[:40]:
            fields = {}
            for col, c in self._cells(self.rows[number]).items():
                key = _COLUMN_OF_TITLE.get(_norm(self._text(c)))
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
        for number in sorted(r for r in self.rows if r > self.header_row):
            cells = self._cells(self.rows[number])
            if any(self._text(cells[self.columns[k]]) for k in ("name", "birth_date") if self.columns[k] in cells):
                found.append(number)
        return found

    def _cell(self, number: int, col: int) -> Any:
        row = self.rows.get(number)
        if row is None:
            row = etree.Element(f"{{{_S}}}row", r=str(number))
            later = [r for r in self.rows if r > number]
            if later:
                self.rows[min(later)].addprevious(row)
            else:
                self.sheet_data.append(row)
            self.rows[number] = row
        cells = self._cells(row)
        if col in cells:
            return cells[col]
        c = etree.Element(f"{{{_S}}}c", r=f"{_col_letter(col)}{number}")
        later = [k for k in cells if k > col]
        if later:
            cells[min(later)].addprevious(c)
        else:
            row.append(c)
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
                t.set(_XML_SPACE, "preserve")
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

    def save(self) -> bytes:
        last = max(self.rows) if self.rows else 1
        dimension = self.root.find(f"{{{_S}}}dimension")
        if dimension is not None:
            match = re.fullmatch(r"([A-Z]+\d+):([A-Z]+)(\d+)", dimension.get("ref") or "")
            if match and int(match[3]) < last:
                dimension.set("ref", f"{match[1]}:{match[2]}{last}")
        return _rezip(self.data, {self.path: _serialise(self.root)})


# --------------------------------------------------------------------------- children list


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
        "too-old": _birthday(as_of, -17),
        "bad-group": "z",
        "bad-sex": "Không rõ",
    }[kind]
    sheet.set(number, LIST_ERRORS[kind], value)
    return sheet.save()


# --------------------------------------------------------------------------- periodic report


def _w_text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(f"{{{_W}}}t"))


def _w_set_text(paragraph: Any, text: str) -> None:
    """Replace a paragraph's runs by one plain run (keeps its paragraph properties)."""
    for child in list(paragraph):
        if child.tag != f"{{{_W}}}pPr":
            paragraph.remove(child)
    if text:
        t = etree.SubElement(etree.SubElement(paragraph, f"{{{_W}}}r"), f"{{{_W}}}t")
        t.text = text
        if text != text.strip():
            t.set(_XML_SPACE, "preserve")


_PLACEHOLDER_OF = {_norm(placeholder): key for key, _, placeholder in REPORT_SECTIONS}


class _ReportDoc:
    """The report form's document part: indicator cells by code, narrative placeholders by section."""

    def __init__(self, data: bytes):
        self.data = data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            self.root = _xml(zf.read("word/document.xml"))
        body = self.root.find(f"{{{_W}}}body")
        self.cells: dict[str, Any] = {}
        self.row_of: dict[str, int] = {}
        for table in body.iter(f"{{{_W}}}tbl"):
            rows = table.findall(f"{{{_W}}}tr")
            if not rows:
                continue
            titles = [_norm(_w_text(tc)) for tc in rows[0].findall(f"{{{_W}}}tc")]
            if "mã" in titles and "số liệu" in titles:
                code_at, value_at = titles.index("mã"), titles.index("số liệu")
                for number, tr in enumerate(rows[1:], start=2):
                    tcs = tr.findall(f"{{{_W}}}tc")
                    if max(code_at, value_at) < len(tcs):
                        code = _w_text(tcs[code_at]).strip()
                        if code:
                            self.cells[code] = tcs[value_at]
                            self.row_of[code] = number
                break
        if not self.cells:
            raise ValueError("no indicator table in this report (columns Số liệu and Mã)")
        self.sections: dict[str, Any] = {}
        for p in body.findall(f"{{{_W}}}p"):
            key = _PLACEHOLDER_OF.get(_norm(_w_text(p)))
            if key and key not in self.sections:
                self.sections[key] = p

    @property
    def codes(self) -> list[str]:
        return list(self.cells)

    def get(self, code: str) -> str:
        return _w_text(self.cells[code]).strip()

    def set(self, code: str, text: str) -> None:
        tc = self.cells.get(code)
        if tc is None:
            return
        paragraphs = tc.findall(f"{{{_W}}}p")
        for extra in paragraphs[1:]:
            tc.remove(extra)
        if not paragraphs:
            paragraphs = [etree.SubElement(tc, f"{{{_W}}}p")]
        _w_set_text(paragraphs[0], text)

    def write_section(self, key: str, text: str) -> None:
        """The section's text instead of its placeholder, one paragraph a line; "" removes the placeholder."""
        p = self.sections.get(key)
        if p is None:
            return
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            p.getparent().remove(p)
            del self.sections[key]
            return
        _w_set_text(p, lines[0])
        anchor = p
        for line in lines[1:]:
            new = etree.Element(f"{{{_W}}}p")
            ppr = p.find(f"{{{_W}}}pPr")
            if ppr is not None:
                new.append(copy.deepcopy(ppr))
            _w_set_text(new, line)
            anchor.addnext(new)
            anchor = new

    def save(self) -> bytes:
        return _rezip(self.data, {"word/document.xml": _serialise(self.root)})


def _count_text(code: str, value: int) -> str:
    # Money the way Vietnamese officers write it (dots group thousands); counts as plain digits.
    return f"{value:,}".replace(",", ".") if code == "kinh_phi" or value >= 10_000 else str(value)


_NARRATIVE: dict[str, tuple[str, ...]] = {
    "ket_qua": (
        "Ủy ban nhân dân đã ban hành kế hoạch triển khai công tác bảo vệ, chăm sóc trẻ em năm 2023; kiện toàn Ban "
        "chỉ đạo và nhóm thường trực bảo vệ trẻ em cấp xã; phân công cộng tác viên trẻ em ở các thôn, bản.\n"
        "Tổ chức {buoi} buổi tuyên truyền về phòng ngừa xâm hại trẻ em, phòng, chống tai nạn thương tích, đuối "
        "nước trẻ em; phổ biến Tổng đài điện thoại quốc gia bảo vệ trẻ em 111.\n"
        "Rà soát, cập nhật danh sách trẻ em có hoàn cảnh đặc biệt; {tro_giup} trẻ được trợ giúp kịp thời.",
        "Đơn vị đã lồng ghép nhiệm vụ thực hiện quyền trẻ em vào kế hoạch công tác năm; chỉ đạo các thôn, bản "
        "rà soát khu vực có nguy cơ đuối nước, cắm biển cảnh báo tại ao, hồ, sông, suối.\n"
        "Tổ chức {buoi} buổi truyền thông cho cha mẹ và trẻ em; phối hợp với trường học tuyên truyền kỹ năng "
        "phòng tránh xâm hại.\n"
        "Cập nhật thông tin trẻ em vào cơ sở dữ liệu trẻ em tại địa phương.",
    ),
    "kho_khan": (
        "Địa bàn rộng, dân cư phân tán, nhiều thôn, bản xa trung tâm nên việc nắm bắt thông tin còn chậm.\n"
        "Người làm công tác trẻ em cấp xã kiêm nhiệm nhiều việc; kinh phí cho hoạt động trẻ em còn hạn chế.",
        "Một số cha mẹ đi làm ăn xa, trẻ em ở với ông bà nên việc chăm sóc, giám sát trẻ còn hạn chế.",
    ),
    "de_xuat": (
        "Đề nghị Ủy ban nhân dân huyện quan tâm bố trí kinh phí tập huấn cho cộng tác viên trẻ em thôn, bản.",
        "Đề nghị Phòng Lao động - Thương binh và Xã hội huyện tiếp tục hướng dẫn nghiệp vụ cập nhật cơ sở dữ "
        "liệu trẻ em.",
    ),
}


def default_narrative(seed: int | str = 0, values: Mapping[str, int] | None = None) -> dict[str, str]:
    """Plausible text for the three sections (no child is named: reports carry counts only)."""
    rng = random.Random(f"narrative:{seed}")
    values = values or {}
    fill = {"buoi": values.get("buoi_tuyen_truyen", 4), "tro_giup": values.get("tre_em_hcdb_duoc_tro_giup", 0)}
    return {key: rng.choice(texts).format(**fill) for key, texts in _NARRATIVE.items()}


def fill_periodic_report(
    form: bytes, values: Mapping[str, int], narrative: Mapping[str, str] | None = None, *, seed: int | str = 0
) -> bytes:
    """The received .docx with the indicator values written by code and the section placeholders replaced.

    Codes absent from ``values`` are left blank. ``narrative`` maps section key (ket_qua, kho_khan, de_xuat) to
    text, one paragraph a line; a section it omits gets default text, "" removes the placeholder line.
    """
    doc = _ReportDoc(form)
    for code, value in values.items():
        doc.set(code, _count_text(code, value))
    texts = default_narrative(seed, values)
    texts.update(narrative or {})
    for key, text in texts.items():
        doc.write_section(key, text)
    return doc.save()


_RULE_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def plausible_report_values(
    seed: int | str = 0, children_count: int = 10, requirement: Requirement | None = None
) -> dict[str, int]:
    """Indicator values of a commune that keep the directive's rules (HCĐB helped <= HCĐB <= all children,
    drowned <= injured). With ``requirement``, exactly its indicators, and its rules enforced."""
    rng = random.Random(f"report:{seed}")
    special = max(0, round(children_count * rng.uniform(0.55, 0.95)))
    injured = rng.choice((0, 0, 1, 1, 2, 3, 4, 6))
    values = {
        "tong_so_tre_em": rng.randint(max(400, children_count * 25), 3200),
        "tre_em_hcdb": special,
        "tre_em_hcdb_duoc_tro_giup": special - rng.randint(0, special // 4),
        "tre_em_hckk": children_count - special + rng.randint(5, 80),
        "vu_xam_hai": rng.choice((0, 0, 0, 0, 1, 2)),
        "tre_em_tai_nan": injured,
        "tre_em_duoi_nuoc": rng.randint(0, min(injured, 2)),
        "buoi_tuyen_truyen": rng.randint(2, 14),
        "kinh_phi": rng.randint(10, 120) * 500_000,
    }
    if requirement is None:
        return values
    values = {ind.code: values.get(ind.code, rng.randint(0, 20)) for ind in requirement.indicators}
    for _ in range(len(requirement.rules) + 1):
        for rule in requirement.rules:
            left, right = values.get(rule.left), values.get(rule.right)
            if left is None or right is None or _RULE_OPS[rule.op](left, right):
                continue
            if rule.op == ">":
                values[rule.left] = right + 1
            elif rule.op == "<":
                if right == 0:
                    values[rule.right] = right = 1
                values[rule.left] = right - 1
            else:  # <=, >=, ==
                values[rule.left] = right
    return values


#: Ways a report comes back wrong -> what the reader says (all errors but "placeholder", a warning).
REPORT_ERRORS: dict[str, str] = {
    "negative": "a negative count",
    "blank": "a value left empty",
    "not-a-number": "words instead of a number",
    "decimal": "a decimal number",
    "rule": "a rule broken (more children helped than in special circumstances)",
    "placeholder": "the guidance line of section I left in place (warning)",
}


def break_report(
    form: bytes,
    kind: str,
    *,
    code: str | None = None,
    rule: tuple[str, str] = ("tre_em_hcdb_duoc_tro_giup", "tre_em_hcdb"),
) -> bytes:
    """A filled report with one realistic mistake (a blank form is filled with plausible values first).

    The value kinds change ``code`` (default the first indicator); "rule" makes rule[0] exceed rule[1].
    """
    if kind not in REPORT_ERRORS:
        raise ValueError(f"unknown report error {kind!r}; one of {', '.join(REPORT_ERRORS)}")
    doc = _ReportDoc(form)
    if not any(doc.get(c) for c in doc.codes):
        values = plausible_report_values(f"break:{kind}")
        for c in doc.codes:
            doc.set(c, _count_text(c, values.get(c, 3)))
    target = code or doc.codes[0]
    if kind == "negative":
        doc.set(target, "-3")
    elif kind == "blank":
        doc.set(target, "")
    elif kind == "not-a-number":
        doc.set(target, "khoảng mười")
    elif kind == "decimal":
        doc.set(target, "2,5")
    elif kind == "rule":
        left, right = rule
        digits = re.sub(r"\D", "", doc.get(right)) or "0"
        doc.set(left, str(int(digits) + 2))
    else:  # placeholder: the unit wrote its figures but left section I as the form had it
        _, _, placeholder = REPORT_SECTIONS[0]
        p = doc.sections.get("ket_qua")
        if p is None:
            body = doc.root.find(f"{{{_W}}}body")
            heading = next(x for x in body.findall(f"{{{_W}}}p") if _norm(_w_text(x)) == _norm(REPORT_SECTIONS[0][1]))
            p = etree.Element(f"{{{_W}}}p")
            heading.addnext(p)
        _w_set_text(p, placeholder)
    return doc.save()


# --------------------------------------------------------------------------- e-mail

_TAG = re.compile(r"\s*\[FU:([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z0-9][A-Za-z0-9_-]*)\]\s*")
_RE = re.compile(r"^\s*(re|tl|trả lời|aw|sv)\s*:", re.IGNORECASE)
_SMTP = policy.SMTP
_MIME = {
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": ("application", "pdf"),
    "xls": ("application", "vnd.ms-excel"),
    "doc": ("application", "msword"),
}


def _mime_type(filename: str) -> tuple[str, str]:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in _MIME:
        return _MIME[ext]
    guessed, _ = mimetypes.guess_type(filename)
    if guessed and "/" in guessed:
        main, sub = guessed.split("/", 1)
        return main, sub
    return "application", "octet-stream"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _one_line(value: object) -> str:
    return " ".join(_nfc(str(value or "")).split())


def _aware(date: dt.datetime) -> dt.datetime:
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware (e.g. tzinfo=ZoneInfo('Asia/Ho_Chi_Minh'))")
    return date


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def _message_id(domain: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def _attach(msg: EmailMessage, filename: str, data: bytes) -> None:
    name = _nfc(filename)
    maintype, subtype = _mime_type(name)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def _default_reply_body(office: str, names: Sequence[str], signature: str | None) -> str:
    lines = [f"Kính gửi: {office or 'Quý cơ quan'},", ""]
    who = signature or "Đơn vị"
    if names:
        lines.append(f"{who} xin gửi kèm theo thư này:")
        lines += [f"- {name}" for name in names]
    else:
        lines.append(f"{who} đã nhận được văn bản.")
    lines += ["", "Trân trọng./.", signature or ""]
    return "\n".join(lines).rstrip() + "\n"


def reply_email(
    original: bytes,
    attachments: Sequence[tuple[str, bytes]],
    *,
    from_addr: str | None = None,
    date: dt.datetime,
    body: str | None = None,
    quote_subject: bool = True,
    threading: bool = True,
    keep_tag: bool = True,
    from_name: str | None = None,
    signature: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A unit's reply to the message it received (raw bytes), with files, as a mail client sends it (CRLF).

    ``from_addr`` defaults to the original's first recipient. ``quote_subject`` answers "Re: <subject>";
    without it the unit writes a fresh subject ("Gửi báo cáo theo ..."). ``keep_tag=False`` drops the
    ``[FU:..]`` tag, ``threading=False`` the In-Reply-To/References headers, leaving the other evidence.
    The Message-ID is derived from the content, so a replay produces the same bytes.
    """
    head = BytesHeaderParser(policy=policy.default).parsebytes(original)
    subject = _one_line(head.get("Subject"))
    if not keep_tag:
        subject = _TAG.sub(" ", subject).strip()
    if quote_subject:
        subject = subject if _RE.match(subject) else f"Re: {subject}"
    else:
        plain = _TAG.sub(" ", subject).strip()
        subject = f"Gửi báo cáo theo {plain}"
        if keep_tag and (found := _TAG.search(_one_line(head.get("Subject")))):
            subject = f"{found.group(0).strip()} {subject}"
    office_name, office_addr = parseaddr(str(head.get("From", "")))
    if from_addr is None:
        recipients = getaddresses([str(v) for v in head.get_all("To", [])])
        if not recipients:
            raise ValueError("the original has no To address; give from_addr")
        from_addr = recipients[0][1]
    date = _aware(date)
    names = [_nfc(name) for name, _ in attachments]
    original_id = str(head.get("Message-ID", "") or "").strip()

    msg = EmailMessage(policy=_SMTP)
    msg["From"] = formataddr((from_name, from_addr)) if from_name else from_addr
    msg["To"] = formataddr((office_name, office_addr)) if office_name else office_addr
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or _message_id(
        _domain(from_addr), original_id, from_addr, date.isoformat(), subject, *names, *(len(d) for _, d in attachments)
    )
    if threading and original_id:
        msg["In-Reply-To"] = original_id
        refs = " ".join(_one_line(head.get("References")).split() + [original_id])
        msg["References"] = refs
    msg["MIME-Version"] = "1.0"
    text = body if body is not None else _default_reply_body(_one_line(office_name), names, signature)
    msg.set_content(_nfc(text), cte="quoted-printable")
    for name, data in attachments:
        _attach(msg, name, data)
    return msg.as_bytes()


def forward_email(
    inner: bytes,
    *,
    from_addr: str,
    to_addr: str,
    date: dt.datetime,
    body: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """``inner`` forwarded as a ``message/rfc822`` attachment, as a clerk forwards a unit's reply."""
    date = _aware(date)
    inner_msg = BytesParser(policy=policy.default).parsebytes(inner)
    subject = _one_line(inner_msg.get("Subject"))
    sender = _one_line(inner_msg.get("From"))
    msg = EmailMessage(policy=_SMTP)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = f"Fwd: {subject}"
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or _message_id(
        _domain(from_addr), "fwd", str(inner_msg.get("Message-ID", "")), from_addr, to_addr, date.isoformat()
    )
    msg["MIME-Version"] = "1.0"
    text = body if body is not None else f"Chuyển tiếp thư của {sender or 'đơn vị'} (tệp đính kèm).\n"
    msg.set_content(_nfc(text), cte="quoted-printable")
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", subject).strip()[:80] or "thu-chuyen-tiep"
    msg.add_attachment(inner_msg, disposition="attachment", filename=f"{stem}.eml")
    return msg.as_bytes()


def attachments_of(raw: bytes, *, nested: bool = False) -> dict[str, bytes]:
    """The files a message carries, by decoded (NFC) name. A forwarded message counts as one ``.eml`` file;
    with ``nested=True`` the files inside forwarded messages are listed too. Repeated names get " (2)"."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    found: dict[str, bytes] = {}

    def add(name: str, data: bytes) -> None:
        key, n = name, 1
        while key in found:
            n += 1
            stem, dot, ext = name.rpartition(".")
            key = f"{stem} ({n}).{ext}" if dot else f"{name} ({n})"
        found[key] = data

    def walk(part: Any, top: bool) -> None:
        if part.get_content_type() == "message/rfc822" and not top:
            inner = part.get_payload()[0] if part.is_multipart() else None
            if inner is None:
                return
            subject = _one_line(inner.get("Subject")) or "thu"
            add(_nfc(part.get_filename() or f"{subject}.eml"), inner.as_bytes(policy=_SMTP))
            if nested:
                walk(inner, True)
            return
        if part.is_multipart():
            for child in part.iter_parts():
                walk(child, False)
            return
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            add(_nfc(filename or "tep-dinh-kem"), part.get_payload(decode=True) or b"")

    walk(msg, True)
    return found


# --------------------------------------------------------------------------- playing the units

BehaviourKind = Literal["on-time", "late", "errors", "never"]


@dataclass(frozen=True)
class Behaviour:
    """What a unit does with the directive it received.

    ``at``: when it replies (aware); None derives it from the message: "on-time" a few days after it was sent
    and before the earliest deadline, "late" a few days after the latest deadline. "errors" breaks one form
    with ``error`` (a LIST_ERRORS or REPORT_ERRORS kind; default "bad-group" on a list, "rule" on a report).
    ``forms``: requirement codes the unit returns (None: all). ``children``: rows of its list (None: seeded).
    """

    kind: BehaviourKind = "on-time"
    at: dt.datetime | None = None
    error: str | None = None
    threading: bool = True
    keep_tag: bool = True
    quote_subject: bool = True
    from_addr: str | None = None
    forms: frozenset[str] | None = None
    children: int | None = None


_DEADLINE = re.compile(r"(?:chậm nhất|trước)\s+ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)
_ADDRESSEE = re.compile(r"^\s*Kính gửi:\s*(.+?),?\s*$", re.MULTILINE)


@dataclass
class _Received:
    raw: bytes
    unit: str | None
    sent: dt.datetime
    text: str
    forms: list[tuple[str, bytes, FormIdentity]]


def _read_received(raw: bytes) -> _Received:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    tag = _TAG.search(_one_line(msg.get("Subject")))
    try:
        sent = msg["Date"].datetime if msg["Date"] is not None else None
    except (TypeError, ValueError, AttributeError):
        sent = None
    if sent is None or sent.tzinfo is None:
        sent = dt.datetime(2023, 2, 6, 8, 0, tzinfo=OFFICE_TZ)
    text, forms = "", []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename:
            name = _nfc(filename)
            if name.lower().endswith((".xlsx", ".docx")):
                data = part.get_payload(decode=True) or b""
                try:
                    identity = read_identity(data, name)
                except UnreadableForm:
                    identity = None
                if identity is not None:
                    forms.append((name, data, identity))
        elif part.get_content_type() == "text/plain" and not text:
            text = _nfc(part.get_content())
    unit = tag[2] if tag else (forms[0][2].unit if forms else None)
    return _Received(raw, unit, sent.astimezone(OFFICE_TZ), text, forms)


def _reply_moment(received: _Received, behaviour: Behaviour, rng: random.Random) -> dt.datetime:
    if behaviour.at is not None:
        return _aware(behaviour.at)
    deadlines = sorted(dt.date(int(y), int(m), int(d)) for d, m, y in _DEADLINE.findall(received.text))
    clock = dt.time(rng.randint(7, 16), rng.randint(0, 59), tzinfo=OFFICE_TZ)
    sent_day = received.sent.date()
    if behaviour.kind == "late":
        base = deadlines[-1] if deadlines else sent_day + dt.timedelta(days=40)
        day = base + dt.timedelta(days=rng.randint(1, 10))
    else:
        day = sent_day + dt.timedelta(days=rng.randint(1, 6))
        if deadlines and day >= deadlines[0]:
            day = max(sent_day, deadlines[0] - dt.timedelta(days=1))
    moment = dt.datetime.combine(day, clock)
    return max(moment, received.sent + dt.timedelta(minutes=30))


def _fill(name: str, data: bytes, identity: FormIdentity, seed: str, count: int, as_of: dt.date) -> bytes:
    if name.lower().endswith(".xlsx"):
        return fill_children_list(data, synthetic_children(count, seed=seed, as_of=as_of))
    values = plausible_report_values(seed, count)
    doc = _ReportDoc(data)
    rng = random.Random(f"extra:{seed}")
    for code in doc.codes:  # indicators this simulator does not know: small plausible counts
        values.setdefault(code, rng.randint(0, 20))
    for code, value in values.items():
        doc.set(code, _count_text(code, value))
    for key, text in default_narrative(seed, values).items():
        doc.write_section(key, text)
    return doc.save()


def play_units(
    outbox_messages: Iterable[bytes],
    plan: Mapping[str, Behaviour | str],
    *,
    default: Behaviour | str | None = None,
    seed: int | str = 0,
) -> list[bytes]:
    """Replies of the units to the messages dispatched to them, ready to drop into an inbox.

    Each message's unit comes from its subject tag, else from the identity of its forms. A unit answers its
    first message that carries forms, per its ``plan`` entry (a Behaviour or just its kind), else ``default``
    (None: no reply). Every form attached comes back filled; "errors" breaks one; "never" sends nothing.
    """
    replies: list[bytes] = []
    answered: set[str] = set()
    for raw in outbox_messages:
        received = _read_received(raw)
        unit = received.unit
        if unit is None or unit in answered or not received.forms:
            continue
        behaviour = plan.get(unit, default)
        if behaviour is None:
            continue
        if isinstance(behaviour, str):
            behaviour = Behaviour(kind=behaviour)  # type: ignore[arg-type]
        answered.add(unit)
        if behaviour.kind == "never":
            continue
        rng = random.Random(f"unit:{seed}:{unit}")
        at = _reply_moment(received, behaviour, rng)
        count = behaviour.children if behaviour.children is not None else rng.randint(3, 15)
        chosen = [f for f in received.forms if behaviour.forms is None or f[2].requirement in behaviour.forms]
        files = [
            (name, _fill(name, data, identity, f"{seed}:{unit}:{identity.requirement}", count, at.date()))
            for name, data, identity in chosen
        ]
        if behaviour.kind == "errors" and files:
            files = _break_one(files, behaviour.error, at.date())
        addressee = _ADDRESSEE.search(received.text)
        replies.append(
            reply_email(
                raw,
                files,
                from_addr=behaviour.from_addr,
                date=at,
                threading=behaviour.threading,
                keep_tag=behaviour.keep_tag,
                quote_subject=behaviour.quote_subject,
                signature=addressee[1].strip() if addressee else None,
            )
        )
    return replies


def _break_one(files: list[tuple[str, bytes]], error: str | None, as_of: dt.date) -> list[tuple[str, bytes]]:
    wants = ".xlsx" if error in LIST_ERRORS else ".docx" if error in REPORT_ERRORS else None
    if error is not None and wants is None:
        raise ValueError(f"unknown error kind {error!r}; one of {', '.join([*LIST_ERRORS, *REPORT_ERRORS])}")
    for i, (name, data) in enumerate(files):
        is_list = name.lower().endswith(".xlsx")
        if wants is not None and not name.lower().endswith(wants):
            continue
        if is_list:
            broken = break_children_list(data, error or "bad-group", as_of=as_of)
        else:
            broken = break_report(data, error or "rule")
        return [*files[:i], (name, broken), *files[i + 1 :]]
    raise ValueError(f"no {wants} form in this reply to break with {error!r}")
