"""Units that reply: forms filled as a commune officer fills them, broken as people break them, and the e-mails
that carry them back. Used by ``followup demo`` (which plays the units), integration tests and benchmarks.

Pure functions over bytes: no database, no network. Everything random is seeded, so a run can be replayed.

Filling edits the XML parts of the received .xlsx/.docx directly and copies every other part unchanged: the
form identity (custom and core properties, visible line), styles, drop-downs and hidden sheets stay as they
were, and a reply costs a few milliseconds instead of an openpyxl/python-docx round trip.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import io
import mimetypes
import operator
import quopri
import random
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr, parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal

from lxml import etree

from followup.domain.clock import OFFICE_TZ
from followup.domain.config import Requirement
from followup.forms.children_list import CHILDREN_COLUMNS, CHILDREN_SHEET
from followup.forms.identity import FormIdentity
from followup.forms.periodic_report import REPORT_SECTIONS, REPORT_TABLE_INTRO
from followup.forms.special_groups import group_choice

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


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


def _rezip(data: bytes, replaced: Mapping[str, bytes]) -> bytes:
    """The same package, entry order and names, with some parts replaced.

    Unchanged entries are copied still compressed (zipfile would inflate and deflate every part: the 800 kB
    of styles in a python-docx file cost more than everything else in a reply).
    """
    out = bytearray()
    central = bytearray()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = src.infolist()
        for info in infos:
            name = info.filename.encode("utf-8")
            flags = 0x800 if not info.filename.isascii() else 0
            body = replaced.get(info.filename)
            if body is None and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                start = info.header_offset
                name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
                begin = start + 30 + name_len + extra_len
                packed, method, crc, size = (
                    data[begin : begin + info.compress_size],
                    info.compress_type,
                    info.CRC,
                    info.file_size,
                )
            else:
                raw = src.read(info) if body is None else body
                compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
                packed = compressor.compress(raw) + compressor.flush()
                method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(raw), len(raw)
            year, month, day, hour, minute, second = info.date_time
            dos_date = max(year - 1980, 0) << 9 | month << 5 | day
            dos_time = hour << 11 | minute << 5 | second // 2
            offset = len(out)
            out += _LOCAL.pack(0x04034B50, 20, flags, method, dos_time, dos_date, crc, len(packed), size, len(name), 0)
            out += name
            out += packed
            central += _CENTRAL.pack(
                0x02014B50, 20, 20, flags, method, dos_time, dos_date, crc, len(packed), size, len(name), 0, 0, 0, 0,
                info.external_attr, offset,
            )  # fmt: skip
            central += name
    cd_offset = len(out)
    out += central
    out += _END.pack(0x06054B50, 0, 0, len(infos), len(infos), len(central), cd_offset, 0)
    return bytes(out)


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
            self.shared = ["".join(si.itertext()) for si in _xml(shared).iterfind(f"{{{_S}}}si")] if shared else []
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
            row = _xml(wrapped)[0][0]
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
        return _rezip(self.data, {self.path: xml})


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

    def reset_section(self, key: str) -> None:
        """Put the form's placeholder back as the only text of a section."""
        heading_text = next(_norm(heading) for k, heading, _ in REPORT_SECTIONS if k == key)
        placeholder = next(text for k, _, text in REPORT_SECTIONS if k == key)
        stops = {_norm(h) for _, h, _ in REPORT_SECTIONS} | {_norm(REPORT_TABLE_INTRO)}
        body = self.root.find(f"{{{_W}}}body")
        heading = next((p for p in body.findall(f"{{{_W}}}p") if _norm(_w_text(p)) == heading_text), None)
        if heading is None:
            raise ValueError(f"no heading for section {key} in this report")
        node = heading.getnext()
        while node is not None and node.tag == f"{{{_W}}}p" and _norm(_w_text(node)) not in stops:
            following = node.getnext()
            if _w_text(node).strip():
                body.remove(node)
            node = following
        p = etree.Element(f"{{{_W}}}p")
        heading.addnext(p)
        _w_set_text(p, placeholder)
        self.sections[key] = p

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
    else:  # placeholder: the unit filled the figures but left section I as the form had it
        doc.reset_section("ket_qua")
    return doc.save()


