"""The directive letter: the rendered seed reads like the signed letter, in the Decree 30 layout."""

from __future__ import annotations

import datetime as dt
import difflib
import importlib.util
import io
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn

from followup.documents.letter import (
    Segment,
    docx_text,
    letter_context,
    list_lines,
    missing_variables,
    office_lines,
    parse_emphasis,
    render_letter,
    template_variables,
    vn_date_line,
    vn_date_parts,
)
from followup.documents.libreoffice import to_pdf
from followup.domain.config import Config, Directive, load_config
from followup.settings import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = DEFAULTS / "templates" / "directive.docx"
SHARED_SEED = ROOT.parent / "shared" / "seed" / "directive-2023-child-protection.md"
SEED = Path(__file__).resolve().parents[1] / "data" / "directive-2023-child-protection.md"  # a copy of the seed
FONT = "Times New Roman"
CODE = "2023-child-protection"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(DEFAULTS)


@pytest.fixture(scope="module")
def directive(config: Config) -> Directive:
    return config.directive(CODE)


def render(config: Config, directive: Directive, number: int | None = None, on: dt.date | None = None) -> bytes:
    context = letter_context(directive, config.recipients, number, on or dt.date(2023, 2, 5))
    return render_letter(TEMPLATE, context)


# --------------------------------------------------------------------------- (a) the seed's text


