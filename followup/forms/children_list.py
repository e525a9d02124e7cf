"""The list of children in difficult / special circumstances (directive item 7): build, read, summarise.

The district sends an .xlsx workbook, one child per row, with drop-downs and a guide sheet; the unit may
return it re-saved, with columns inserted or as a Word table with the same columns. The reader is lenient
about form and strict about content (the Law on Children's groups and age limit). Problems locate a cell,
never quote it: the list holds children's names and circumstances, which must not reach logs or e-mail.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from followup.domain.config import Requirement
from followup.domain.form_kinds import CHILDREN_LIST
from followup.domain.identity import FormIdentity
from followup.domain.special_groups import SPECIAL_GROUPS, group_choice
from followup.domain.summaries import ListSummary
from followup.forms.cells import (
    BadValue,
    Cell,
    Table,
    clean,
    column_numbers,
    docx_tables,
    parse_count,
    parse_date,
    plainly_blank,
    title_key,
    xlsx_tables,
)
from followup.forms.identity import CUSTOM_PROPERTY, FONT, VISIBLE_LABEL, open_package
from followup.forms.problems import FormProblem, Reading, Severity
from followup.forms.review import Verdict
from followup.forms.special_groups import parse_groups

# --------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: float


#: Columns of the children list, in the order the form prints them. The reader matches titles, not positions.
CHILDREN_COLUMNS: tuple[Column, ...] = (
    Column("stt", "STT", 5),
    Column("name", "Họ và tên", 24),
    Column("birth_date", "Ngày sinh", 12),
    Column("sex", "Giới tính", 9),
    Column("ethnicity", "Dân tộc", 10),
    Column("village", "Thôn/bản/tổ", 16),
    Column("carer", "Cha/mẹ/người chăm sóc", 24),
    Column("groups", "Nhóm hoàn cảnh đặc biệt", 30),
    Column("difficult", "Hoàn cảnh khó khăn", 12),
    Column("support", "Hỗ trợ đã nhận", 22),
    Column("note", "Ghi chú", 20),
)

CHILDREN_LIST_TITLE = "DANH SÁCH TRẺ EM CÓ HOÀN CẢNH KHÓ KHĂN, HOÀN CẢNH ĐẶC BIỆT"
CHILDREN_SHEET = "Danh sách"
LIST_SHEET = "DanhMuc"
GUIDE_SHEET = "Hướng dẫn"

HEADER_ROW = 6  # 1-based row of the column titles in the generated sheet
PREPARED_ROWS = 200  # rows formatted in advance; data validation covers more
VALIDATED_ROWS = 2000


def children_list_xlsx(
    identity: FormIdentity,
    unit_name: str,
    requirement: Requirement,
    deadline_text: str,
) -> bytes:
    """The workbook a commune keeps and returns: one child per row, drop-downs, and a guide sheet."""
    from openpyxl import Workbook
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    token = identity.token()
    wb = Workbook()
    ws = wb.active
    ws.title = CHILDREN_SHEET
    last_col = get_column_letter(len(CHILDREN_COLUMNS))
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    normal = Font(name=FONT, size=12)

    def banner(row: int, text: str, font: Font, height: float | None = None) -> None:
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = font
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.merge_cells(f"A{row}:{last_col}{row}")
        if height:
            ws.row_dimensions[row].height = height

    banner(1, CHILDREN_LIST_TITLE, Font(name=FONT, size=14, bold=True), 24)
    banner(2, f"Đơn vị: {unit_name}", Font(name=FONT, size=13, bold=True))
    banner(3, f"Hạn gửi: {deadline_text}", Font(name=FONT, size=12, italic=True))
    banner(4, f"{VISIBLE_LABEL}: {token}", Font(name=FONT, size=8, italic=True, color="808080"))
    ws.cell(row=5, column=1).font = normal

    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, spec in enumerate(CHILDREN_COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=spec.title)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
        cell.fill = header_fill
        ws.column_dimensions[get_column_letter(col)].width = spec.width
    ws.row_dimensions[HEADER_ROW].height = 32

    keys = [c.key for c in CHILDREN_COLUMNS]
    first = HEADER_ROW + 1
    for row in range(first, first + PREPARED_ROWS):
        for col, key in enumerate(keys, start=1):
            cell = ws.cell(row=row, column=col)
            cell.font = normal
            cell.border = border
            wrap = key in {"name", "carer", "support", "note"}
            cell.alignment = Alignment(vertical="center", wrap_text=wrap)
            if key == "birth_date":
                cell.number_format = "dd/mm/yyyy"
                cell.alignment = Alignment(horizontal="center", vertical="center")

    # Hidden list sheet: the 14 group labels exceed the 255 characters an inline list may hold.
    lists = wb.create_sheet(LIST_SHEET)
    for i, letter in enumerate(SPECIAL_GROUPS, start=1):
        lists.cell(row=i, column=1, value=group_choice(letter)).font = normal
    lists.sheet_state = "hidden"

    def col_range(key: str) -> str:
        letter = get_column_letter(keys.index(key) + 1)
        return f"{letter}{first}:{letter}{first + VALIDATED_ROWS - 1}"

    groups_dv = DataValidation(
        type="list",
        formula1=f"{LIST_SHEET}!$A$1:$A${len(SPECIAL_GROUPS)}",
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Nhóm hoàn cảnh đặc biệt",
        error="Chọn một nhóm trong danh sách. Trẻ thuộc nhiều nhóm: ghi các chữ cái cách nhau bằng dấu phẩy, "
        "ví dụ: d, n.",
        showInputMessage=True,
        promptTitle="Nhóm HCĐB",
        prompt="Chọn 1 trong 14 nhóm (Điều 10 Luật Trẻ em). Bỏ trống nếu không thuộc nhóm nào.",
    )
    sex_dv = DataValidation(
        type="list",
        formula1='"Nam,Nữ"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Giới tính",
        error="Chọn Nam hoặc Nữ.",
    )
    difficult_dv = DataValidation(
        type="list",
        formula1='"Có,Không"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Hoàn cảnh khó khăn",
        error="Chọn Có hoặc Không.",
    )
    date_dv = DataValidation(
        type="date",
        operator="between",
        formula1="DATE(1990,1,1)",
        formula2="DATE(2100,12,31)",
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Ngày sinh",
        error="Ghi ngày sinh theo dạng ngày/tháng/năm, ví dụ 20/02/2015.",
        showInputMessage=True,
        promptTitle="Ngày sinh",
        prompt="Ngày/tháng/năm, ví dụ 20/02/2015",
    )
    for dv, key in (
        (groups_dv, "groups"),
        (sex_dv, "sex"),
        (difficult_dv, "difficult"),
        (date_dv, "birth_date"),
    ):
        dv.add(col_range(key))
        ws.add_data_validation(dv)

    ws.freeze_panes = ws.cell(row=first, column=3)  # keep STT and the name in view
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    _guide_sheet(wb.create_sheet(GUIDE_SHEET), normal)
    wb.move_sheet(GUIDE_SHEET, offset=-1)  # Danh sách, Hướng dẫn, DanhMuc
    wb.active = 0

    wb.custom_doc_props.append(StringProperty(name=CUSTOM_PROPERTY, value=token))
    props = wb.properties
    props.identifier = token
    props.keywords = token
    props.title = requirement.title
    props.subject = unit_name
    props.creator = "followup"
    props.language = "vi-VN"

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _guide_sheet(ws: Any, normal: Any) -> None:
    from openpyxl.styles import Alignment, Font

    lines = [
        ("HƯỚNG DẪN ĐIỀN DANH SÁCH", True),
        (
            '1. Ghi mỗi trẻ em một dòng ở trang tính "Danh sách", bắt đầu ngay dưới dòng tiêu đề. '
            "Không đổi tên các cột tiêu đề; có thể thêm cột nếu đơn vị cần.",
            False,
        ),
        ("2. Họ và tên: ghi đầy đủ, có dấu tiếng Việt.", False),
        (
            "3. Ngày sinh: ghi ngày/tháng/năm, ví dụ 20/02/2015. Chỉ ghi trẻ em dưới 16 tuổi (Luật Trẻ em).",
            False,
        ),
        ("4. Giới tính: chọn Nam hoặc Nữ.", False),
        (
            "5. Nhóm hoàn cảnh đặc biệt: chọn một trong 14 nhóm dưới đây (khoản 1 Điều 10 Luật Trẻ em). "
            "Trẻ thuộc nhiều nhóm: ghi các chữ cái cách nhau bằng dấu phẩy, ví dụ: d, n. "
            "Bỏ trống nếu trẻ không thuộc nhóm nào.",
            False,
        ),
        (
            "6. Hoàn cảnh khó khăn: chọn Có nếu trẻ có hoàn cảnh khó khăn "
            "(ví dụ thuộc hộ nghèo, hộ cận nghèo), Không nếu không.",
            False,
        ),
        (
            "7. Hỗ trợ đã nhận: ghi hình thức và mức hỗ trợ, ví dụ: trợ cấp xã hội hằng tháng 540.000 đồng.",
            False,
        ),
        (
            "8. Bảo mật: danh sách chứa thông tin cá nhân của trẻ em (Điều 6 Luật Trẻ em; Nghị định "
            "13/2023/NĐ-CP). Chỉ gửi cho cán bộ phụ trách, không đăng tải hoặc chia sẻ công khai.",
            False,
        ),
        (
            f'9. Giữ nguyên dòng "{VISIBLE_LABEL}" để hệ thống nhận đúng đơn vị. Lưu tệp dạng .xlsx và không '
            "đặt mật khẩu.",
            False,
        ),
        ("", False),
        ("14 NHÓM TRẺ EM CÓ HOÀN CẢNH ĐẶC BIỆT", True),
    ]
    lines += [(group_choice(letter), False) for letter in SPECIAL_GROUPS]
    ws.column_dimensions["A"].width = 110
    for row, (text, bold) in enumerate(lines, start=1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = Font(name=FONT, size=12, bold=True) if bold else normal
        cell.alignment = Alignment(wrap_text=True, vertical="top")


# --------------------------------------------------------------------------- reading it back


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
class ChildrenListReading(Reading):
    rows: list[ChildRow] = field(default_factory=list)


FIELD_TITLES: dict[str, str] = {c.key: c.title for c in CHILDREN_COLUMNS}

# Column titles a unit might use; matched on title_key(title) equal to, or starting with, a key.
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
_SYNONYM_KEYS = {f: tuple(title_key(s) for s in syns) for f, syns in _HEADER_SYNONYMS.items()}
# Words that make a title the carer's even when it starts like the child's ("Họ và tên cha mẹ").
_CARER_WORDS = ("chame", "chamsoc", "giamho", "nuoiduong")


def _header_field(title: str) -> str | None:
    """The field a column title names: exact match, then carer words, then the longest matching prefix."""
    k = title_key(title)
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


def _parse_sex(value: Any) -> str | None:
    text = clean(value).lower()
    if not text:
        return None
    if text in {"nam", "trai", "m", "male"}:
        return "Nam"
    if text in {"nữ", "nu", "gái", "f", "female"}:
        return "Nữ"
    raise BadValue("Giới tính ghi Nam hoặc Nữ.")


def _parse_yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = clean(value).lower()
    if not text:
        return None
    if text in {"có", "co", "x", "v", "✓", "✔", "yes", "c"}:
        return True
    if text in {"không", "khong", "k", "no", "-"}:
        return False
    raise BadValue("Hoàn cảnh khó khăn ghi Có hoặc Không.")


_TOO_OLD = "Trẻ đã đủ 16 tuổi, không còn là trẻ em theo Luật Trẻ em; bỏ dòng này hoặc sửa ngày sinh."

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


def read_children_list(data: bytes, filename: str, as_of: dt.date | None = None) -> ChildrenListReading:
    """Read a children list (.xlsx, or a Word table with the same columns) and check each row."""
    as_of = as_of or dt.date.today()
    kind, zf = open_package(data, filename)
    zf.close()
    reading = ChildrenListReading()
    tables = (  # lazily: stop at the list
        xlsx_tables(data, filename, first=CHILDREN_SHEET, last=(GUIDE_SHEET, LIST_SHEET))
        if kind == "xlsx"
        else docx_tables(data, filename)
    )
    found = False
    for table in tables:
        header_at = None
        for position, (_, cells) in enumerate(table.rows[:30]):
            mapping = _match_header([clean(c.value) for c in cells])
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
    table: Table, header_at: int, mapping: dict[str, int], as_of: dt.date, reading: ChildrenListReading
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
                    FIELD_TITLES[fld],
                )
            )
    seen: dict[tuple[str, dt.date | None], int] = {}
    for row_number, cells in table.rows[header_at + 1 :]:
        row = _RowReader(table, row_number, cells, mapping)
        values = {fld: clean(c.value) if (c := row.cell(fld)) else "" for fld in mapping}
        if _header_field(values.get("name", "")) == "name":
            continue  # the header repeated on the next page of a Word table
        if column_numbers(list(values.values())):
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

    def __init__(self, table: Table, row_number: int, cells: list[Cell], mapping: dict[str, int]):
        self.table, self.row_number, self.cells, self.mapping = table, row_number, cells, mapping
        self.problems: list[FormProblem] = []

    def cell(self, fld: str) -> Cell | None:
        index = self.mapping.get(fld)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def problem(self, fld: str, message: str, severity: Severity = "error") -> None:
        c = self.cell(fld)
        self.problems.append(
            FormProblem(
                self.table.sheet,
                self.row_number,
                c.column if c else None,
                fld,
                message,
                severity,
                FIELD_TITLES.get(fld),
            )
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
        except BadValue as exc:
            self.problem(fld, exc.message_vi)
            return default

    def text(self, fld: str) -> str | None:
        return self.parsed(fld, lambda v: clean(v) or None)

    def read(self, as_of: dt.date) -> ChildRow:
        name = self.parsed("name", clean, "")
        if not name and plainly_blank(self.cell("name")):
            self.problem("name", "Thiếu họ và tên trẻ em; ghi đầy đủ họ và tên.")
        elif re.fullmatch(r"[\d\s.,/-]+", name):
            self.problem("name", "Cột Họ và tên đang chứa số; kiểm tra lại cột đã ghi đúng chưa.")
            name = ""
        birth = self.parsed("birth_date", lambda v: parse_date(v, epoch=self.table.epoch))
        if birth is None and "birth_date" in self.mapping and plainly_blank(self.cell("birth_date")):
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
        if sex is None and "sex" in self.mapping and plainly_blank(self.cell("sex")):
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
    except BadValue:
        return None


# --------------------------------------------------------------------------- summary and kind


def summarise(rows: list[ChildRow]) -> ListSummary:
    """Counts only: what leadership, the acknowledgement and a report's cross-check may see of a list."""
    by_group = Counter(letter for row in rows for letter in row.groups)
    return ListSummary(
        rows=len(rows),
        special=sum(1 for row in rows if row.groups),
        difficult=sum(1 for row in rows if row.difficult),
        by_group=dict(sorted(by_group.items())),
    )


class ChildrenList:
    """The ``children-list`` form kind."""

    spec = CHILDREN_LIST
    name, ext, counts, needs_indicators = spec.name, spec.ext, spec.counts, spec.needs_indicators

    def short_title(self, requirement: Requirement) -> str:
        return "Danh sách trẻ em"

    def build(
        self, identity: FormIdentity, unit_name: str, requirement: Requirement, period_label: str, deadline_text: str
    ) -> bytes:
        return children_list_xlsx(identity, unit_name, requirement, deadline_text)

    def review(self, requirement: Requirement, data: bytes, filename: str, as_of: dt.date) -> Verdict:
        reading = read_children_list(data, filename, as_of=as_of)
        return Verdict.decide(reading.problems, summarise(reading.rows), reading.rows)


KIND = ChildrenList()