# --------------------------------------------------------------------------- e-mail
#
# Messages are EmailMessage objects (policy SMTP: CRLF) whose headers are set already encoded and folded, as
# a mail client writes them: RFC 2047 words for Vietnamese subjects and names, RFC 2231 for file names. Letting
# the policy fold them costs milliseconds per header and, on Python 3.11, drops the space between two encoded
# words of a long subject ("công tác" -> "côngtác").

_TAG = re.compile(r"\s*\[FU:([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z0-9][A-Za-z0-9_-]*)\]\s*")
_RE = re.compile(r"^\s*(re|tl|trả lời|aw|sv)\s*:", re.IGNORECASE)
_SMTP = policy.SMTP
_MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xls": "application/vnd.ms-excel",
    "doc": "application/msword",
    "eml": "message/rfc822",
}
_ATTR_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")


def _mime_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _MIME.get(ext) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


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


def _encoded(name: str, value: str) -> str:
    """A header value as a mail client writes it: plain ASCII, or RFC 2047 words folded under 78 columns."""
    value = _one_line(value)
    if value.isascii() and len(name) + len(value) < 76:
        return value
    return Header(value, "us-ascii" if value.isascii() else "utf-8", maxlinelen=76, header_name=name).encode("\n")


def _address(name: str | None, addr: str) -> str:
    if not name:
        return addr
    shown = _encoded("From", name) if not name.isascii() else formataddr((name, addr)).rsplit(" <", 1)[0]
    last = shown.rsplit("\n", 1)[-1]
    return f"{shown}\n <{addr}>" if len(last) + len(addr) > 66 else f"{shown} <{addr}>"


def _param(name: str, value: str) -> str:
    """``; name="value"``, or RFC 2231 ``name*=utf-8''...`` split into continuations of short lines."""
    if value.isascii() and len(value) < 60 and not set(value) & set('"\\\r\n'):
        return f';\n {name}="{value}"'
    encoded = "".join(chr(b) if b in _ATTR_CHARS else f"%{b:02X}" for b in value.encode("utf-8"))
    if len(encoded) + len(name) < 64:
        return f";\n {name}*=utf-8''{encoded}"
    chunks = []
    while encoded:
        cut = 54
        if len(encoded) > cut and "%" in encoded[cut - 2 : cut]:
            cut = encoded.rindex("%", 0, cut)  # never split a %XX triplet
        chunks.append(encoded[:cut])
        encoded = encoded[cut:]
    charset = "utf-8''"
    return "".join(f";\n {name}*{i}*={charset if i == 0 else ''}{chunk}" for i, chunk in enumerate(chunks))


def _part(content_type: str, payload: Any, *, encoding: str | None = None, filename: str | None = None) -> Any:
    part = EmailMessage(policy=_SMTP)
    lead = "\n " if len(content_type) > 60 else ""
    if filename is not None and not content_type.startswith("message/"):
        part.set_raw("Content-Type", lead + content_type + _param("name", filename))
    else:
        part.set_raw("Content-Type", lead + content_type)
    if encoding:
        part.set_raw("Content-Transfer-Encoding", encoding)
    if filename is not None:
        part.set_raw("Content-Disposition", "attachment" + _param("filename", filename))
    part.set_payload(payload)
    return part


def _text_part(text: str) -> Any:
    body = quopri.encodestring(_nfc(text).replace("\r\n", "\n").encode("utf-8")).decode("ascii")
    return _part('text/plain; charset="utf-8"', body, encoding="quoted-printable")


def _file_part(filename: str, data: bytes) -> Any:
    name = _nfc(filename)
    return _part(_mime_type(name), base64.encodebytes(data).decode("ascii"), encoding="base64", filename=name)