def _words(text: str) -> list[str]:
    """Words of a letter with the parts that differ by issue removed: the number and the date line."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"Số:\s*\d*\s*/", "Số: /", text)
    text = re.sub(r"Bạch Thông, ngày\s*\d*\s*tháng\s*\d*\s*năm\s*\d{4}", " ", text)
    return text.split()


def test_the_copy_of_the_seed_is_the_shared_seed():
    if not SHARED_SEED.exists():
        pytest.skip(f"the shared folder is not next to the repository ({SHARED_SEED}); the copy is used alone")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def _seed_text() -> str:
    text = SEED.read_text(encoding="utf-8").replace("**", "").replace("*", "")
    # The two typing slips of the printed letter that DOMAIN.md documents.
    return text.replace("UBND-LĐTBOXH", "UBND-LĐTBXH").replace("Lòng ghép", "Lồng ghép")


def _word_diff(expected: list[str], actual: list[str], context: int = 6) -> str:
    out = []
    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before = " ".join(expected[max(0, a0 - context) : a0])
        out.append(
            f"{tag} after ...{before!r}:\n  seed:     {' '.join(expected[a0:a1])!r}\n"
            f"  rendered: {' '.join(actual[b0:b1])!r}"
        )
    return "\n".join(out)


def test_rendered_seed_reads_like_the_signed_letter(config: Config, directive: Directive) -> None:
    expected = _words(_seed_text())
    actual = _words(" ".join(docx_text(render(config, directive, number=123))))
    assert actual == expected, "rendered letter differs from the seed:\n" + _word_diff(expected, actual)


# --------------------------------------------------------------------------- (b) number and date


@pytest.mark.parametrize(
    ("date", "parts"),
    [
        (dt.date(2023, 2, 5), ("05", "02", "2023")),
        (dt.date(2023, 1, 31), ("31", "01", "2023")),
        (dt.date(2023, 3, 1), ("01", "3", "2023")),
        (dt.date(2023, 11, 9), ("09", "11", "2023")),
        (dt.date(2023, 12, 25), ("25", "12", "2023")),
    ],
)
def test_vn_date_parts_pad_days_and_only_months_1_and_2(date: dt.date, parts: tuple[str, str, str]) -> None:
    assert vn_date_parts(date) == parts


@pytest.mark.parametrize(
    ("date", "line"),
    [
        (dt.date(2023, 2, 5), "Bạch Thông, ngày 05 tháng 02 năm 2023"),
        (dt.date(2023, 11, 9), "Bạch Thông, ngày 09 tháng 11 năm 2023"),
    ],
)
def test_number_and_date_are_printed(config: Config, directive: Directive, date: dt.date, line: str) -> None:
    assert vn_date_line("Bạch Thông", date) == line
    text = docx_text(render(config, directive, number=123, on=date))
    assert "Số: 123/UBND-LĐTBXH" in text
    assert line in text


def test_number_is_blank_before_issue(config: Config, directive: Directive) -> None:
    assert "Số: /UBND-LĐTBXH" in docx_text(render(config, directive, number=None))


# --------------------------------------------------------------------------- (c) escaping and emphasis


def test_special_characters_render_verbatim(config: Config, directive: Directive) -> None:
    nasty = 'A & B <x> "q"'
    changed = directive.model_copy(
        update={
            "items": [nasty, f"**{nasty}** and *{nasty}*"],
            "subject_lines": [f"V/v {nasty}"],
            "opening": f"Mở đầu {nasty}:",
        }
    )
    data = render(config, changed)
    text = docx_text(data)  # parsing the XML again proves the document still opens
    assert f"1. {nasty}" in text
    assert f"2. {nasty} and {nasty}" in text
    assert f"V/v {nasty}" in text
    assert f"Mở đầu {nasty}:" in text


def test_yaml_emphasis_becomes_bold_and_italic_runs(config: Config, directive: Directive) -> None:
    document = Document(io.BytesIO(render(config, directive)))
    runs = [run for paragraph in document.paragraphs for run in paragraph.runs if run.text]
    bold = [run.text for run in runs if run.bold]
    italic = [run.text for run in runs if run.italic]
    assert bold == ["Tổng đài điện thoại quốc gia bảo vệ trẻ em (số 111)"]
    assert italic == ["qua Phòng Lao động-TB&XH huyện"]


def test_parse_emphasis() -> None:
    assert parse_emphasis("a **b** *c* d") == [
        Segment("a "),
        Segment("b", bold=True),
        Segment(" "),
        Segment("c", italic=True),
        Segment(" d"),
    ]
    assert parse_emphasis("***x***") == [Segment("x", bold=True, italic=True)]
    assert parse_emphasis("*a **b** c*") == [
        Segment("a ", italic=True),
        Segment("b", bold=True, italic=True),
        Segment(" c", italic=True),
    ]
    assert parse_emphasis("5 * 3 = 15") == [Segment("5 * 3 = 15")]


def test_names_and_lists() -> None:
    assert office_lines("ỦY BAN NHÂN DÂN HUYỆN BẠCH THÔNG") == ["ỦY BAN NHÂN DÂN", "HUYỆN BẠCH THÔNG"]
    assert office_lines("ỦY BAN NHÂN DÂN XÃ CAO SƠN") == ["ỦY BAN NHÂN DÂN", "XÃ CAO SƠN"]
    assert list_lines(["Như trên", "CT, PCT UBND huyện", "Lưu: VT"]) == [
        "- Như trên;",
        "- CT, PCT UBND huyện;",
        "- Lưu: VT.",
    ]
    assert list_lines(["Ủy ban nhân dân các xã, thị trấn"], dash=False) == ["Ủy ban nhân dân các xã, thị trấn."]


# --------------------------------------------------------------------------- (d) layout


def test_page_is_a4_with_decree_30_margins(config: Config, directive: Directive) -> None:
    section = Document(io.BytesIO(render(config, directive))).sections[0]
    mm = pytest.approx  # Word stores twentieths of a point: 210 mm is 11906 twips, 0.01 mm off
    assert (section.page_width.mm, section.page_height.mm) == (mm(210, abs=0.1), mm(297, abs=0.1))
    assert (section.top_margin.mm, section.bottom_margin.mm) == (mm(20, abs=0.1), mm(20, abs=0.1))
    assert (section.left_margin.mm, section.right_margin.mm) == (mm(30, abs=0.1), mm(15, abs=0.1))


def _assert_times_new_roman(rfonts: Any, where: str) -> None:
    assert rfonts is not None, f"{where}: no font named"
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        assert rfonts.get(qn(attr)) == FONT, f"{where}: {attr} is {rfonts.get(qn(attr))!r}"
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        assert rfonts.get(qn(attr)) is None, f"{where}: theme font {attr} overrides {FONT}"


def test_times_new_roman_everywhere(config: Config, directive: Directive) -> None:
    document = Document(io.BytesIO(render(config, directive)))
    styles = document.styles.element
    _assert_times_new_roman(styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}"),
                            "docDefaults")  # fmt: skip
    _assert_times_new_roman(document.styles["Normal"].element.rPr.rFonts, "Normal style")
    for rfonts in styles.iter(qn("w:rFonts")):
        _assert_times_new_roman(rfonts, "styles.xml")
    runs = [r for r in document.element.body.iter(qn("w:r")) if "".join(t.text or "" for t in r.iter(qn("w:t")))]
    assert runs
    for run in runs:
        _assert_times_new_roman(run.find(f"{qn('w:rPr')}/{qn('w:rFonts')}"), f"run {run.xpath('string(.)')!r}")


def test_header_and_footer_tables_have_two_borderless_columns(config: Config, directive: Directive) -> None:
    document = Document(io.BytesIO(render(config, directive)))
    header, footer = document.tables
    for table in (header, footer):
        assert len(table.columns) == 2
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        assert borders is not None and {b.get(qn("w:val")) for b in borders} == {"nil"}
    left, right = header.rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN", "HUYỆN BẠCH THÔNG"]
    assert all(run.bold for p in left.paragraphs for run in p.runs if run.text)
    assert [p.text for p in right.paragraphs if p.text] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                                           "Độc lập - Tự do - Hạnh phúc"]  # fmt: skip
    date = next(p for p in header.rows[1].cells[1].paragraphs if p.text)
    assert all(run.italic for run in date.runs if run.text)
    where = footer.rows[0].cells[0].paragraphs[0]
    assert where.text == "Nơi nhận:" and where.runs[0].bold and where.runs[0].italic


# --------------------------------------------------------------------------- (e) variables


def test_template_variables_are_all_in_the_context(config: Config, directive: Directive) -> None:
    context = letter_context(directive, config.recipients, 1, dt.date(2023, 2, 5))
    assert template_variables(TEMPLATE) <= set(context)
    assert missing_variables(TEMPLATE, context) == set()
    context.pop("signer_name")
    assert missing_variables(TEMPLATE, context) == {"signer_name"}


# --------------------------------------------------------------------------- the template file and helpers


def test_checked_in_template_is_what_the_script_builds() -> None:
    spec = importlib.util.spec_from_file_location("build_templates", ROOT / "scripts" / "build_templates.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert built == module.build(), "the build is not deterministic"
    assert built == TEMPLATE.read_bytes(), "templates/directive.docx is stale: run scripts/build_templates.py"


def test_docx_text_lists_a_merged_cell_once() -> None:
    document = Document()
    document.add_paragraph("before")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "wide"
    table.cell(0, 2).text = "c"
    table.cell(1, 0).merge(table.cell(1, 1))
    table.cell(1, 2).text = "tall"
    document.add_paragraph("after")
    buffer = io.BytesIO()
    document.save(buffer)
    assert docx_text(buffer.getvalue()) == ["before", "wide", "c", "tall", "after"]


def test_rendered_letter_is_a_zip_with_a_document(config: Config, directive: Directive) -> None:
    with zipfile.ZipFile(io.BytesIO(render(config, directive))) as archive:
        assert "word/document.xml" in archive.namelist()
        assert "{{" not in archive.read("word/document.xml").decode()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_pdf_conversion(config: Config, directive: Directive, tmp_path: Path) -> None:
    source = tmp_path / "letter.docx"
    source.write_bytes(render(config, directive))
    pdf = to_pdf(source, tmp_path / "out")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF")


def test_to_pdf_without_libreoffice_returns_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("followup.documents.libreoffice.shutil.which", lambda name: None)
    assert to_pdf(tmp_path / "letter.docx", tmp_path) is None
