"""Build the built-in templates/directive.docx (a công văn) and templates/report.docx (a báo cáo) of
followup/defaults: docxtpl templates in the Decree 30/2020/NĐ-CP layout, sharing one header (bodies, number,
date) and one footer (Nơi nhận, signer).

The template is generated rather than drawn in Word so that every Jinja tag sits inside one run (Word splits
runs unpredictably when a file is edited by hand) and so that a change of layout is a reviewable diff.
The output is byte-for-byte deterministic: run it again and git sees no change.

Run: .venv/bin/python scripts/build_templates.py
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "followup" / "defaults" / "templates"  # this checkout's, not an installed package's
OUTPUT = TEMPLATES / "directive.docx"
REPORT_OUTPUT = TEMPLATES / "report.docx"

FONT = "Times New Roman"
BODY_PT = 14
FIRST_LINE = Mm(12.7)  # Decree 30: first-line indent 1-1.27 cm
PARAGRAPH_GAP = Pt(6)  # Decree 30: at least 6 pt between paragraphs

# Page: A4, margins top/bottom 20 mm, left 30 mm, right 15 mm -> 165 mm of text width.
PAGE_W, PAGE_H = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = Mm(20), Mm(20), Mm(30), Mm(15)
LEFT_COL, RIGHT_COL = Mm(70), Mm(95)

# A fixed timestamp keeps the file reproducible (zip entries and core properties).
FIXED_TIME = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
    "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
    "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


# --------------------------------------------------------------------------- fonts and styles


def _times_new_roman(rfonts_parent) -> None:
    """Name Times New Roman for every script slot and drop theme fonts, which would override it.

    Vietnamese letters with stacked diacritics are classified by Word as east-asian or complex script in
    some contexts; without the eastAsia/cs slots those characters fall back to another font.
    """
    rfonts = rfonts_parent.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rfonts_parent.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)


def _setup_styles(doc: DocumentObject) -> None:
    styles = doc.styles.element
    # Document defaults: the font every run inherits, in Vietnamese.
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _times_new_roman(rpr_default)
    lang = rpr_default.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr_default.append(lang)
    lang.attrib.clear()
    lang.set(qn("w:val"), "vi-VN")
    # Every style that names a (theme) font names Times New Roman instead.
    for rfonts in styles.iter(qn("w:rFonts")):
        _times_new_roman(rfonts.getparent())

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    _times_new_roman(normal.element.get_or_add_rPr())
    normal.font.size = Pt(BODY_PT)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE


def _drop_extra_parts(doc: DocumentObject) -> None:
    """python-docx's default template carries a Word 2010 style copy with theme fonts and a thumbnail of
    another document; neither belongs in this template."""
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.rels.pop(rid)
    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):
            package.rels.pop(rid)


# --------------------------------------------------------------------------- paragraphs and runs


def _run(paragraph: Paragraph, text: str, size: float, *, bold: bool = False, italic: bool = False) -> Run:
    run = paragraph.add_run(text)
    run.font.name = FONT
    _times_new_roman(run._r.get_or_add_rPr())
    run.font.size = Pt(size)
    run.font.bold = bold or None
    run.font.italic = italic or None
    return run


def _paragraph(
    container: DocumentObject | _Cell,
    text: str = "",
    size: float = BODY_PT,
    *,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    before: Length | None = None,
    first_line: Length | None = None,
    left: Length | None = None,
    right: Length | None = None,
    first: bool = False,
) -> Paragraph:
    """One paragraph with one run: the whole text, Jinja tags included, lies in that run."""
    paragraph = container.paragraphs[0] if first else container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    if before is not None:
        fmt.space_before = before
    if first_line is not None:
        fmt.first_line_indent = first_line
    if left is not None:
        fmt.left_indent = left
    if right is not None:
        fmt.right_indent = right
    if text:
        _run(paragraph, text, size, bold=bold, italic=italic)
    return paragraph


def _tag(container: DocumentObject | _Cell, tag: str, size: float = BODY_PT) -> Paragraph:
    """A paragraph holding only a {%p ... %} tag; docxtpl removes it when rendering."""
    return _paragraph(container, tag, size)


def _rule(container: _Cell, indent: Length) -> Paragraph:
    """A centred horizontal rule: the top border of an empty, 6 pt high paragraph, shortened by indents."""
    paragraph = _paragraph(container, "", left=indent, right=indent, align=WD_ALIGN_PARAGRAPH.CENTER)
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(6)
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        top.set(qn(key), value)
    borders.append(top)
    ppr.insert_element_before(borders, *_PPR_ORDER[_PPR_ORDER.index("w:pBdr") + 1 :])
    return paragraph


# --------------------------------------------------------------------------- tables


def _borderless_table(doc: DocumentObject, rows: int) -> Table:
    table = doc.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(int((LEFT_COL + RIGHT_COL) / 635)))  # EMU -> twentieths of a point
    width.set(qn("w:type"), "dxa")
    old = tbl_pr.find(qn("w:tblW"))
    if old is not None:
        tbl_pr.replace(old, width)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    # tblBorders goes after tblW/jc/tblCellSpacing/tblInd and before tblShd/tblLayout/tblCellMar/tblLook.
    anchor = next((c for c in tbl_pr if c.tag in {qn("w:tblShd"), qn("w:tblLayout"), qn("w:tblCellMar"),
                                                  qn("w:tblLook")}), None)  # fmt: skip
    if anchor is not None:
        anchor.addprevious(borders)
    else:
        tbl_pr.append(borders)
    for column, col_width in zip(table.columns, (LEFT_COL, RIGHT_COL), strict=True):
        column.width = col_width
    for row in table.rows:
        for cell, col_width in zip(row.cells, (LEFT_COL, RIGHT_COL), strict=True):
            cell.width = col_width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    return table


# --------------------------------------------------------------------------- the letter


def _page(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    section.header_distance = section.footer_distance = Mm(10)
    # Decree 30: page numbers from page 2, centred at the top, 13-14 pt; none on the first page.
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    header.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field_char(_run(header, "", 13), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    _run(header, "", 13)._r.append(instr)
    _field_char(_run(header, "", 13), "separate")
    _run(header, "2", 13)  # cached result, replaced by Word and LibreOffice
    _field_char(_run(header, "", 13), "end")
    section.first_page_header.is_linked_to_previous = False


def _field_char(run: Run, kind: str) -> None:
    field = OxmlElement("w:fldChar")
    field.set(qn("w:fldCharType"), kind)
    run._r.append(field)


def _header(doc: DocumentObject) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    table = _borderless_table(doc, rows=2)
    (office, nation), (number, date) = (row.cells for row in table.rows)

    # Issuing body: bold capitals, one line per element of office_lines, short rule under it.
    _paragraph(office, "{%p for line in office_lines %}", 13, align=center, first=True)
    _paragraph(office, "{{ line }}", 13, bold=True, align=center)
    _tag(office, "{%p endfor %}", 13)
    _rule(office, Mm(24))

    _paragraph(nation, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, align=center, first=True)
    _paragraph(nation, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, align=center)
    _rule(nation, Mm(15))

    # Number and summary (V/v) under it; the place and date level with the number.
    _paragraph(number, "Số: {{ number }}/{{ symbol }}", 13, align=center, before=PARAGRAPH_GAP, first=True)
    _tag(number, "{%p for line in subject_lines %}", 12)
    _paragraph(number, "{{ line }}", 12, align=center)
    _tag(number, "{%p endfor %}", 12)

    _paragraph(
        date,
        "{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}",
        14,
        italic=True,
        align=center,
        before=PARAGRAPH_GAP,
        first=True,
    )


def _addressees(doc: DocumentObject) -> None:
    _paragraph(doc, "Kính gửi:", left=Mm(25), before=PARAGRAPH_GAP)
    _tag(doc, "{%p for line in addressee_lines %}")
    _paragraph(doc, "{{ line }}", left=Mm(45))
    _tag(doc, "{%p endfor %}")
    _paragraph(doc, "")


def _body(doc: DocumentObject) -> None:
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    _paragraph(doc, "")
    _addressees(doc)

    opening = _paragraph(doc, "", align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _run(opening, "{{r opening }}", BODY_PT)

    _tag(doc, "{%p for item in items %}")
    item = _paragraph(doc, "{{ item.number }}. ", align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _run(item, "{{r item.text }}", BODY_PT)
    _tag(doc, "{%p endfor %}")

    closing = _paragraph(doc, "", align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _run(closing, "{{r closing }}", BODY_PT)
    _paragraph(doc, "")


def _footer(doc: DocumentObject) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    table = _borderless_table(doc, rows=1)
    recipients, signer = table.rows[0].cells

    _paragraph(recipients, "Nơi nhận:", 12, bold=True, italic=True, first=True)
    _tag(recipients, "{%p if distribution_heading %}", 11)
    _paragraph(recipients, "{{ distribution_heading }}", 11)
    _tag(recipients, "{%p endif %}", 11)
    _tag(recipients, "{%p for line in distribution_lines %}", 11)
    _paragraph(recipients, "{{ line }}", 11)
    _tag(recipients, "{%p endfor %}", 11)

    _paragraph(signer, "{%p for line in signer_authority %}", align=center, first=True)
    _paragraph(signer, "{{ line }}", bold=True, align=center)
    _tag(signer, "{%p endfor %}")
    for _ in range(4):  # room for the signature and the seal
        _paragraph(signer, "", align=center)
    _paragraph(signer, "{{ signer_name }}", bold=True, align=center)


# --------------------------------------------------------------------------- the report

TABLE_PT = 11


CELL_STYLES = {WD_ALIGN_PARAGRAPH.LEFT: "Table Text", WD_ALIGN_PARAGRAPH.RIGHT: "Table Number"}


def _cell_styles(doc: DocumentObject) -> None:
    """The paragraph styles of the repeated rows of the report's tables: a row is repeated once per unit
    (10,000 in a province), so its cells name a style rather than each carry its font size and alignment."""
    for align, name in CELL_STYLES.items():
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.font.size = Pt(TABLE_PT)
        style.paragraph_format.alignment = align


def _grid_table(doc: DocumentObject, headers: list[str], cells: list[str], widths: list[Length], rows: str) -> Table:
    """A bordered table: a header row, then one row per item of ``rows`` (a docxtpl {%tr for %} loop).

    A column loop is three cells, ``{%tc for ... %}``, the repeated cell, ``{%tc endfor %}``, in both rows.
    The columns' widths are fixed once in the table's grid; the repeated row's cells carry only a style."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # fixed layout: the grid's widths, not each cell's
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(sum(w.twips for w in widths)))
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "auto")):
            element.set(qn(key), value)
        borders.append(element)
    table._tbl.tblPr.append(borders)
    center = WD_ALIGN_PARAGRAPH.CENTER
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    head, start, body, end = table.rows
    for cell, text in zip(head.cells, headers, strict=True):
        _paragraph(cell, text, TABLE_PT, bold=not text.startswith("{%"), align=center, first=True)
    _paragraph(start.cells[0], f"{{%tr for row in {rows} %}}", TABLE_PT, first=True)
    for cell, text in zip(body.cells, cells, strict=True):
        numeric = text not in ("{{ row.name }}", "{{ row.label }}")
        cell._tc.tcPr.remove(cell._tc.tcPr.tcW)
        paragraph = cell.paragraphs[0]
        paragraph.style = CELL_STYLES[WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT]
        paragraph.add_run(text)
    _paragraph(end.cells[0], "{%tr endfor %}", TABLE_PT, first=True)
    return table