def _mixed(headers: Sequence[tuple[str, str]], parts: Sequence[Any], seed: str) -> bytes:
    msg = EmailMessage(policy=_SMTP)
    for name, value in headers:
        msg.set_raw(name, value)
    boundary = "----=_Part_" + hashlib.sha256(seed.encode()).hexdigest()[:28]
    msg.set_raw("MIME-Version", "1.0")
    msg.set_raw("Content-Type", f'multipart/mixed;\n boundary="{boundary}"')
    msg.set_payload(list(parts))
    return msg.as_bytes()


@dataclass(frozen=True)
class _Original:
    """The headers of a received message that a reply needs."""

    subject: str
    from_raw: str
    to: tuple[str, ...]
    message_id: str
    references: str
    office_name: str


def _headers_of(raw: bytes) -> _Original:
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: end + 2])
    unfold = lambda value: re.sub(r"\r?\n(?=[ \t])", "", str(value or ""))  # noqa: E731
    subject = _one_line(policy.default.header_factory("Subject", unfold(head.get("Subject"))))
    from_raw = unfold(head.get("From")).strip()
    office_name = ""
    if from_raw:
        addresses = policy.default.header_factory("From", from_raw).addresses
        office_name = _one_line(addresses[0].display_name) if addresses else ""
    return _Original(
        subject=subject,
        from_raw=from_raw,
        to=tuple(addr for _, addr in getaddresses([unfold(v) for v in head.get_all("To", [])]) if addr),
        message_id=unfold(head.get("Message-ID")).strip(),
        references=" ".join(unfold(head.get("References")).split()),
        office_name=office_name,
    )


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
    ``signature`` (the unit's name) closes the default body. The Message-ID is derived from the content, so
    a replay gives the same bytes.
    """
    return _reply(_headers_of(original), attachments, from_addr, date, body, quote_subject, threading, keep_tag,
                  from_name, signature, message_id)  # fmt: skip


def _reply(
    original: _Original,
    attachments: Sequence[tuple[str, bytes]],
    from_addr: str | None,
    date: dt.datetime,
    body: str | None,
    quote_subject: bool,
    threading: bool,
    keep_tag: bool,
    from_name: str | None,
    signature: str | None,
    message_id: str | None,
) -> bytes:
    date = _aware(date)
    tag = _TAG.search(original.subject)
    plain = _TAG.sub(" ", original.subject).strip()
    if quote_subject:
        subject = original.subject if keep_tag else plain
        subject = subject if _RE.match(subject) else f"Re: {subject}"
    else:
        subject = f"Gửi báo cáo theo {_RE.sub('', plain).strip()}"
        if keep_tag and tag:
            subject = f"{tag.group(0).strip()} {subject}"
    if from_addr is None:
        if not original.to:
            raise ValueError("the original has no To address; give from_addr")
        from_addr = original.to[0]
    names = [_nfc(name) for name, _ in attachments]
    mid = message_id or _message_id(
        _domain(from_addr), original.message_id, from_addr, date.isoformat(), subject, *names,
        *(hashlib.sha256(data).hexdigest() for _, data in attachments),
    )  # fmt: skip
    headers = [
        ("From", _address(from_name, from_addr)),
        (
            "To",
            _address(original.office_name, parseaddr(original.from_raw)[1])
            if original.from_raw
            else "undisclosed-recipients:;",
        ),
        ("Subject", _encoded("Subject", subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", mid),
    ]
    if threading and original.message_id:
        headers.append(("In-Reply-To", original.message_id))
        headers.append(("References", "\n ".join([*original.references.split(), original.message_id])))
    text = body if body is not None else _default_reply_body(original.office_name, names, signature)
    parts = [_text_part(text), *(_file_part(name, data) for name, data in attachments)]
    return _mixed(headers, parts, mid)


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
    inner_msg = BytesParser(policy=_SMTP).parsebytes(inner)
    head = _headers_of(inner)
    sender = parseaddr(head.from_raw)[1] or "đơn vị"
    mid = message_id or _message_id(_domain(from_addr), "fwd", head.message_id, from_addr, to_addr, date.isoformat())
    headers = [
        ("From", from_addr),
        ("To", to_addr),
        ("Subject", _encoded("Subject", f"Fwd: {head.subject}")),
        ("Date", format_datetime(date)),
        ("Message-ID", mid),
    ]
    text = body if body is not None else f"Chuyển tiếp thư của {sender} (tệp đính kèm).\n"
    stem = " ".join(re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", head.subject).split())[:80].strip() or "thu-chuyen-tiep"
    attached = _part("message/rfc822", [inner_msg], filename=f"{stem}.eml")
    return _mixed(headers, [_text_part(text), attached], mid)


def _decoded_name(name: str | None) -> str | None:
    if name and "=?" in name:  # RFC 2047 words in a parameter, as Outlook writes them
        name = str(policy.default.header_factory("X-Name", name))
    return _nfc(name) if name else None


def attachments_of(raw: bytes, *, nested: bool = False) -> dict[str, bytes]:
    """The files a message carries, by decoded (NFC) name. A forwarded message counts as one ``.eml`` file;
    with ``nested=True`` the files inside forwarded messages are listed too. Repeated names get " (2)"."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
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
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                return
            subject = _one_line(policy.default.header_factory("Subject", str(inner.get("Subject", "")))) or "thu"
            add(_decoded_name(part.get_filename()) or f"{subject}.eml", inner.as_bytes(policy=policy.compat32))
            if nested:
                walk(inner, True)
            return
        if part.is_multipart():
            for child in part.get_payload():
                walk(child, False)
            return
        filename = _decoded_name(part.get_filename())
        if filename or part.get_content_disposition() == "attachment":
            add(filename or "tep-dinh-kem", part.get_payload(decode=True) or b"")

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

    def __post_init__(self) -> None:
        if self.kind not in ("on-time", "late", "errors", "never"):
            raise ValueError(f"unknown behaviour {self.kind!r}; one of on-time, late, errors, never")
        if self.error is not None and self.error not in LIST_ERRORS and self.error not in REPORT_ERRORS:
            raise ValueError(f"unknown error kind {self.error!r}; one of {', '.join([*LIST_ERRORS, *REPORT_ERRORS])}")
        if self.at is not None:
            _aware(self.at)


_DEADLINE = re.compile(r"(?:chậm nhất|trước)\s+ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)
_ADDRESSEE = re.compile(r"^\s*Kính gửi:\s*(.+?),?\s*$", re.MULTILINE)


@dataclass
class _Received:
    raw: bytes
    head: _Original
    unit: str | None
    sent: dt.datetime
    text: str
    forms: list[tuple[str, bytes, FormIdentity]]


def _quick_identity(data: bytes) -> FormIdentity | None:
    """The identity of a dispatched form, from its custom or core properties (our forms carry both).

    The letter has neither; the visible-text scan of ``read_identity`` is not needed for our own outbox.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            for part in ("docProps/custom.xml", "docProps/core.xml"):
                if part in names:
                    found = FormIdentity.parse(zf.read(part).decode("utf-8", "replace"))
                    if found:
                        return found
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    return None


def _read_received(raw: bytes) -> _Received:
    head = _headers_of(raw)
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    tag = _TAG.search(head.subject)
    try:
        sent = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        sent = None
    if sent is None or sent.tzinfo is None:
        sent = dt.datetime(2023, 2, 6, 8, 0, tzinfo=OFFICE_TZ)
    text, forms = "", []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = _decoded_name(part.get_filename())
        if name:
            if name.lower().endswith((".xlsx", ".docx")):
                data = part.get_payload(decode=True) or b""
                identity = _quick_identity(data)
                if identity is not None:
                    forms.append((name, data, identity))
        elif part.get_content_type() == "text/plain" and not text:
            payload = part.get_payload(decode=True) or b""
            text = _nfc(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    unit = tag[2] if tag else (forms[0][2].unit if forms else None)
    return _Received(raw, head, unit, sent.astimezone(OFFICE_TZ), text, forms)


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
        signature = addressee[1].strip() if addressee else None
        replies.append(
            _reply(received.head, files, behaviour.from_addr, at, None, behaviour.quote_subject,
                   behaviour.threading, behaviour.keep_tag, None, signature, None)
        )  # fmt: skip
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
