"""Reply forms: what a unit receives, and that the form's identity survives whatever the unit does to it."""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest

from followup.domain.config import Requirement
from followup.domain.identity import FormIdentity
from followup.domain.special_groups import SPECIAL_GROUPS
from followup.forms.children_list import (
    CHILDREN_COLUMNS,
    CHILDREN_LIST_TITLE,
    GUIDE_SHEET,
    HEADER_ROW,
    LIST_SHEET,
    children_list_xlsx,
)
from followup.forms.identity import CUSTOM_PROPERTY, UnreadableForm, read_identity
from followup.forms.periodic_report import periodic_report_docx
from followup.forms.registry import form_filename

ROOT = Path(__file__).resolve().parents[2]
UNIT = "Ủy ban nhân dân xã Cao Sơn"


LIST_ID = FormIdentity("2023-child-protection", "danh-sach-tre-em", "2023", "XA-CAOSON")
REPORT_ID = FormIdentity("2023-child-protection", "bao-cao-6-thang", "2023-H1", "XA-CAOSON")
OTHER_ID = FormIdentity("2023-child-protection", "danh-sach-tre-em", "2023", "XA-VUMUON")


@pytest.fixture(scope="module")
def xlsx(children_req: Requirement) -> bytes:
    return children_list_xlsx(LIST_ID, UNIT, children_req, "20/02/2023")


@pytest.fixture(scope="module")
def report(report_req: Requirement) -> bytes:
    return periodic_report_docx(REPORT_ID, UNIT, report_req, "6 tháng đầu năm 2023", "trước ngày 15/05/2023")


def rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """Copy a package entry by entry; ``change`` returns new bytes, or None to drop the entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


CUSTOM = {"docProps/custom.xml"}
CORE = {"docProps/core.xml"}


def keep_only(data: bytes, token: str, parts: set[str] | None) -> bytes:
    """Erase the token everywhere except in ``parts`` (None: visible text, i.e. every non-property part)."""
    properties = CUSTOM | CORE

    def change(name: str, body: bytes) -> bytes:
        keep = name in parts if parts is not None else name not in properties
        return body if keep else body.replace(token.encode(), b"")

    return rewrite_zip(data, change)


# --------------------------------------------------------------------------- identity token


def test_token_is_compact_and_round_trips() -> None:
    token = LIST_ID.token()
    assert token == "followup:v1;d=2023-child-protection;r=danh-sach-tre-em;p=2023;u=XA-CAOSON"
    assert FormIdentity.parse(token) == LIST_ID


@pytest.mark.parametrize(
    "text",
    [
        "Mã biểu mẫu: followup:v1;d=2023-child-protection;r=danh-sach-tre-em;p=2023;u=XA-CAOSON",
        "  \n followup:v1;d=2023-child-protection;r=danh-sach-tre-em;p=2023;u=XA-CAOSON\t\n",
        "(followup:v1; d=2023-child-protection; r=danh-sach-tre-em; p=2023; u=XA-CAOSON).",
        "FOLLOWUP:V1;d=2023-child-protection;r=danh-sach-tre-em;p=2023;u=XA-CAOSON xin cảm ơn",
    ],
)
def test_parse_tolerates_surrounding_text(text: str) -> None:
    assert FormIdentity.parse(text) == LIST_ID


@pytest.mark.parametrize("text", ["", None, "Mã biểu mẫu:", "followup:v1;d=x;r=y", "followup:v2;d=a;r=b;p=c"])
def test_parse_without_token(text: str | None) -> None:
    assert FormIdentity.parse(text) is None


def test_identity_rejects_values_that_would_break_the_token() -> None:
    with pytest.raises(ValueError):
        FormIdentity("a;b", "r", "2023", "U")
    with pytest.raises(ValueError):
        FormIdentity("a", "r", "2023", "")


# --------------------------------------------------------------------------- file names


def test_form_filename(children_req: Requirement, report_req: Requirement) -> None:
    assert form_filename(children_req, UNIT) == "Danh sách trẻ em - Ủy ban nhân dân xã Cao Sơn.xlsx"
    assert form_filename(report_req, UNIT) == "Báo cáo 6 tháng - Ủy ban nhân dân xã Cao Sơn.docx"
    nfd = unicodedata.normalize("NFD", 'Phòng Lao động - TB/XH: "huyện"?\r\n<Bạch Thông>|*')
    name = form_filename(children_req, nfd)
    assert name == unicodedata.normalize("NFC", name)
    assert not set('\\/:*?"<>|\r\n') & set(name)
    assert name == "Danh sách trẻ em - Phòng Lao động - TB XH huyện Bạch Thông.xlsx"


# --------------------------------------------------------------------------- the children list workbook


def test_children_list_layout(xlsx: bytes, children_req: Requirement) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    ws = wb.worksheets[0]
    assert ws.title == "Danh sách"
    assert ws["A1"].value == CHILDREN_LIST_TITLE
    texts = [ws.cell(row=r, column=1).value or "" for r in range(1, HEADER_ROW)]
    assert any(UNIT in t for t in texts)
    assert any("Hạn gửi: 20/02/2023" in t for t in texts)
    assert any(t == f"Mã biểu mẫu: {LIST_ID.token()}" for t in texts)
    header = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, len(CHILDREN_COLUMNS) + 1)]
    assert header == [
        "STT",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "Dân tộc",
        "Thôn/bản/tổ",
        "Cha/mẹ/người chăm sóc",
        "Nhóm hoàn cảnh đặc biệt",
        "Hoàn cảnh khó khăn",
        "Hỗ trợ đã nhận",
        "Ghi chú",
    ]
    assert ws.freeze_panes == f"C{HEADER_ROW + 1}"
    assert ws.cell(row=HEADER_ROW + 1, column=3).number_format == "dd/mm/yyyy"
    assert ws.cell(row=HEADER_ROW, column=2).font.name == "Times New Roman"
    assert ws.cell(row=HEADER_ROW + 5, column=2).font.name == "Times New Roman"
    assert ws.column_dimensions["B"].width >= 20

    lists = wb[LIST_SHEET]
    assert lists.sheet_state == "hidden"
    choices = [lists.cell(row=r, column=1).value for r in range(1, 15)]
    assert choices[0] == "a) Mồ côi cả cha và mẹ"
    assert choices[4] == "đ) Nhiễm HIV/AIDS"
    assert [c.split(")")[0] for c in choices] == list("abcd") + ["đ"] + list("eghiklmno")
    assert len(",".join(choices)) > 255  # why the list lives on a sheet

    rules = {str(dv.sqref)[0]: dv for dv in ws.data_validations.dataValidation}
    assert rules["H"].formula1 == f"{LIST_SHEET}!$A$1:$A$14"
    assert rules["D"].formula1 == '"Nam,Nữ"'
    assert rules["I"].formula1 == '"Có,Không"'
    assert rules["C"].type == "date"

    guide = wb[GUIDE_SHEET]
    guide_text = "\n".join(str(c.value) for c in guide["A"] if c.value)
    for letter, label in SPECIAL_GROUPS.items():
        assert f"{letter}) {label}" in guide_text
    assert "16 tuổi" in guide_text and "mật khẩu" in guide_text
    assert guide.sheet_state == "visible"


def test_children_list_carries_identity_in_three_places(xlsx: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    token = LIST_ID.token()
    assert wb.custom_doc_props[CUSTOM_PROPERTY].value == token
    assert wb.properties.identifier == token
    assert wb.properties.keywords == token
    assert read_identity(xlsx, "x.xlsx") == LIST_ID


@pytest.mark.parametrize("place", ["custom", "core", "visible"])
def test_xlsx_identity_from_each_place_alone(xlsx: bytes, place: str) -> None:
    parts = {"custom": CUSTOM, "core": CORE, "visible": None}[place]
    stripped = keep_only(xlsx, LIST_ID.token(), parts)
    assert read_identity(stripped, "x.xlsx") == LIST_ID
    assert read_identity(keep_only(xlsx, LIST_ID.token(), set()), "x.xlsx") is None


@pytest.mark.parametrize("place", ["custom", "core", "visible"])
def test_docx_identity_from_each_place_alone(report: bytes, place: str) -> None:
    parts = {"custom": CUSTOM, "core": CORE, "visible": None}[place]
    stripped = keep_only(report, REPORT_ID.token(), parts)
    assert read_identity(stripped, "r.docx") == REPORT_ID
    assert read_identity(keep_only(report, REPORT_ID.token(), set()), "r.docx") is None


def test_custom_property_is_preferred_then_core(xlsx: bytes) -> None:
    token, other = LIST_ID.token(), OTHER_ID.token()

    def swap(parts: set[str]) -> Callable[[str, bytes], bytes]:
        return lambda name, body: body.replace(token.encode(), other.encode()) if name in parts else body

    assert read_identity(rewrite_zip(xlsx, swap(CUSTOM)), "x.xlsx") == OTHER_ID
    core_other = rewrite_zip(keep_only(xlsx, token, CORE | {"xl/worksheets/sheet1.xml"}), swap(CORE))
    assert read_identity(core_other, "x.xlsx") == OTHER_ID


def test_identity_survives_openpyxl_resave_and_a_copy_into_a_new_workbook(xlsx: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    wb["Danh sách"]["B7"] = "Nguyễn Văn An"
    out = io.BytesIO()
    wb.save(out)
    assert read_identity(out.getvalue(), "x.xlsx") == LIST_ID

    # A unit copies the sheet's cells into a fresh workbook: only the visible line travels.
    fresh = openpyxl.Workbook()
    for row in wb["Danh sách"].iter_rows(min_row=1, max_row=8, values_only=True):
        fresh.active.append(row)
    out = io.BytesIO()
    fresh.save(out)
    assert read_identity(out.getvalue(), "copy.xlsx") == LIST_ID


def test_identity_in_shared_strings_split_across_rich_text_runs() -> None:
    """Excel and LibreOffice keep text in sharedStrings.xml, sometimes as several formatted runs."""
    token = LIST_ID.token()
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{ns}" count="2" uniqueCount="2">'
        "<si><t>Họ và tên</t></si>"
        f"<si><r><t>Mã biểu mẫu: {token[:20]}</t></r><r><rPr><b/></rPr><t>{token[20:]}</t></r></si></sst>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}"/>')
        z.writestr("xl/sharedStrings.xml", shared)
    assert read_identity(out.getvalue(), "lo.xlsx") == LIST_ID


def test_identity_survives_libreoffice_resave(xlsx: bytes, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("soffice (LibreOffice) is not on PATH")
    src = tmp_path / "in" / "Danh sách.xlsx"
    src.parent.mkdir()
    src.write_bytes(xlsx)
    outdir = tmp_path / "out"
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(outdir), str(src)],
        check=True, timeout=180, capture_output=True,
    )  # fmt: skip
    resaved = (outdir / "Danh sách.xlsx").read_bytes()
    assert resaved != xlsx
    assert read_identity(resaved, "Danh sách.xlsx") == LIST_ID
    for place in ("core", "visible"):
        parts = {"core": CORE, "visible": None}[place]
        assert read_identity(keep_only(resaved, LIST_ID.token(), parts), "x.xlsx") == LIST_ID


# --------------------------------------------------------------------------- the periodic report document


def test_periodic_report_layout(report: bytes, report_req: Requirement) -> None:
    doc = docx.Document(io.BytesIO(report))
    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in texts
    assert any("Kết quả thực hiện công tác trẻ em 6 tháng đầu năm" in t for t in texts)
    assert any("6 tháng đầu năm 2023" in t for t in texts)
    assert any(UNIT in t for t in texts)
    for heading in ("I. KẾT QUẢ THỰC HIỆN", "II. KHÓ KHĂN, VƯỚNG MẮC", "III. ĐỀ XUẤT, KIẾN NGHỊ"):
        assert heading in texts
    assert texts.index("I. KẾT QUẢ THỰC HIỆN") < texts.index("II. KHÓ KHĂN, VƯỚNG MẮC")
    assert texts[-1] == f"Mã biểu mẫu: {REPORT_ID.token()}"
    assert doc.sections[0].footer.paragraphs[0].text == f"Mã biểu mẫu: {REPORT_ID.token()}"

    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    assert [c.text for c in table.rows[0].cells] == ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Mã"]
    assert len(table.rows) == 1 + len(report_req.indicators)
    for row, indicator in zip(table.rows[1:], report_req.indicators, strict=True):
        assert row.cells[1].text == indicator.label
        assert row.cells[2].text == (indicator.unit or "")
        assert row.cells[3].text == ""
        assert row.cells[4].text == indicator.code
        assert row.cells[4].paragraphs[0].runs[0].font.size.pt <= 7

    assert doc.styles["Normal"].font.name == "Times New Roman"
    section = doc.sections[0]
    assert round(section.left_margin.mm) == 30 and round(section.right_margin.mm) == 15
    assert doc.core_properties.identifier == REPORT_ID.token()
    assert doc.core_properties.keywords == REPORT_ID.token()
    with zipfile.ZipFile(io.BytesIO(report)) as z:
        assert CUSTOM_PROPERTY.encode() in z.read("docProps/custom.xml")
        assert b"custom-properties+xml" in z.read("[Content_Types].xml")
        assert b"docProps/custom.xml" in z.read("_rels/.rels")


def test_docx_identity_survives_python_docx_resave_and_split_runs(report: bytes) -> None:
    doc = docx.Document(io.BytesIO(report))
    out = io.BytesIO()
    doc.save(out)
    assert read_identity(out.getvalue(), "r.docx") == REPORT_ID

    # Word splits a line into runs when it is edited; the visible line must still read.
    token = REPORT_ID.token()
    fresh = docx.Document()
    p = fresh.add_paragraph()
    for piece in ("Mã biểu ", "mẫu: ", token[:15], token[15:40], token[40:]):
        p.add_run(piece)
    out = io.BytesIO()
    fresh.save(out)
    assert read_identity(out.getvalue(), "copy.docx") == REPORT_ID


def test_read_identity_refuses_unreadable_files() -> None:
    with pytest.raises(UnreadableForm):
        read_identity(b"not a zip at all", "x.xlsx")
    with pytest.raises(UnreadableForm) as info:
        encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "EncryptionInfo".encode("utf-16-le")
        read_identity(encrypted, "x")
    assert "mật khẩu" in info.value.message_vi
