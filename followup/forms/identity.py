"""Reply forms the district sends out, and the identity that lets a returned file be matched to its request.

A commune fills the form in Excel, LibreOffice or Word, re-saves it, forwards it from another mailbox or
renames it. So the identity (directive, requirement, period, unit) is written in three places: a custom
document property, the core ``identifier``/``keywords`` properties, and a small visible line. Any one of them
is enough.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree

from followup.domain.config import Requirement

# --------------------------------------------------------------------------- identity

TOKEN_PREFIX = "followup:v1"
CUSTOM_PROPERTY = "followup_form"
VISIBLE_LABEL = "Mã biểu mẫu"

_VALUE = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_TOKEN_RE = re.compile(
    rf"followup\s*:\s*v1\s*;\s*d\s*=\s*(?P<d>{_VALUE})\s*;\s*r\s*=\s*(?P<r>{_VALUE})"
    rf"\s*;\s*p\s*=\s*(?P<p>{_VALUE})\s*;\s*u\s*=\s*(?P<u>{_VALUE})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FormIdentity:
    """Which request a form answers; survives as plain ASCII text wherever a program keeps it."""

    directive: str
    requirement: str
    period: str
    unit: str

    def __post_init__(self) -> None:
        for name in ("directive", "requirement", "period", "unit"):
            value = getattr(self, name)
            if not re.fullmatch(_VALUE, value or ""):
                raise ValueError(f"{name} {value!r} cannot be part of a form identity; use A-Z 0-9 . _ -")

    def token(self) -> str:
        return f"{TOKEN_PREFIX};d={self.directive};r={self.requirement};p={self.period};u={self.unit}"

    @classmethod
    def parse(cls, text: str | None) -> FormIdentity | None:
        """Find a token anywhere in ``text`` (a cell, a footer, a property); None when there is none."""
        if not text:
            return None
        match = _TOKEN_RE.search(unicodedata.normalize("NFC", str(text)))
        if not match:
            return None
        return cls(match["d"], match["r"], match["p"], match["u"])


# --------------------------------------------------------------------------- shared vocabulary

#: Law on Children 2016, art. 10.1: the 14 groups of children in special circumstances (letters skip f, j).
SPECIAL_GROUPS: dict[str, str] = {
    "a": "Mồ côi cả cha và mẹ",
    "b": "Bị bỏ rơi",
    "c": "Không nơi nương tựa",
    "d": "Khuyết tật",
    "đ": "Nhiễm HIV/AIDS",
    "e": "Vi phạm pháp luật",
    "g": "Nghiện ma túy",
    "h": "Phải bỏ học kiếm sống chưa hoàn thành phổ cập giáo dục trung học cơ sở",
    "i": "Bị tổn hại nghiêm trọng về thể chất và tinh thần do bị bạo lực",
    "k": "Bị bóc lột",
    "l": "Bị xâm hại tình dục",
    "m": "Bị mua bán",
    "n": "Mắc bệnh hiểm nghèo hoặc bệnh phải điều trị dài ngày thuộc hộ nghèo hoặc hộ cận nghèo",
    "o": "Di cư, lánh nạn, tị nạn chưa xác định được cha mẹ hoặc không có người chăm sóc",
}


def group_choice(letter: str) -> str:
    """The drop-down text for a group, e.g. "a) Mồ côi cả cha và mẹ"."""
    return f"{letter}) {SPECIAL_GROUPS[letter]}"


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
FONT = "Times New Roman"

#: Narrative sections of the periodic report: key, heading as printed, placeholder the unit replaces.
REPORT_SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "ket_qua",
        "I. KẾT QUẢ THỰC HIỆN",
        "[Nêu kết quả triển khai các nội dung của Công văn trong kỳ báo cáo: công tác chỉ đạo, tuyên truyền, "
        "phòng ngừa xâm hại, tai nạn thương tích, đuối nước trẻ em; hỗ trợ trẻ em có hoàn cảnh đặc biệt. "
        "Xóa dòng hướng dẫn này khi viết.]",
    ),
    (
        "kho_khan",
        "II. KHÓ KHĂN, VƯỚNG MẮC",
        "[Nêu khó khăn, vướng mắc (nếu có). Xóa dòng hướng dẫn này khi viết.]",
    ),
    (
        "de_xuat",
        "III. ĐỀ XUẤT, KIẾN NGHỊ",
        "[Nêu đề xuất, kiến nghị (nếu có). Xóa dòng hướng dẫn này khi viết.]",
    ),
)

REPORT_TABLE_INTRO = "Số liệu trong kỳ báo cáo (ghi số nguyên; ghi 0 nếu không có):"
REPORT_TABLE_COLUMNS: tuple[str, ...] = ("STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Mã")


# --------------------------------------------------------------------------- file names

_ILLEGAL_IN_NAME = re.compile(r'[\\/:*?"<>|\r\n\t\x00-\x1f]')


def _short_title(requirement: Requirement) -> str:
    if requirement.form == "children-list":
        return "Danh sách trẻ em"
    if requirement.form == "periodic-report":
        return "Báo cáo 6 tháng" if requirement.period == "H1" else "Báo cáo năm"
    return requirement.title


def form_filename(requirement: Requirement, unit_name: str, ext: str) -> str:
    """A file name a clerk recognises in a mail client and that every file system accepts."""
    stem = f"{_short_title(requirement)} - {unit_name}"
    stem = unicodedata.normalize("NFC", stem)
    stem = _ILLEGAL_IN_NAME.sub(" ", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:150].strip(" .")
    ext = ext.strip().lstrip(".").lower()
    return f"{stem}.{ext}" if ext else stem


# --------------------------------------------------------------------------- children list (.xlsx)

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


# --------------------------------------------------------------------------- periodic report (.docx)

_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def custom_properties_xml(values: dict[str, str]) -> bytes:
    """docProps/custom.xml as Office writes it (python-docx has no API for custom properties)."""
    root = etree.Element(f"{{{_CUSTOM_NS}}}Properties", nsmap={None: _CUSTOM_NS, "vt": _VT_NS})
    for pid, (name, value) in enumerate(values.items(), start=2):
        prop = etree.SubElement(root, f"{{{_CUSTOM_NS}}}property", fmtid=_FMTID, pid=str(pid), name=name)
        etree.SubElement(prop, f"{{{_VT_NS}}}lpwstr").text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def periodic_report_docx(
    identity: FormIdentity, unit_name: str, requirement: Requirement, period_label: str, deadline_text: str
) -> bytes:
    """A Word report form in the layout of Decree 30/2020, with an indicator table that reads back by code."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    token = identity.token()
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)

    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), FONT)
    style.paragraph_format.space_after = Pt(3)

    def para(
        text: str = "",
        *,
        bold: bool = False,
        italic: bool = False,
        size: float | None = None,
        align: Any = None,
        container: Any = None,
    ) -> Any:
        p = (container or doc).add_paragraph()
        if align is not None:
            p.alignment = align
        if text:
            run = p.add_run(text)
            run.bold, run.italic = bold, italic
            if size:
                run.font.size = Pt(size)
        return p

    # Header in two columns (Decree 30/2020, appendix I).
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    left.width, right.width = Mm(70), Mm(95)
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = left.paragraphs[0].add_run(unit_name.upper())
    run.bold, run.font.size = True, Pt(12)
    para("Số:      /BC-", size=13, align=WD_ALIGN_PARAGRAPH.CENTER, container=left)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = right.paragraphs[0].add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    run.bold, run.font.size = True, Pt(12)
    para("Độc lập - Tự do - Hạnh phúc", bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, container=right)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    para("……, ngày …… tháng …… năm ……", italic=True, size=13, align=centre, container=right)

    para()
    para("BÁO CÁO", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    subject = re.sub(r"^\s*báo cáo\s+", "", requirement.title, flags=re.IGNORECASE)
    para(subject[:1].upper() + subject[1:], bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    para(f"Kỳ báo cáo: {period_label}", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    para(f"Đơn vị báo cáo: {unit_name}", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(f"Hạn gửi: {deadline_text}", italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)

    _, heading, placeholder = REPORT_SECTIONS[0]
    para(heading, bold=True)
    para(placeholder, italic=True)
    para(REPORT_TABLE_INTRO, italic=True)

    table = doc.add_table(rows=1, cols=len(REPORT_TABLE_COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(12), Mm(95), Mm(22), Mm(26), Mm(10))
    grey = RGBColor(0x99, 0x99, 0x99)
    for cell, title, width in zip(table.rows[0].cells, REPORT_TABLE_COLUMNS, widths, strict=True):
        cell.width = width
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = cell.paragraphs[0].add_run(title)
        run.bold = True
        if title == "Mã":
            run.font.size, run.font.color.rgb, run.bold = Pt(6), grey, False
    for number, indicator in enumerate(requirement.indicators, start=1):
        cells = table.add_row().cells
        values = (str(number), indicator.label, indicator.unit or "", "", indicator.code)
        for cell, value, width in zip(cells, values, widths, strict=True):
            cell.width = width
            if value:
                run = cell.paragraphs[0].add_run(value)
            if cell is cells[0] or cell is cells[2] or cell is cells[3]:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        code_run = cells[4].paragraphs[0].runs[0]
        code_run.font.size, code_run.font.color.rgb = Pt(6), grey
    # Repeat the header row on every page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {}))

    for _, heading, placeholder in REPORT_SECTIONS[1:]:
        para(heading, bold=True)
        para(placeholder, italic=True)

    para()
    sign = doc.add_table(rows=1, cols=2)
    left, right = sign.rows[0].cells
    run = left.paragraphs[0].add_run("Nơi nhận:")
    run.bold, run.italic, run.font.size = True, True, Pt(12)
    para("- UBND huyện (qua Phòng LĐ-TB&XH);", size=11, container=left)
    para("- Lưu: VT.", size=11, container=left)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = right.paragraphs[0].add_run("THỦ TRƯỞNG ĐƠN VỊ")
    run.bold = True
    para(
        "(Ký, ghi rõ họ tên, đóng dấu)",
        italic=True,
        size=12,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        container=right,
    )

    visible = f"{VISIBLE_LABEL}: {token}"
    mark = para(visible, italic=True, size=7)
    mark.runs[0].font.color.rgb = grey
    footer = section.footer.paragraphs[0]
    run = footer.add_run(visible)
    run.font.size, run.font.color.rgb = Pt(7), grey

    core = doc.core_properties
    core.identifier = token
    core.keywords = token
    core.title = requirement.title
    core.subject = unit_name
    core.author = "followup"
    core.language = "vi-VN"

    package = doc.part.package
    blob = custom_properties_xml({CUSTOM_PROPERTY: token})
    part = Part(PackURI("/docProps/custom.xml"), _CUSTOM_CT, blob, package)
    package.relate_to(part, _CUSTOM_RT)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- opening returned files safely

MAX_INPUT_BYTES = 30 * 1024 * 1024
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_RATIO = 200  # deflated XML rarely beats 100:1; zip bombs reach 1000:1
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")


class UnreadableForm(Exception):
    """A returned file that cannot be read; ``message_vi`` tells the unit what to send instead."""

    def __init__(self, message_vi: str):
        self.message_vi = message_vi
        super().__init__(message_vi)


def open_package(data: bytes, filename: str = "") -> tuple[str, zipfile.ZipFile]:
    """Check an OOXML file before any parser sees it; return ("xlsx"|"docx", the open zip)."""
    if data[:4] == OLE2_MAGIC[:4]:
        if _ENCRYPTION_MARK in data[:2_000_000]:
            raise UnreadableForm(
                f'Tệp "{filename}" đã được đặt mật khẩu nên hệ thống không mở được. Vui lòng bỏ mật khẩu '
                "(Tệp > Thông tin > Bảo vệ > xóa mật khẩu), lưu lại rồi gửi lại tệp không có mật khẩu."
            )
        raise UnreadableForm(
            f'Tệp "{filename}" ở định dạng cũ (.xls/.doc). Vui lòng mở bằng Excel/Word, chọn Lưu thành '
            "định dạng .xlsx (Excel) hoặc .docx (Word) rồi gửi lại."
        )
    if len(data) > MAX_INPUT_BYTES:
        raise UnreadableForm(
            f'Tệp "{filename}" quá lớn ({len(data) // (1024 * 1024)} MB). Vui lòng xóa hình ảnh, trang tính '
            "không cần thiết rồi gửi lại."
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UnreadableForm(
            f'Tệp "{filename}" bị hỏng hoặc không phải tệp Excel (.xlsx) / Word (.docx). Vui lòng mở lại '
            "tệp trên máy, lưu lại rồi gửi lại."
        ) from exc
    bomb = UnreadableForm(
        f'Tệp "{filename}" có cấu trúc bất thường (dung lượng khi giải nén quá lớn). Vui lòng lưu lại biểu '
        "mẫu bằng Excel/Word rồi gửi lại."
    )
    if len(infos) > MAX_ENTRIES:
        raise bomb
    total = 0
    for info in infos:
        total += info.file_size
        if total > MAX_UNCOMPRESSED:
            raise bomb
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise bomb
        if info.flag_bits & 0x1:
            raise UnreadableForm(f'Tệp "{filename}" đã được mã hóa. Vui lòng gửi lại tệp không đặt mật khẩu.')
    names = set(zf.namelist())
    if "xl/workbook.xml" in names:
        kind = "xlsx"
    elif "word/document.xml" in names:
        kind = "docx"
    else:
        raise UnreadableForm(
            f'Tệp "{filename}" không phải bảng tính Excel (.xlsx) hay văn bản Word (.docx). Vui lòng gửi '
            "lại đúng biểu mẫu đã nhận."
        )
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            with zf.open(info) as fh:
                head = fh.read(4096)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise bomb
    return kind, zf


# --------------------------------------------------------------------------- reading the identity back

_NS = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _small_xml(zf: zipfile.ZipFile, name: str) -> etree._Element | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > 1024 * 1024:
        return None
    try:
        return etree.fromstring(zf.read(info), _parser())
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError):
        return None


def _texts(stream: IO[bytes], tag: str, ns: str) -> Iterator[str]:
    """Stream the text of each paragraph / string item without loading the part into memory."""
    text_tag = f"{{{ns}}}t"
    try:
        for _, elem in etree.iterparse(
            stream,
            events=("end",),
            tag=f"{{{ns}}}{tag}",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            yield "".join(t.text or "" for t in elem.iter(text_tag))
            elem.clear()
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        return


def _visible_parts(kind: str, names: list[str]) -> Iterator[tuple[str, str, str]]:
    if kind == "xlsx":
        yield "xl/sharedStrings.xml", "si", _NS["s"]
        for name in sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)):
            yield name, "is", _NS["s"]
    else:
        for name in sorted(n for n in names if re.fullmatch(r"word/(footer|header)\d*\.xml", n)):
            yield name, "p", _NS["w"]
        yield "word/document.xml", "p", _NS["w"]


def read_identity(data: bytes, filename: str) -> FormIdentity | None:
    """Which request a returned file answers: custom property, then core properties, then visible text.

    Returns None for a readable file without identity; raises UnreadableForm for one that cannot be read.
    """
    kind, zf = open_package(data, filename)
    with zf:
        custom = _small_xml(zf, "docProps/custom.xml")
        if custom is not None:
            for prop in custom.iter(f"{{{_CUSTOM_NS}}}property"):
                if (prop.get("name") or "").strip().lower() == CUSTOM_PROPERTY:
                    found = FormIdentity.parse("".join(prop.itertext()))
                    if found:
                        return found
        core = _small_xml(zf, "docProps/core.xml")
        if core is not None:
            for path in ("dc:identifier", "cp:keywords"):
                node = core.find(path, _NS)
                found = FormIdentity.parse("".join(node.itertext()) if node is not None else None)
                if found:
                    return found
        names = zf.namelist()
        for name, tag, ns in _visible_parts(kind, names):
            if name not in names:
                continue
            with zf.open(name) as stream:
                for text in _texts(stream, tag, ns):
                    found = FormIdentity.parse(text)
                    if found:
                        return found
    return None
