"""Reading returned forms back into data, with problems a unit can fix without calling the district.

Pure functions over bytes. Files come from outside and are hand-filled, so the reader is lenient about form
(composed or decomposed text, dates typed many ways, inserted columns, merged cells, Word tables) and strict
about content (the Law on Children's groups and age limit). Problems locate a cell, never quote it: the list
holds children's names and circumstances, which must not reach logs or e-mail.
"""

from __future__ import annotations

import datetime as dt
import io
import operator
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from followup.domain.config import Requirement
from followup.forms.identity import (
    CHILDREN_COLUMNS,
    CHILDREN_SHEET,
    GUIDE_SHEET,
    LIST_SHEET,
    REPORT_SECTIONS,
    REPORT_TABLE_INTRO,
    SPECIAL_GROUPS,
    VISIBLE_LABEL,
    UnreadableForm,
    open_package,
)

__all__ = [
    "ChildRow",
    "ChildrenListReading",
    "FormProblem",
    "ReportReading",
    "UnreadableForm",
    "parse_count",
    "parse_date",
    "parse_groups",
    "read_children_list",
    "read_periodic_report",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong in a returned form, located by sheet/table, row and column, never by its content."""

    sheet: str | None
    row: int | None
    column: str | None
    field: str | None
    message_vi: str
    severity: Severity = "error"

    @classmethod
    def whole(cls, message_vi: str, severity: Severity = "error", field: str | None = None) -> FormProblem:
        """A problem of the form as a whole (no sheet, row or column to point at)."""
        return cls(None, None, None, field, message_vi, severity)

    @property
    def location_vi(self) -> str:
        parts = []
        if self.sheet:
            parts.append(self.sheet)
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column:
            title = FIELD_TITLES.get(self.field or "", "")
            parts.append(f"cột {self.column}" + (f" ({title})" if title else ""))
        elif self.field in FIELD_TITLES:
            parts.append(f"cột {FIELD_TITLES[self.field or '']}")
        return ", ".join(parts)

    def __str__(self) -> str:
        label = "Lỗi" if self.severity == "error" else "Lưu ý"
        where = self.location_vi
        return f"{label} ({where}): {self.message_vi}" if where else f"{label}: {self.message_vi}"


@dataclass(frozen=True)
class ChildRow:
    """One child as the unit listed it. Personal fields stay out of repr() so logging a row leaks nothing."""

    name: str = field(repr=False)
    birth_date: dt.date | None = field(repr=False)
    sex: str | None = field(repr=False)
    ethnicity: str | None = field(repr=False)
    village: str | None = field(repr=False)
    carer: str | None = field(repr=False)
    groups: tuple[str, ...] = field(repr=False)
    difficult: bool | None = field(repr=False)
    support: str | None = field(repr=False)
    support_amount: int | None = field(repr=False)
    note: str | None = field(repr=False)
    source_row: int
    sheet: str = ""


@dataclass
class _Reading:
    """What was read, with its problems; only errors make a form unacceptable."""

    problems: list[FormProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FormProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ChildrenListReading(_Reading):
    rows: list[ChildRow] = field(default_factory=list)


@dataclass
class ReportReading(_Reading):
    values: dict[str, int | None] = field(default_factory=dict)
    narrative: dict[str, str] = field(default_factory=dict)


FIELD_TITLES: dict[str, str] = {c.key: c.title for c in CHILDREN_COLUMNS}

# --------------------------------------------------------------------------- text helpers


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _clean(value: Any) -> str:
    """Cell text as a person means it: composed, single-spaced, no invisible characters."""
    if value is None:
        return ""
    text = _nfc(str(value)).replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip()


def _key(text: str) -> str:
    """A title reduced to bare letters and digits, so "Họ và tên", "HỌ VÀ TÊN:" and "Ho va ten" all match."""
    text = unicodedata.normalize("NFD", _clean(text).lower()).replace("đ", "d")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text)


# Column titles a unit might use; matched on _key(title) equal to, or starting with, a key.
_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "stt": ("stt", "sốtt", "sốthứtự", "tt"),
    "name": ("họ và tên", "họ tên", "tên trẻ", "tên trẻ em", "họ và tên trẻ em"),
    "birth_date": ("ngày sinh", "ngày tháng năm sinh", "ngày, tháng, năm sinh", "sinh ngày"),
    "sex": ("giới tính", "nam/nữ"),
    "ethnicity": ("dân tộc",),
    "village": ("thôn/bản/tổ", "thôn", "bản", "tổ dân phố", "địa chỉ", "nơi ở", "nơi cư trú"),
    "carer": ("cha/mẹ/người chăm sóc", "cha mẹ", "người chăm sóc", "họ tên cha mẹ", "người nuôi dưỡng"),
    "groups": ("nhóm hoàn cảnh đặc biệt", "nhóm HCĐB", "hoàn cảnh đặc biệt", "HCĐB", "nhóm trẻ em", "nhóm"),
    "difficult": ("hoàn cảnh khó khăn", "HCKK", "khó khăn"),
    "support": ("hỗ trợ đã nhận", "hỗ trợ", "chính sách hỗ trợ", "trợ giúp"),
    "note": ("ghi chú",),
}
_SYNONYM_KEYS = {f: tuple(_key(s) for s in syns) for f, syns in _HEADER_SYNONYMS.items()}
# Words that make a title the carer's even when it starts like the child's ("Họ và tên cha mẹ").
_CARER_WORDS = ("chame", "chamsoc", "giamho", "nuoiduong")


def _header_field(title: str) -> str | None:
    """The field a column title names: exact match, then carer words, then the longest matching prefix."""
    k = _key(title)
    if not k:
        return None
    for fld, keys in _SYNONYM_KEYS.items():
        if k in keys:
            return fld
    if any(word in k for word in _CARER_WORDS):
        return "carer"
    best: tuple[int, str | None] = (0, None)
    for fld, keys in _SYNONYM_KEYS.items():
        for s in keys:
            if len(s) > 3 and k.startswith(s) and len(s) > best[0]:
                best = (len(s), fld)
    return best[1]


def _match_header(cells: list[str]) -> dict[str, int] | None:
    """Map field -> column index if ``cells`` looks like the header of the children list."""
    mapping: dict[str, int] = {}
    for index, text in enumerate(cells):
        fld = _header_field(text)
        if fld and fld not in mapping:
            mapping[fld] = index
    if "name" in mapping and len(mapping) >= 3:
        return mapping
    return None


# --------------------------------------------------------------------------- value parsers

_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_WORDS = re.compile(r"^ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})$")
_ERROR_VALUES = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"}


class _ValueError(Exception):
    """A cell value that cannot be used; carries the Vietnamese explanation (without the value)."""

    def __init__(self, message_vi: str):
        self.message_vi = message_vi
        super().__init__(message_vi)


def parse_date(value: Any, *, epoch: dt.datetime | None = None) -> dt.date | None:
    """A birth date from an Excel date, a serial number or text; None when blank; _ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.time):
        raise _ValueError(
            "Ô chứa giờ chứ không phải ngày; ghi ngày sinh theo dạng ngày/tháng/năm, ví dụ 20/02/2015.",
        )
    if isinstance(value, bool):
        raise _ValueError("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    if isinstance(value, int | float):
        if float(value).is_integer() and 1900 <= value <= 2100:
            raise _ValueError("Chỉ có năm sinh; ghi đủ ngày/tháng/năm sinh, ví dụ 20/02/2015.")
        if 20000 <= value <= 80000:  # an Excel serial date in a cell not formatted as a date
            from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

            converted = from_excel(value, epoch or CALENDAR_WINDOWS_1900)
            return converted.date() if isinstance(converted, dt.datetime) else converted
        raise _ValueError("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    text = _clean(value).lower()
    if not text:
        return None
    if match := _ISO.match(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := (_DMY.match(text) or _WORDS.match(text)):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if year < 100:
            raise _ValueError("Năm sinh chỉ có 2 chữ số; ghi đủ 4 chữ số, ví dụ 20/02/2015.")
    elif re.fullmatch(r"\d{4}", text):
        raise _ValueError("Chỉ có năm sinh; ghi đủ ngày/tháng/năm sinh, ví dụ 20/02/2015.")
    else:
        raise _ValueError("Ngày sinh không đọc được; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        if month > 12 and day <= 12:
            raise _ValueError(
                "Ngày sinh không hợp lệ: có thể đã ghi tháng trước ngày. Ghi theo thứ tự ngày/tháng/năm, "
                "ví dụ 20/02/2015."
            ) from None
        raise _ValueError("Ngày sinh không có thật (ngày hoặc tháng sai); kiểm tra lại.") from None


_GROUP_LETTERS = "".join(SPECIAL_GROUPS)
_LETTER_TOKEN = re.compile(r"(?<!\w)(?:nhóm\s*)?([a-zđ])(?!\w)")
_GROUP_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a", ("mồ côi",)),
    ("b", ("bỏ rơi",)),
    ("c", ("không nơi nương tựa", "nương tựa")),
    ("d", ("khuyết tật",)),
    ("đ", ("hiv", "aids")),
    ("e", ("vi phạm pháp luật",)),
    ("g", ("ma túy", "ma tuý", "nghiện")),
    ("h", ("bỏ học",)),
    ("i", ("bạo lực",)),
    ("k", ("bóc lột",)),
    ("l", ("xâm hại tình dục",)),
    ("m", ("mua bán",)),
    ("n", ("bệnh hiểm nghèo", "điều trị dài ngày")),
    ("o", ("di cư", "lánh nạn", "tị nạn")),
)


def parse_groups(value: Any) -> tuple[str, ...]:
    """Group letters from "d", "D)", "nhóm d", "d) Khuyết tật", "d, n" or a label; _ValueError if unknown."""
    text = _clean(value).lower()
    if not text:
        return ()
    letters = _LETTER_TOKEN.findall(text)
    if not letters:
        letters = [letter for letter, words in _GROUP_KEYWORDS if any(w in text for w in words)]
        if not letters:
            raise _ValueError(
                "Không nhận ra nhóm hoàn cảnh đặc biệt. Chọn trong danh sách hoặc ghi chữ cái của nhóm "
                f"({', '.join(_GROUP_LETTERS)}), ví dụ: d."
            )
    bad = [letter for letter in letters if letter not in SPECIAL_GROUPS]
    if bad:
        raise _ValueError(
            "Nhóm hoàn cảnh đặc biệt không hợp lệ: chỉ có 14 nhóm a, b, c, d, đ, e, g, h, i, k, l, m, n, o "
            "(không có f, j và các chữ khác). Chọn lại trong danh sách."
        )
    ordered = sorted(set(letters), key=_GROUP_LETTERS.index)
    return tuple(ordered)


def _parse_sex(value: Any) -> str | None:
    text = _clean(value).lower()
    if not text:
        return None
    if text in {"nam", "trai", "m", "male"}:
        return "Nam"
    if text in {"nữ", "nu", "gái", "f", "female"}:
        return "Nữ"
    raise _ValueError("Giới tính ghi Nam hoặc Nữ.")


def _parse_yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _clean(value).lower()
    if not text:
        return None
    if text in {"có", "co", "x", "v", "✓", "✔", "yes", "c"}:
        return True
    if text in {"không", "khong", "k", "no", "-"}:
        return False
    raise _ValueError("Hoàn cảnh khó khăn ghi Có hoặc Không.")


_GROUPED = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


def parse_count(value: Any, unit: str | None = None) -> int | None:
    """A non-negative whole number; '.' ',' and spaces group thousands ("1.234.567"). None when blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _ValueError("Phải là số nguyên không âm (ghi 0 nếu không có).")
    if isinstance(value, int | float):
        if not float(value).is_integer():
            raise _ValueError("Phải là số nguyên (không có phần thập phân).")
        if value < 0:
            raise _ValueError("Không được là số âm.")
        return int(value)
    text = _clean(value).lower()
    if not text:
        return None
    suffixes = {"đ", "đồng", "vnđ", "vnd"} if (unit or "").lower() == "đồng" else set()
    if unit:
        suffixes.add(_clean(unit).lower())
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
            break
    if text.startswith("-") and re.fullmatch(r"-\s*[\d.,\s]+", text):
        raise _ValueError("Không được là số âm.")
    if re.fullmatch(r"\d+", text):
        return int(text)
    if _GROUPED.match(text):
        return int(re.sub(r"[.,\s]", "", text))
    if re.fullmatch(r"\d+[.,]\d+", text):
        raise _ValueError("Phải là số nguyên; dấu chấm/phẩy chỉ dùng để tách hàng nghìn (ví dụ 1.234.567).")
    raise _ValueError("Không phải là số; ghi số nguyên không âm, ghi 0 nếu không có.")


# --------------------------------------------------------------------------- children list


@dataclass
class _Cell:
    """A value with where it came from; ``formula_missing`` when a formula has no computed value saved."""

    value: Any
    column: str
    formula_missing: bool = False
    error_value: bool = False


@dataclass
class _Table:
    """A grid read from a sheet or a Word table, rows numbered as the unit sees them."""

    sheet: str
    rows: list[tuple[int, list[_Cell]]]
    epoch: dt.datetime | None = None


_TOO_OLD = "Trẻ đã đủ 16 tuổi, không còn là trẻ em theo Luật Trẻ em; bỏ dòng này hoặc sửa ngày sinh."
_USE_FORM = "dùng lại biểu mẫu đã gửi kèm"
_NO_TABLE = f"Không tìm thấy bảng số liệu (các cột Chỉ tiêu, Số liệu); {_USE_FORM}."
MAX_ROWS = 20_000  # far more children than a commune lists; bounds work on hostile sheets
MAX_COLUMNS = 60

_FOOTER = re.compile(
    r"^(tổng cộng|tổng số|cộng\b|người lập|người ký|xác nhận|thủ trưởng|chủ tịch|tm\.|kt\.|nơi nhận|"
    r".{0,40}ngày\s*\S{0,6}\s*tháng)"
)


def _is_footer(values: dict[str, str]) -> bool:
    """Rows under the list ("Người lập biểu", "Cao Sơn, ngày ... tháng ...") end it; a child row has a birth
    date, and its name column never reads like a signature line."""
    if values.get("birth_date"):
        return False
    if _FOOTER.match(values.get("name", "").lower()):
        return True
    return not values.get("name") and any(_FOOTER.match(v.lower()) for v in values.values() if v)


def _is_column_numbers(values: list[str]) -> bool:
    filled = [v for v in values if v]
    return len(filled) >= 3 and all(re.fullmatch(r"\(?\d{1,2}\)?|[a-z]", v.lower()) for v in filled)


def read_children_list(data: bytes, filename: str, as_of: dt.date | None = None) -> ChildrenListReading:
    """Read a children list (.xlsx, or a Word table with the same columns) and check each row."""
    as_of = as_of or dt.date.today()
    kind, zf = open_package(data, filename)
    zf.close()
    reading = ChildrenListReading()
    tables = (
        _xlsx_tables(data, filename) if kind == "xlsx" else _docx_tables(data, filename)
    )  # lazily: stop at the list
    found = False
    for table in tables:
        header_at = None
        for position, (_, cells) in enumerate(table.rows[:30]):
            mapping = _match_header([_clean(c.value) for c in cells])
            if mapping:
                header_at = position
                break
        if header_at is None:
            continue
        found = True
        _read_table(table, header_at, mapping, as_of, reading)
        if kind == "xlsx":
            break  # one list per workbook: the first sheet that has the header
    if not found:
        reading.problems.append(
            FormProblem.whole(
                "Không tìm thấy dòng tiêu đề của danh sách (các cột STT, Họ và tên, Ngày sinh, ...). "
                "Dùng lại biểu mẫu đã gửi kèm, giữ nguyên dòng tiêu đề."
            )
        )
    return reading


def _read_table(
    table: _Table, header_at: int, mapping: dict[str, int], as_of: dt.date, reading: ChildrenListReading
) -> None:
    header_row, _ = table.rows[header_at]
    for fld in ("birth_date", "sex", "groups"):
        if fld not in mapping:
            reading.problems.append(
                FormProblem(
                    table.sheet,
                    header_row,
                    None,
                    fld,
                    f'Thiếu cột "{FIELD_TITLES[fld]}" trong dòng tiêu đề; thêm lại cột này theo biểu mẫu.',
                    "error" if fld == "birth_date" else "warning",
                )
            )
    seen: dict[tuple[str, dt.date | None], int] = {}
    for row_number, cells in table.rows[header_at + 1 :]:
        row = _RowReader(table, row_number, cells, mapping)
        values = {fld: _clean(c.value) if (c := row.cell(fld)) else "" for fld in mapping}
        if _header_field(values.get("name", "")) == "name":
            continue  # the header repeated on the next page of a Word table
        if _is_column_numbers(list(values.values())):
            continue
        if _is_footer(values):
            break  # place, date and signature block under the list
        has_content = any(v for f, v in values.items() if f != "stt")
        if not has_content and not any((c := row.cell(f)) and c.formula_missing for f in mapping):
            continue
        child = row.read(as_of)
        if child.name:
            key = (child.name.lower(), child.birth_date)
            if key in seen:
                row.problem(
                    "name",
                    f"Trùng họ tên và ngày sinh với dòng {seen[key]}; kiểm tra có ghi một trẻ hai lần không.",
                    "warning",
                )
            else:
                seen[key] = row_number
        reading.problems.extend(row.problems)
        reading.rows.append(child)


class _RowReader:
    """Reads one row of the children list, collecting problems located by cell."""

    def __init__(self, table: _Table, row_number: int, cells: list[_Cell], mapping: dict[str, int]):
        self.table, self.row_number, self.cells, self.mapping = table, row_number, cells, mapping
        self.problems: list[FormProblem] = []

    def cell(self, fld: str) -> _Cell | None:
        index = self.mapping.get(fld)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def problem(self, fld: str, message: str, severity: Severity = "error") -> None:
        c = self.cell(fld)
        self.problems.append(
            FormProblem(self.table.sheet, self.row_number, c.column if c else None, fld, message, severity)
        )

    def parsed(self, fld: str, parse: Callable[[Any], Any], default: Any = None) -> Any:
        c = self.cell(fld)
        if c is None:
            return default
        if c.formula_missing:
            self.problem(
                fld,
                "Ô có công thức nhưng tệp không lưu kết quả tính. Mở tệp bằng Excel hoặc LibreOffice, lưu "
                "lại rồi gửi lại, hoặc ghi giá trị trực tiếp thay cho công thức.",
                "error" if fld in {"name", "birth_date"} else "warning",
            )
            return default
        if c.error_value:
            self.problem(
                fld,
                "Ô có lỗi công thức (#VALUE!, #REF!, ...); sửa công thức hoặc ghi giá trị trực tiếp.",
            )
            return default
        try:
            return parse(c.value)
        except _ValueError as exc:
            self.problem(fld, exc.message_vi)
            return default

    def text(self, fld: str) -> str | None:
        return self.parsed(fld, lambda v: _clean(v) or None)

    def read(self, as_of: dt.date) -> ChildRow:
        name = self.parsed("name", _clean, "")
        if not name and _plainly_blank(self.cell("name")):
            self.problem("name", "Thiếu họ và tên trẻ em; ghi đầy đủ họ và tên.")
        elif re.fullmatch(r"[\d\s.,/-]+", name):
            self.problem("name", "Cột Họ và tên đang chứa số; kiểm tra lại cột đã ghi đúng chưa.")
            name = ""
        birth = self.parsed("birth_date", lambda v: parse_date(v, epoch=self.table.epoch))
        if birth is None and "birth_date" in self.mapping and _plainly_blank(self.cell("birth_date")):
            self.problem("birth_date", "Thiếu ngày sinh; ghi theo dạng ngày/tháng/năm, ví dụ 20/02/2015.")
        if birth is not None:
            if birth > as_of:
                self.problem("birth_date", "Ngày sinh sau ngày hiện tại; kiểm tra lại năm sinh.")
            elif as_of >= _birthday(birth, 16):
                self.problem(
                    "birth_date",
                    _TOO_OLD,
                )
        sex = self.parsed("sex", _parse_sex)
        if sex is None and "sex" in self.mapping and _plainly_blank(self.cell("sex")):
            self.problem("sex", "Chưa ghi giới tính (Nam hoặc Nữ).", "warning")
        groups = self.parsed("groups", parse_groups, ())
        difficult = self.parsed("difficult", _parse_yes_no)
        flagged = any(p.field in {"groups", "difficult"} for p in self.problems)
        if "groups" in self.mapping and not groups and difficult is not True and not flagged:
            self.problem(
                "groups",
                "Trẻ không thuộc nhóm hoàn cảnh đặc biệt nào và không ghi hoàn cảnh khó khăn; ghi nhóm (a-o) "
                "hoặc chọn Có ở cột Hoàn cảnh khó khăn, nếu không thì bỏ dòng này.",
                "warning",
            )
        support = self.text("support")
        return ChildRow(
            name=name,
            birth_date=birth,
            sex=sex,
            ethnicity=self.text("ethnicity"),
            village=self.text("village"),
            carer=self.text("carer"),
            groups=groups,
            difficult=difficult,
            support=support,
            support_amount=_amount(support),
            note=self.text("note"),
            source_row=self.row_number,
            sheet=self.table.sheet,
        )


def _plainly_blank(cell: _Cell | None) -> bool:
    """Blank because nothing was written, not because a formula lost its value (reported separately)."""
    return cell is None or not (cell.formula_missing or cell.error_value or _clean(cell.value))


def _birthday(birth: dt.date, years: int) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return dt.date(birth.year + years, 3, 1)


def _amount(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_count(text, "đồng")
    except _ValueError:
        return None


# --------------------------------------------------------------------------- grids from xlsx and docx


def _unreadable(filename: str, what: str) -> UnreadableForm:
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


def _xlsx_tables(data: bytes, filename: str) -> Iterator[_Table]:
    """The sheets of a workbook as grids, read straight from its XML: cached values of formulas, merged cells
    filled from their top-left cell. One pass per sheet, no workbook model (ten times faster than openpyxl)."""
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
        raise _unreadable(filename, "bảng tính bị lỗi cấu trúc") from exc
    pr = workbook.find(f"{_S}workbookPr")
    epoch = CALENDAR_MAC_1904 if pr is not None and pr.get("date1904") in ("1", "true") else CALENDAR_WINDOWS_1900
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    sheets = []
    for sheet in workbook.iter(f"{_S}sheet"):
        target = targets.get(sheet.get(_R_ID), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if path in names:
            sheets.append((sheet.get("name", ""), sheet.get("state", "visible"), path))
    hidden_kinds = {GUIDE_SHEET, LIST_SHEET}
    sheets.sort(key=lambda s: (s[0] in hidden_kinds, s[1] != "visible", s[0] != CHILDREN_SHEET))
    for title, _, path in sheets:
        try:
            root = _xml(zf, path)
        except Exception as exc:
            raise _unreadable(filename, "bảng tính bị lỗi cấu trúc") from exc
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
        rows: list[tuple[int, list[_Cell]]] = []
        for r in sorted(used)[:MAX_ROWS]:
            cells: list[_Cell] = []
            for c in range(1, max_col + 1):
                value, formula_missing, error_value = stored.get(merged.get((r, c), (r, c)), (None, False, False))
                if isinstance(value, str) and value.strip() in _ERROR_VALUES:
                    error_value = True
                cells.append(_Cell(value, _column_letter(c), formula_missing, error_value))
            rows.append((r, cells))
        yield _Table(f'Trang tính "{title}"', rows, epoch)


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- Word: the body's paragraphs and tables, straight from word/document.xml


@dataclass
class _Paragraph:
    text: str


@dataclass
class _WordTable:
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


def _word_table(tbl: Any) -> _WordTable:
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
    return _WordTable(rows)


def _word_blocks(data: bytes, filename: str) -> list[_Paragraph | _WordTable]:
    try:
        body = _xml(zipfile.ZipFile(io.BytesIO(data)), "word/document.xml").find(f"{_W}body")
    except Exception as exc:
        raise _unreadable(filename, "văn bản bị lỗi cấu trúc") from exc
    if body is None:
        raise _unreadable(filename, "văn bản bị lỗi cấu trúc")
    blocks: list[_Paragraph | _WordTable] = []
    for child in body:
        if child.tag == f"{_W}p":
            blocks.append(_Paragraph(_paragraph_text(child)))
        elif child.tag == f"{_W}tbl":
            blocks.append(_word_table(child))
    return blocks


def _docx_tables(data: bytes, filename: str) -> Iterator[_Table]:
    tables = [b for b in _word_blocks(data, filename) if isinstance(b, _WordTable)]
    for number, table in enumerate(tables, start=1):
        yield _docx_grid(table, f"Bảng {number}")


def _docx_grid(table: _WordTable, label: str) -> _Table:
    rows = [(r, [_Cell(text, str(c)) for c, text in enumerate(row, start=1)]) for r, row in enumerate(table.rows, 1)]
    return _Table(label, rows)


# --------------------------------------------------------------------------- periodic report

_TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "stt": ("stt", "tt"),
    "label": ("chỉtiêu", "nộidung", "tênchỉtiêu"),
    "unit": ("đơnvịtính", "đvt", "đơnvị"),
    "value": ("sốliệu", "sốlượng", "kếtquả", "giátrị", "thựchiện"),
    "code": ("mã", "mãchỉtiêu"),
}
_TABLE_KEYS = {f: tuple(_key(s) for s in syns) for f, syns in _TABLE_FIELDS.items()}
_ROMAN = re.compile(r"^(i{1,3}|iv|v)\s*[.)/:-]\s*(.*)$")
_SECTION_WORDS = {
    "ket_qua": ("kết quả",),
    "kho_khan": ("khó khăn", "vướng mắc"),
    "de_xuat": ("đề xuất", "kiến nghị"),
}
_ROMAN_SECTIONS = {"i": "ket_qua", "ii": "kho_khan", "iii": "de_xuat"}
_STOP = re.compile(rf"^({re.escape(VISIBLE_LABEL.lower())}|nơi nhận|thủ trưởng|người lập)")
REPORT_TABLE_LABEL = "Bảng số liệu"


def _report_header(cells: list[str]) -> dict[str, int] | None:
    mapping: dict[str, int] = {}
    for index, text in enumerate(cells):
        k = _key(text)
        for fld, keys in _TABLE_KEYS.items():
            if fld not in mapping and k in keys:
                mapping[fld] = index
                break
    return mapping if {"label", "value"} <= set(mapping) else None


def _section_of(text: str) -> str | None:
    lowered = _clean(text).lower()
    match = _ROMAN.match(lowered)
    if match:
        rest = match[2]
        for key, words in _SECTION_WORDS.items():
            if any(rest.startswith(w) for w in words):
                return key
        return _ROMAN_SECTIONS.get(match[1]) if len(rest) < 60 else None
    plain = _clean(text)
    if plain.isupper() and len(plain) < 60:
        for key, words in _SECTION_WORDS.items():
            if any(lowered.startswith(w) for w in words):
                return key
    return None


def read_periodic_report(data: bytes, filename: str, requirement: Requirement) -> ReportReading:
    """Read the indicator values and narrative from a returned .docx report, then apply the rules."""
    kind, zf = open_package(data, filename)
    zf.close()
    if kind != "docx":
        raise UnreadableForm(
            f'Tệp "{filename}" là bảng tính Excel; báo cáo cần gửi bằng biểu mẫu Word (.docx) đã nhận.'
        )
    blocks = _word_blocks(data, filename)
    reading = ReportReading()
    placeholders = {_clean(p) for _, _, p in REPORT_SECTIONS}
    form_texts = {_clean(REPORT_TABLE_INTRO)}
    section: str | None = None
    texts: dict[str, list[str]] = {key: [] for key, _, _ in REPORT_SECTIONS}
    kept_placeholder: set[str] = set()
    indicator_table = None
    for block in blocks:
        if isinstance(block, _WordTable):
            if indicator_table is None:
                grid = _docx_grid(block, REPORT_TABLE_LABEL)
                if grid.rows and _report_header([_clean(c.value) for c in grid.rows[0][1]]):
                    indicator_table = grid
                    continue
            if section in {"kho_khan", "de_xuat"}:
                section = None  # the signature table closes the last section
            continue
        text = _clean(block.text)
        if not text:
            continue
        heading = _section_of(text)
        if heading:
            section = heading
            continue
        if _STOP.match(text.lower()):
            section = None
            continue
        if section is None or text in form_texts:
            continue
        if text in placeholders or (text.startswith("[") and text.endswith("]")):
            kept_placeholder.add(section)
            continue
        texts[section].append(text)
    titles = {key: heading.split(". ", 1)[-1].capitalize() for key, heading, _ in REPORT_SECTIONS}
    for key, lines in texts.items():
        reading.narrative[key] = "\n".join(lines)
        if not lines and (key == "ket_qua" or key in kept_placeholder):
            reading.problems.append(
                FormProblem.whole(
                    f'Mục "{titles[key]}" chưa có nội dung'
                    + (" (vẫn còn dòng hướng dẫn trong ngoặc vuông)" if key in kept_placeholder else "")
                    + "; viết nội dung thay cho dòng hướng dẫn.",
                    "warning",
                    field=key,
                )
            )
    rows = _read_indicators(indicator_table, requirement, reading)
    _apply_rules(requirement, reading, rows)
    return reading


def _read_indicators(
    table: _Table | None,
    requirement: Requirement,
    reading: ReportReading,
) -> dict[str, int]:
    """Fill reading.values; return the table row of each indicator found, to locate rule failures."""
    codes = {ind.code: ind for ind in requirement.indicators}
    reading.values = dict.fromkeys(codes)
    if table is None:
        reading.problems.append(FormProblem.whole(_NO_TABLE))
        return {}
    mapping = _report_header([_clean(c.value) for c in table.rows[0][1]]) or {}
    labels = {_key(ind.label): ind.code for ind in requirement.indicators}
    located: dict[str, int] = {}
    for row_number, cells in table.rows[1:]:

        def text(fld: str, cells: list[_Cell] = cells) -> str:
            index = mapping.get(fld)
            return _clean(cells[index].value) if index is not None and index < len(cells) else ""

        code = text("code")
        if code not in codes:
            label = _key(text("label"))
            prefixed = [c for k, c in labels.items() if label and k.startswith(label)]
            code = labels.get(label) or (prefixed[0] if prefixed else "")
        if not code:
            if text("label") or text("value"):
                reading.problems.append(
                    FormProblem(
                        REPORT_TABLE_LABEL,
                        row_number,
                        None,
                        None,
                        "Dòng này không khớp chỉ tiêu nào của biểu mẫu; giữ nguyên tên chỉ tiêu như mẫu.",
                        "warning",
                    )
                )
            continue
        column = "Số liệu"
        if code in located:
            reading.problems.append(
                FormProblem(
                    REPORT_TABLE_LABEL,
                    row_number,
                    column,
                    code,
                    f'Chỉ tiêu "{codes[code].label}" ghi hai lần '
                    f"(dòng {located[code]} và dòng {row_number}); giữ một dòng.",
                )
            )
            continue
        located[code] = row_number
        indicator = codes[code]
        try:
            value = parse_count(text("value"), indicator.unit)
        except _ValueError as exc:
            reading.problems.append(
                FormProblem(
                    REPORT_TABLE_LABEL,
                    row_number,
                    column,
                    code,
                    f"{indicator.label}: {exc.message_vi[:1].lower()}{exc.message_vi[1:]}",
                )
            )
            continue
        if value is None:
            reading.problems.append(
                FormProblem(
                    REPORT_TABLE_LABEL,
                    row_number,
                    column,
                    code,
                    f"{indicator.label}: chưa ghi số liệu (bắt buộc); ghi 0 nếu không có.",
                )
            )
        reading.values[code] = value
    for code, indicator in codes.items():
        if code not in located:
            reading.problems.append(
                FormProblem(
                    REPORT_TABLE_LABEL,
                    None,
                    None,
                    code,
                    f'Thiếu dòng chỉ tiêu "{indicator.label}" trong bảng số liệu; {_USE_FORM}.',
                )
            )
    return located


_OPS: dict[str, Callable[[int, int], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


def _apply_rules(requirement: Requirement, reading: ReportReading, rows: dict[str, int]) -> None:
    for rule in requirement.rules:
        left, right = reading.values.get(rule.left), reading.values.get(rule.right)
        if left is None or right is None:
            continue
        if not _OPS[rule.op](left, right):
            reading.problems.append(
                FormProblem(
                    REPORT_TABLE_LABEL,
                    rows.get(rule.left),
                    "Số liệu",
                    rule.left,
                    f"{rule.message} (hiện ghi {_fmt(left)} và {_fmt(right)}); kiểm tra lại số liệu.",
                )
            )


def _fmt(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def problems_text(problems: Iterable[FormProblem]) -> str:
    """All problems as lines for a reply e-mail; safe because problems never quote cell content."""
    return "\n".join(f"- {p}" for p in problems)