def _caption(doc: DocumentObject, text: str) -> None:
    _paragraph(doc, text, 13, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=PARAGRAPH_GAP)


def _heading(doc: DocumentObject, text: str) -> None:
    _paragraph(doc, text, bold=True, first_line=FIRST_LINE, before=PARAGRAPH_GAP)


def _lines(doc: DocumentObject, var: str, *, rich: bool = False, dash: bool = False) -> None:
    """One justified paragraph per entry of a list in the context (rich text, or plain with a dash)."""
    _tag(doc, f"{{%p for line in {var} %}}")
    text = "{{r line }}" if rich else ("- {{ line }}" if dash else "{{ line }}")
    _paragraph(doc, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _tag(doc, "{%p endfor %}")


def _report_body(doc: DocumentObject) -> None:
    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY
    _paragraph(doc, "")
    _paragraph(doc, "{{ kind_title }}", bold=True, align=center, before=PARAGRAPH_GAP)
    _tag(doc, "{%p for line in title_lines %}")
    _paragraph(doc, "{{ line }}", bold=True, align=center)
    _tag(doc, "{%p endfor %}")
    _rule(doc, Mm(60))  # type: ignore[arg-type]
    _addressees(doc)
    opening = _paragraph(doc, "", align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _run(opening, "{{r opening }}", BODY_PT)
    _tag(doc, "{%p if partial_note %}")
    _paragraph(doc, "{{ partial_note }}", italic=True, align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _tag(doc, "{%p endif %}")

    _heading(doc, "I. KẾT QUẢ THỰC HIỆN")
    _heading(doc, "1. Kết quả thực hiện các nhiệm vụ")
    _tag(doc, "{%p for task in tasks %}")
    _paragraph(doc, "{{ task.heading }}", bold=True, italic=True, align=justify, first_line=FIRST_LINE,
               before=PARAGRAPH_GAP)  # fmt: skip
    _tag(doc, "{%p for line in task.lines %}")
    _paragraph(doc, "- {{ line }}", align=justify, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _tag(doc, "{%p endfor %}")
    _tag(doc, "{%p endfor %}")

    _heading(doc, "2. Số liệu tổng hợp")
    _caption(doc, "Biểu 1. Tổng hợp các chỉ tiêu {{ period_label }}")
    _grid_table(
        doc, ["STT", "Chỉ tiêu", "ĐVT", "Tổng số", "Đơn vị báo cáo", "So với cùng kỳ"],
        ["{{ row.no }}", "{{ row.label }}", "{{ row.unit }}", "{{ row.total }}", "{{ row.reported }}",
         "{{ row.change }}"],
        [Mm(10), Mm(62), Mm(15), Mm(28), Mm(22), Mm(28)], "totals_rows",
    )  # fmt: skip
    _lines(doc, "totals_notes")
    _caption(doc, "Biểu 2. Số liệu của từng cơ quan, đơn vị")
    _grid_table(
        doc, ["STT", "Cơ quan, đơn vị", "{%tc for col in unit_columns %}", "{{ col }}", "{%tc endfor %}"],
        ["{{ row.no }}", "{{ row.name }}", "{%tc for value in row.cells %}", "{{ value }}", "{%tc endfor %}"],
        [Mm(10), Mm(45), Mm(1), Mm(12), Mm(1)], "unit_rows",
    )  # fmt: skip
    _lines(doc, "unit_notes")
    _tag(doc, "{%p if children %}")
    _caption(doc, "Biểu 3. Trẻ em có hoàn cảnh đặc biệt theo nhóm (khoản 1 Điều 10 Luật Trẻ em)")
    _grid_table(
        doc, ["Nhóm", "Hoàn cảnh đặc biệt", "Số trẻ em"], ["{{ row.no }}", "{{ row.label }}", "{{ row.count }}"],
        [Mm(15), Mm(120), Mm(30)], "group_rows",
    )  # fmt: skip
    _caption(doc, "Biểu 4. Trẻ em trong danh sách theo xã, thị trấn")
    _grid_table(
        doc, ["STT", "Xã, thị trấn", "Tổng số trẻ em", "Hoàn cảnh đặc biệt", "Hoàn cảnh khó khăn"],
        ["{{ row.no }}", "{{ row.name }}", "{{ row.rows }}", "{{ row.special }}", "{{ row.difficult }}"],
        [Mm(10), Mm(65), Mm(30), Mm(30), Mm(30)], "commune_rows",
    )  # fmt: skip
    _lines(doc, "children_notes")
    _tag(doc, "{%p endif %}")

    _heading(doc, "3. Kết quả của các cơ quan, đơn vị")
    _lines(doc, "results", rich=True)
    _heading(doc, "II. ĐÁNH GIÁ CHUNG")
    _heading(doc, "1. Kết quả đạt được")
    _lines(doc, "achieved", dash=True)
    _heading(doc, "2. Tồn tại, hạn chế và nguyên nhân")
    _lines(doc, "difficulties", rich=True)
    _heading(doc, "{{ next_heading }}")
    _lines(doc, "next_steps", dash=True)
    _heading(doc, "IV. ĐỀ XUẤT, KIẾN NGHỊ")
    _lines(doc, "proposals", rich=True)
    _paragraph(doc, "")


def _report_annex(doc: DocumentObject) -> None:
    """Phụ lục on a page of its own: completeness and timeliness, the late and the missing offices by name."""
    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, "").add_run().add_break(WD_BREAK.PAGE)
    _paragraph(doc, "Phụ lục", bold=True, align=center)
    _paragraph(doc, "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ", bold=True, align=center)
    _paragraph(doc, "{{ annex_subtitle }}", italic=True, align=center)
    _grid_table(
        doc, ["Yêu cầu báo cáo", "Hạn", "Dự kiến", "Đã nhận", "Đúng hạn", "Trễ hạn", "Chưa nhận", "Tỷ lệ",
              "Tỷ lệ đúng hạn"],
        ["{{ row.label }}", "{{ row.due }}", "{{ row.expected }}", "{{ row.accepted }}", "{{ row.on_time }}",
         "{{ row.late }}", "{{ row.missing }}", "{{ row.rate }}", "{{ row.on_time_rate }}"],
        [Mm(45), Mm(18), Mm(14), Mm(14), Mm(14), Mm(14), Mm(14), Mm(16), Mm(16)], "completeness_rows",
    )  # fmt: skip
    _tag(doc, "{%p for block in unit_lists %}")
    _paragraph(doc, "{{ block.heading }}", bold=True, first_line=FIRST_LINE, before=PARAGRAPH_GAP)
    _paragraph(doc, "{{ block.text }}", align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line=FIRST_LINE)
    _tag(doc, "{%p endfor %}")


def build(kind: str = "directive") -> bytes:
    """The template of a công văn (``directive``) or of a báo cáo (``report``) as .docx bytes."""
    doc = Document()
    _drop_extra_parts(doc)
    _setup_styles(doc)
    _page(doc)
    # Document() starts with one empty paragraph; the letter starts with the header table.
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    _header(doc)
    if kind == "report":
        _cell_styles(doc)
        _report_body(doc)
        _footer(doc)
        _report_annex(doc)
    else:
        _body(doc)
        _footer(doc)

    props = doc.core_properties
    props.title = "Báo cáo" if kind == "report" else "Công văn"
    props.author = props.last_modified_by = "followup"
    props.created = props.modified = FIXED_TIME.replace(tzinfo=None)
    props.revision = 1
    props.comments = "Generated by scripts/build_templates.py; edit the script, not this file."

    buffer = io.BytesIO()
    doc.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite the archive with fixed entry timestamps so that rebuilding does not change the file."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    for kind, output in (("directive", OUTPUT), ("report", REPORT_OUTPUT)):
        output.write_bytes(build(kind))
        print(f"wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
