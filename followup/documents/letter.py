"""The directive letter as a document: its context, its rendering, its text, its PDF.

Plain functions: the template is the only file read (to_pdf aside, which runs LibreOffice when present).
Layout rules follow Decree 30/2020/NĐ-CP; the template itself is built by scripts/build_templates.py.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from docx import Document
from docx.document import Document as DocumentObject
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate, RichText

from followup.domain.config import Directive, Recipients

FONT = "Times New Roman"
BODY_SIZE = 28  # half-points: 14 pt, the body size of the template

# Where an office name breaks onto its second line: before the level of the administrative unit.
_LEVEL_RE = re.compile(r"\s(?=(?:TỈNH|THÀNH PHỐ|HUYỆN|QUẬN|THỊ XÃ|XÃ|PHƯỜNG|THỊ TRẤN)\s)")
# **bold**, *italic*, ***both***: markers touch the text they wrap and are not part of a longer run of '*'.
_EMPHASIS_RE = re.compile(r"(?<!\*)(\*{1,3})(?![\s*])(.+?)(?<![\s*])\1(?!\*)", re.DOTALL)


class Segment(NamedTuple):
    """A stretch of text with one emphasis, as the YAML marks it."""

    text: str
    bold: bool = False
    italic: bool = False


# --------------------------------------------------------------------------- dates and names


def vn_date_parts(date: dt.date) -> tuple[str, str, str]:
    """Day, month and year as Decree 30 writes them: a day below 10 and the months 1 and 2 take a leading
    zero (so "tháng 01" cannot be misread or extended), months 3-12 do not."""
    month = f"{date.month:02d}" if date.month < 3 else str(date.month)
    return f"{date.day:02d}", month, str(date.year)


def vn_date_line(place: str, date: dt.date) -> str:
    """The place-and-date line of a letter, e.g. "Bạch Thông, ngày 05 tháng 02 năm 2023"."""
    day, month, year = vn_date_parts(date)
    return f"{place}, ngày {day} tháng {month} năm {year}"


def office_lines(name: str) -> list[str]:
    """Split an issuing body's name over two lines the way letterheads print it:
    "ỦY BAN NHÂN DÂN HUYỆN BẠCH THÔNG" -> ["ỦY BAN NHÂN DÂN", "HUYỆN BẠCH THÔNG"]."""
    parts = _LEVEL_RE.split(name.strip(), maxsplit=1)
    return [part.strip() for part in parts if part.strip()]


def list_lines(entries: list[str], *, dash: bool = True) -> list[str]:
    """Lines of an enumeration in a letter: each ends with ";", the last with "."."""
    lines = [entry.rstrip(" ;.") for entry in entries]
    punctuated = [line + (";" if i < len(lines) - 1 else ".") for i, line in enumerate(lines)]
    return [f"- {line}" for line in punctuated] if dash else punctuated


# --------------------------------------------------------------------------- emphasis


def parse_emphasis(text: str, bold: bool = False, italic: bool = False) -> list[Segment]:
    """Split text marked with **bold** and *italic* into segments; a lone '*' stays as it is."""
    segments: list[Segment] = []
    position = 0
    for match in _EMPHASIS_RE.finditer(text):
        if match.start() > position:
            segments.append(Segment(text[position : match.start()], bold, italic))
        marker = len(match[1])
        segments.extend(parse_emphasis(match[2], bold or marker >= 2, italic or marker in (1, 3)))
        position = match.end()
    if position < len(text):
        segments.append(Segment(text[position:], bold, italic))
    return segments


def rich_text(segments: list[Segment]) -> RichText:
    """Runs for the template's {{r ...}} tags.

    The run XML is written here rather than by RichText.add, which orders w:rPr children against the schema
    (w:sz before w:b and w:rFonts) and leaves out the east-asian font slot unless asked. The text is escaped
    here, and RichText is markup-safe, so autoescape does not escape it twice. The runs do not inherit the
    template run's format, so each names its font and size.
    """
    rich = RichText()
    fonts = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
    size = f'<w:sz w:val="{BODY_SIZE}"/><w:szCs w:val="{BODY_SIZE}"/>'
    for segment in segments:
        emphasis = ("<w:b/><w:bCs/>" if segment.bold else "") + ("<w:i/><w:iCs/>" if segment.italic else "")
        text = html.escape(segment.text, quote=False)
        rich.xml += f'<w:r><w:rPr>{fonts}{emphasis}{size}</w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>'
    return rich


# --------------------------------------------------------------------------- context and rendering


def letter_context(
    directive: Directive, recipients: Recipients, number: int | None, issued_on: dt.date
) -> dict[str, Any]:
    """Everything templates/directive.docx needs, ready to print: no logic is left to the template.

    ``number`` is the register number of the outgoing letter; None before it is issued ("Số: /UBND-...").
    """
    office = recipients.office
    day, month, year = vn_date_parts(issued_on)
    addressees = [recipients.group(code).name for code in directive.addressees]
    return {
        "office_lines": office_lines(office.name),
        "number": "" if number is None else str(number),
        "symbol": directive.symbol,
        "subject_lines": list(directive.subject_lines) or [f"V/v {directive.subject}"],
        "place": office.place,
        "day": day,
        "month": month,
        "year": year,
        "addressee_lines": list_lines(addressees, dash=len(addressees) > 1),
        "opening": rich_text(parse_emphasis(directive.opening)),
        "items": [{"number": i, "text": rich_text(parse_emphasis(item))} for i, item in enumerate(directive.items, 1)],
        "closing": rich_text(parse_emphasis(directive.closing)),
        "distribution_heading": directive.distribution.heading or "",
        "distribution_lines": list_lines(directive.distribution.lines),
        "signer_authority": list(directive.signer.authority),
        "signer_name": directive.signer.name,
    }


@dataclass(frozen=True)
class FollowUpFacts:
    """What a công văn đôn đốc states: the letter it follows, the reply still owed, who owes it, by when."""

    original_number: str  # "12/UBND-LĐTBXH"
    original_issued_on: dt.date
    title: str  # of the requirement
    period: str  # "6 tháng đầu năm 2023"
    deadline: str  # "trước ngày 15/05/2023"
    new_deadline: dt.date
    late_units: list[str]


def title_before_period(title: str, period: str) -> str:
    """The title as it reads before its period: a title that ends with the period's words ("báo cáo ... 6 tháng
    đầu năm" before "6 tháng đầu năm 2023", "báo cáo ... năm" before "năm 2023") leaves them to the period, so
    the letter does not say "6 tháng đầu năm 6 tháng đầu năm 2023"."""
    words = period.split()[:-1]  # the period without its year
    title_words = title.split()
    if words and len(title_words) > len(words) and title_words[-len(words) :] == words:
        return " ".join(title_words[: -len(words)])
    return title


def follow_up_context(
    directive: Directive, recipients: Recipients, facts: FollowUpFacts, number: int, issued_on: dt.date
) -> dict[str, Any]:
    """The context of templates/directive.docx for a công văn đôn đốc: the same Decree 30 layout, its own
    subject and body (worded in the directive's ``follow_up``), addressed to the late units."""
    words = directive.follow_up
    values = {
        "kind": directive.kind.lower(),
        "number": facts.original_number,
        "issued_on": f"{facts.original_issued_on:%d/%m/%Y}",
        "subject": directive.subject,
        "title": title_before_period(facts.title[:1].lower() + facts.title[1:], facts.period),
        "period": facts.period,
        "deadline": facts.deadline,
        "new_deadline": f"{facts.new_deadline:%d/%m/%Y}",
    }
    context = letter_context(directive, recipients, number, issued_on)
    heads = [line for line in (words.distribution_heading,) if line]
    context.update(
        subject_lines=[words.subject.format(**values)],
        addressee_lines=list_lines(facts.late_units, dash=len(facts.late_units) > 1),
        opening=rich_text(parse_emphasis(words.opening.format(**values))),
        items=[{"number": i, "text": rich_text([Segment(name)])} for i, name in enumerate(facts.late_units, 1)],
        closing=rich_text(parse_emphasis(words.closing.format(**values))),
        distribution_heading=heads[0] if heads else "",
        distribution_lines=list_lines(words.distribution),
    )
    return context


XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class _Template(DocxTemplate):
    """docxtpl's template, its rendered body put into the document in time linear in its size.

    lxml moves a tree into another document in time quadratic in the ``xml:space`` attributes it holds (each
    one misses the namespace cache of the move), and docxtpl writes one on the text of every tag: the move
    took 46 s for a report of 10,000 units. They are taken off before the move and put back after it.
    """

    def map_tree(self, tree: Any) -> None:
        spaced = [(element, element.attrib.pop(XML_SPACE)) for element in tree.xpath("//*[@xml:space]")]
        super().map_tree(tree)
        for element, value in spaced:
            element.set(XML_SPACE, value)


def render_document(template: Path, context: dict[str, Any]) -> DocumentObject:
    """The rendered template as a python-docx document; autoescape keeps '&', '<' and quotes in the text from
    breaking the XML."""
    document = _Template(template)
    document.render(context, autoescape=True)
    return document.docx


def render_letter(template: Path, context: dict[str, Any]) -> bytes:
    """The rendered letter as .docx bytes."""
    buffer = io.BytesIO()
    render_document(template, context).save(buffer)
    return buffer.getvalue()


def template_variables(template: Path) -> set[str]:
    """The names a template reads from its context (loop variables excluded)."""
    return set(DocxTemplate(template).get_undeclared_template_variables())


def missing_variables(template: Path, context: dict[str, Any]) -> set[str]:
    """Names the template uses that the context lacks: a configuration check before anything is sent."""
    return template_variables(template) - set(context)


# --------------------------------------------------------------------------- reading back


def docx_text(data: bytes) -> list[str]:
    """The visible text of a .docx in reading order, one entry per non-blank paragraph.

    Tables are read row by row, cell by cell; a merged cell is listed once although python-docx repeats it
    in every row and column it spans.
    """
    document = Document(io.BytesIO(data))
    lines: list[str] = []
    _collect(document.iter_inner_content(), lines)
    return lines


def _collect(blocks: Any, lines: list[str]) -> None:
    for block in blocks:
        if isinstance(block, Paragraph):
            if block.text.strip():
                lines.append(block.text)
        elif isinstance(block, Table):
            seen: set[Any] = set()  # the <w:tc> elements themselves: holding them keeps their identity
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc in seen:
                        continue
                    seen.add(cell._tc)
                    _collect(cell.iter_inner_content(), lines)
