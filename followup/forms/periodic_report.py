"""The periodic report on child work (directive item 9): build, read, summarise.

The district sends a Word form in the layout of Decree 30/2020: narrative sections and a table of the
indicators the requirement declares, each row carrying its code so it reads back whatever the unit does
to the labels. The indicators and the rules between them come from the directive's YAML, never from here.
"""

from __future__ import annotations

import datetime as dt
import io
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from followup.domain.config import Requirement
from followup.domain.form_kinds import PERIODIC_REPORT
from followup.domain.identity import FormIdentity
from followup.domain.summaries import ReportSummary
from followup.forms.cells import BadValue, Cell, Table, WordTable, clean, docx_grid, parse_count, title_key, word_blocks
from followup.forms.identity import (
    CUSTOM_CONTENT_TYPE,
    CUSTOM_PROPERTY,
    CUSTOM_RELATIONSHIP,
    FONT,
    VISIBLE_LABEL,
    UnreadableForm,
    custom_properties_xml,
    open_package,
)
from followup.forms.problems import FormProblem, Reading
from followup.forms.review import Verdict

# --------------------------------------------------------------------------- the form

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
    part = Part(PackURI("/docProps/custom.xml"), CUSTOM_CONTENT_TYPE, blob, package)
    package.relate_to(part, CUSTOM_RELATIONSHIP)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- reading it back


@dataclass
class ReportReading(Reading):
    values: dict[str, int | None] = field(default_factory=dict)
    narrative: dict[str, str] = field(default_factory=dict)


_USE_FORM = "dùng lại biểu mẫu đã gửi kèm"
_NO_TABLE = f"Không tìm thấy bảng số liệu (các cột Chỉ tiêu, Số liệu); {_USE_FORM}."

_TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "stt": ("stt", "tt"),
    "label": ("chỉtiêu", "nộidung", "tênchỉtiêu"),
    "unit": ("đơnvịtính", "đvt", "đơnvị"),
    "value": ("sốliệu", "sốlượng", "kếtquả", "giátrị", "thựchiện"),
    "code": ("mã", "mãchỉtiêu"),
}
_TABLE_KEYS = {f: tuple(title_key(s) for s in syns) for f, syns in _TABLE_FIELDS.items()}
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
        k = title_key(text)
        for fld, keys in _TABLE_KEYS.items():
            if fld not in mapping and k in keys:
                mapping[fld] = index
                break
    return mapping if {"label", "value"} <= set(mapping) else None


def _section_of(text: str) -> str | None:
    lowered = clean(text).lower()
    match = _ROMAN.match(lowered)
    if match:
        rest = match[2]
        for key, words in _SECTION_WORDS.items():
            if any(rest.startswith(w) for w in words):
                return key
        return _ROMAN_SECTIONS.get(match[1]) if len(rest) < 60 else None
    plain = clean(text)
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
    blocks = word_blocks(data, filename)
    reading = ReportReading()
    placeholders = {clean(p) for _, _, p in REPORT_SECTIONS}
    form_texts = {clean(REPORT_TABLE_INTRO)}
    section: str | None = None
    texts: dict[str, list[str]] = {key: [] for key, _, _ in REPORT_SECTIONS}
    kept_placeholder: set[str] = set()
    indicator_table = None
    for block in blocks:
        if isinstance(block, WordTable):
            if indicator_table is None:
                grid = docx_grid(block, REPORT_TABLE_LABEL)
                if grid.rows and _report_header([clean(c.value) for c in grid.rows[0][1]]):
                    indicator_table = grid
                    continue
            if section in {"kho_khan", "de_xuat"}:
                section = None  # the signature table closes the last section
            continue
        text = clean(block.text)
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
    table: Table | None,
    requirement: Requirement,
    reading: ReportReading,
) -> dict[str, int]:
    """Fill reading.values; return the table row of each indicator found, to locate rule failures."""
    codes = {ind.code: ind for ind in requirement.indicators}
    reading.values = dict.fromkeys(codes)
    if table is None:
        reading.problems.append(FormProblem.whole(_NO_TABLE))
        return {}
    mapping = _report_header([clean(c.value) for c in table.rows[0][1]]) or {}
    labels = {title_key(ind.label): ind.code for ind in requirement.indicators}
    located: dict[str, int] = {}
    for row_number, cells in table.rows[1:]:

        def text(fld: str, cells: list[Cell] = cells) -> str:
            index = mapping.get(fld)
            return clean(cells[index].value) if index is not None and index < len(cells) else ""

        code = text("code")
        if code not in codes:
            label = title_key(text("label"))
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
        except BadValue as exc:
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


# --------------------------------------------------------------------------- kind


class PeriodicReport:
    """The ``periodic-report`` form kind."""

    spec = PERIODIC_REPORT
    name, ext, counts, needs_indicators = spec.name, spec.ext, spec.counts, spec.needs_indicators

    def short_title(self, requirement: Requirement) -> str:
        return "Báo cáo 6 tháng" if requirement.period == "H1" else "Báo cáo năm"

    def build(
        self, identity: FormIdentity, unit_name: str, requirement: Requirement, period_label: str, deadline_text: str
    ) -> bytes:
        return periodic_report_docx(identity, unit_name, requirement, period_label, deadline_text)

    def review(self, requirement: Requirement, data: bytes, filename: str, as_of: dt.date) -> Verdict:
        report = read_periodic_report(data, filename, requirement)
        return Verdict.decide(report.problems, ReportSummary(dict(report.values), dict(report.narrative)))


KIND = PeriodicReport()
