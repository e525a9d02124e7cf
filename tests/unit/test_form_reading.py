"""Reading returned forms as units really fill them, and refusing files that are unsafe or unreadable."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from followup.domain.config import Directive, Requirement
from followup.domain.identity import FormIdentity
from followup.forms.cells import parse_count
from followup.forms.children_list import ChildrenListReading, children_list_xlsx, read_children_list
from followup.forms.identity import UnreadableForm, read_identity
from followup.forms.periodic_report import periodic_report_docx, read_periodic_report
from followup.forms.problems import FormProblem
from followup.forms.special_groups import parse_groups

ROOT = Path(__file__).resolve().parents[2]
UNIT = "Ủy ban nhân dân xã Cao Sơn"
AS_OF = dt.date(2023, 2, 20)
LIST_ID = FormIdentity("2023-child-protection", "danh-sach-tre-em", "2023", "XA-CAOSON")
REPORT_ID = FormIdentity("2023-child-protection", "bao-cao-6-thang", "2023-H1", "XA-CAOSON")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture(scope="module")
def blank_list(directive: Directive) -> bytes:
    return children_list_xlsx(LIST_ID, UNIT, directive.requirement("danh-sach-tre-em"), "20/02/2023")


@pytest.fixture(scope="module")
def blank_report(report_req: Requirement) -> bytes:
    return periodic_report_docx(REPORT_ID, UNIT, report_req, "6 tháng đầu năm 2023", "trước ngày 15/05/2023")


def save(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def save_doc(doc: docx.document.Document) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def cache_formula(data: bytes, ref: str, value: str) -> bytes:
    """Store a computed value for a formula cell, as Excel does when it saves (openpyxl cannot)."""

    def change(name: str, body: bytes) -> bytes:
        if not name.startswith("xl/worksheets/"):
            return body
        pattern = rf'<c r="{ref}"( s="\d+")?><f>(.*?)</f><v></v></c>'
        replacement = rf'<c r="{ref}"\1 t="str"><f>\2</f><v>{value}</v></c>'
        return re.sub(pattern.encode(), replacement.encode(), body)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return out.getvalue()


# Names used in the filled forms; the privacy test checks none of them leaks into a problem.
NAMES = [
    "Nguyễn Văn An",
    "Lê Thị Bình",
    "Hoàng Văn Cường",
    "Hoàng Thị Dung",
    "Ma Văn Đức",
    "Triệu Thị Gấm",
    "Lục Văn Hùng",
    "Nông Thị Hoa",
    "Bế Văn Khánh",
]


def assert_private(reading: ChildrenListReading) -> None:
    rendered = "\n".join([*(str(p) for p in reading.problems), *(repr(p) for p in reading.problems)])
    rendered += "\n" + repr(reading.rows)
    for name in NAMES:
        for form in (name, nfd(name), name.split()[-1] + " ", name.split()[0] + " " + name.split()[1]):
            assert form not in rendered


def fill_like_a_commune(blank: bytes) -> bytes:
    """A commune clerk's filling: NFD names, dates typed every way, "Nhóm D", formulas, merged cells, gaps."""
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    ws = wb["Danh sách"]
    rows = [
        # row, name, birth, sex, ethnicity, village, carer, group, difficult, support, note
        (
            7,
            nfd("Nguyễn Văn An"),
            dt.datetime(2015, 2, 20),
            "Nam",
            "Tày",
            "Thôn Nà Cà",
            "Nguyễn Văn Ba",
            "d) Khuyết tật",
            "Có",
            "1.080.000",
            None,
        ),
        (
            8,
            nfd("Lê Thị Bình"),
            "20/2/2016",
            "nữ",
            "Nùng",
            "Bản Chang",
            "Lê Văn Cao",
            "Nhóm D",
            "có",
            None,
            None,
        ),
        # row 9 left blank
        (10, "Hoàng Văn Cường", "20-02-2017", "NAM", "Dao", None, None, "đ", "Không", None, "Con thứ hai"),
        (11, "Hoàng Thị Dung", "2018-03-04", "Nữ", "Dao", None, None, "D)", None, None, None),
        (12, nfd("Ma Văn Đức"), 42000, "Nam", "Tày", "Thôn Phiêng", "Ma Thị E", "d, n", "Có", None, None),
        (13, None, "ngày 5 tháng 9 năm 2012", "Nữ", "Kinh", "Tổ 3", "Triệu Văn F", "l", None, None, None),
        (
            14,
            "Lục Văn Hùng",
            dt.date(2010, 1, 1),
            "Nam",
            "Tày",
            "Thôn Nà Cà",
            "Lục Thị G",
            "a",
            "Có",
            None,
            None,
        ),
    ]
    for row, *values in rows:
        for col, value in enumerate(values, start=2):
            ws.cell(row=row, column=col, value=value)
        ws.cell(row=row, column=1, value=row - 6)
    # Siblings on rows 10-11 share village and carer: merged cells, value in the top-left cell.
    ws["F10"], ws["G10"] = "Bản Cốc", "Hoàng Văn Lý"
    ws.merge_cells("F10:F11")
    ws.merge_cells("G10:G11")
    # A name built by a formula (Excel saved its value) and a note formula whose value was never computed.
    ws["B13"] = '="Triệu Thị "&"Gấm"'
    ws["K14"] = '=IF(I14="Có","Hộ nghèo","")'
    # Signature block under the list, then stray formatting far below.
    ws["H40"] = "Cao Sơn, ngày 15 tháng 02 năm 2023"
    ws["B41"] = "Người lập biểu"
    ws["H41"] = "TM. ỦY BAN NHÂN DÂN"
    ws["B44"] = nfd("Nông Thị Hoa")
    ws["C44"] = "01/01/2015"
    return cache_formula(save(wb), "B13", "Triệu Thị Gấm")


def test_reads_a_commune_filled_workbook(blank_list: bytes) -> None:
    reading = read_children_list(fill_like_a_commune(blank_list), "ds.xlsx", as_of=AS_OF)
    by_row = {r.source_row: r for r in reading.rows}
    assert sorted(by_row) == [
        7,
        8,
        10,
        11,
        12,
        13,
        14,
    ]  # blank row 9 and everything after the signature ignored

    an = by_row[7]
    assert an.name == "Nguyễn Văn An" and an.name == unicodedata.normalize("NFC", an.name)
    assert (an.birth_date, an.sex, an.groups, an.difficult) == (dt.date(2015, 2, 20), "Nam", ("d",), True)
    assert (an.ethnicity, an.village, an.carer) == ("Tày", "Thôn Nà Cà", "Nguyễn Văn Ba")
    assert an.support == "1.080.000" and an.support_amount == 1_080_000

    assert by_row[8].name == "Lê Thị Bình"
    assert (by_row[8].birth_date, by_row[8].sex, by_row[8].groups) == (dt.date(2016, 2, 20), "Nữ", ("d",))
    assert by_row[10].birth_date == dt.date(2017, 2, 20)
    assert by_row[10].groups == ("đ",) and by_row[10].difficult is False and by_row[10].note == "Con thứ hai"
    assert by_row[11].birth_date == dt.date(2018, 3, 4) and by_row[11].groups == ("d",)
    assert (by_row[10].village, by_row[11].village) == ("Bản Cốc", "Bản Cốc")
    assert by_row[11].carer == "Hoàng Văn Lý"
    assert by_row[12].birth_date == dt.date(2014, 12, 27)  # Excel serial 42000 in a cell typed as a number
    assert by_row[12].groups == ("d", "n")
    assert by_row[13].name == "Triệu Thị Gấm" and by_row[13].birth_date == dt.date(2012, 9, 5)
    assert by_row[14].note is None

    assert reading.ok, [str(p) for p in reading.errors]
    formula = [p for p in reading.problems if p.row == 14 and p.column == "K"]
    assert len(formula) == 1 and "công thức" in formula[0].message_vi and formula[0].severity == "warning"
    assert_private(reading)


def test_inserted_column_in_the_form_still_reads(blank_list: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(blank_list))
    ws = wb["Danh sách"]
    ws.unmerge_cells("A1:K1")
    ws.insert_cols(3)  # the unit adds "Mã định danh" between the name and the birth date
    ws["C6"] = "Mã định danh cá nhân"
    ws["B7"], ws["C7"], ws["D7"], ws["E7"], ws["I7"] = (
        "Nguyễn Văn An",
        "001215000123",
        "20/02/2015",
        "Nam",
        "d",
    )
    reading = read_children_list(save(wb), "ds.xlsx", as_of=AS_OF)
    [child] = reading.rows
    assert (child.birth_date, child.sex, child.groups) == (dt.date(2015, 2, 20), "Nam", ("d",))
    assert reading.ok


def test_unit_made_workbook_with_other_titles_and_column_numbers() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws["A1"] = "DANH SÁCH TRẺ EM HCĐB XÃ CAO SƠN"
    ws.append([])
    ws.append(
        [
            nfd(t)
            for t in [
                "TT",
                "HỌ VÀ TÊN TRẺ EM",
                "Số định danh",
                "Ngày, tháng, năm sinh",
                "Giới tính",
                "Dân tộc",
                "Địa chỉ",
                "Họ và tên cha mẹ",
                "Nhóm HCĐB",
                "HCKK",
                "Ghi chú",
            ]
        ]
    )
    ws.append([f"({i})" for i in range(1, 12)])
    ws.append([1, "Bế Văn Khánh", "x", "03.04.2013", "Nam", "Tày", "Nà Pài", "Bế Văn L", "nhóm đ", "x", ""])
    ws.append([None] * 11)
    ws.append([2, "Nông Thị Hoa", None, "2014-05-06 00:00:00", "Nữ", "Tày", None, None, "Khuyết tật", None])
    reading = read_children_list(save(wb), "tu-lam.xlsx", as_of=AS_OF)
    assert [r.source_row for r in reading.rows] == [5, 7]
    first, second = reading.rows
    assert first.name == "Bế Văn Khánh" and first.birth_date == dt.date(2013, 4, 3)
    assert first.village == "Nà Pài" and first.carer == "Bế Văn L"
    assert first.groups == ("đ",) and first.difficult is True
    assert second.birth_date == dt.date(2014, 5, 6) and second.groups == ("d",)
    assert reading.ok


def test_word_table_version_of_the_list() -> None:
    doc = docx.Document()
    doc.add_paragraph("DANH SÁCH TRẺ EM CÓ HOÀN CẢNH ĐẶC BIỆT")
    titles = [
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
    rows = [
        [
            "1",
            nfd("Hoàng Văn Cường"),
            "20/02/2017",
            "Nam",
            "Dao",
            "Bản Cốc",
            "Hoàng Văn Lý",
            "D) Khuyết tật",
            "Có",
            "",
            "",
        ],
        ["2", "Hoàng Thị Dung", "4/3/2018", "Nữ", "Dao", "", "", "Nhóm đ", "", "", ""],
        titles,  # header repeated where the table continues on the next page
        ["3", "Bế Văn Khánh", "03-04-2013", "Nam", "Tày", "Nà Pài", "", "k", "", "", ""],
        ["", "", "", "", "", "", "", "", "", "", ""],
    ]
    table = doc.add_table(rows=1 + len(rows), cols=len(titles))
    for r, values in enumerate([titles, *rows]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    merged = table.cell(1, 5).merge(table.cell(2, 5))  # the village spans both siblings
    for extra in merged.paragraphs[1:]:
        extra._p.getparent().remove(extra._p)
    reading = read_children_list(save_doc(doc), "ds.docx", as_of=AS_OF)
    assert [r.name for r in reading.rows] == ["Hoàng Văn Cường", "Hoàng Thị Dung", "Bế Văn Khánh"]
    assert [r.source_row for r in reading.rows] == [2, 3, 5]
    assert reading.rows[1].birth_date == dt.date(2018, 3, 4)
    assert [r.village for r in reading.rows] == ["Bản Cốc", "Bản Cốc", "Nà Pài"]
    assert [r.groups for r in reading.rows] == [("d",), ("đ",), ("k",)]
    assert reading.ok
    assert reading.rows[0].sheet == "Bảng 1"


def checked(rows: list[list[object]], as_of: dt.date = AS_OF) -> ChildrenListReading:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Nhóm hoàn cảnh đặc biệt", "Hoàn cảnh khó khăn"])
    for row in rows:
        ws.append(row)
    return read_children_list(save(wb), "x.xlsx", as_of=as_of)


def only(reading: ChildrenListReading, field: str) -> FormProblem:
    [problem] = [p for p in reading.problems if p.field == field]
    return problem


def test_age_limits_of_the_law_on_children() -> None:
    reading = checked(
        [
            [1, "Nguyễn Văn An", "20/02/2007", "Nam", "d", None],  # sixteen today: no longer a child
            [2, "Lê Thị Bình", "21/02/2007", "Nữ", "d", None],  # sixteen tomorrow
            [3, "Hoàng Văn Cường", "01/03/2023", "Nam", "d", None],  # not born yet
            [4, "Ma Văn Đức", "29/02/2008", "Nam", "d", None],  # born on a leap day, sixteen on 29/02/2024
        ]
    )
    errors = {p.row: p for p in reading.errors}
    assert set(errors) == {2, 4}
    assert "16 tuổi" in errors[2].message_vi and errors[2].column == "C" and errors[2].field == "birth_date"
    assert "sau ngày hiện tại" in errors[4].message_vi
    assert checked([[1, "Ma Văn Đức", "29/02/2008", "Nam", "d", None]], dt.date(2024, 2, 29)).errors
    assert not checked([[1, "Ma Văn Đức", "29/02/2008", "Nam", "d", None]], dt.date(2024, 2, 28)).errors
    assert_private(reading)


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ([1, None, "20/02/2015", "Nam", "d", None], "name", "Thiếu họ và tên"),
        ([1, "Nguyễn Văn An", None, "Nam", "d", None], "birth_date", "Thiếu ngày sinh"),
        ([1, "Nguyễn Văn An", "02/20/2015", "Nam", "d", None], "birth_date", "tháng trước ngày"),
        ([1, "Nguyễn Văn An", "20/02/15", "Nam", "d", None], "birth_date", "4 chữ số"),
        ([1, "Nguyễn Văn An", 2015, "Nam", "d", None], "birth_date", "Chỉ có năm sinh"),
        ([1, "Nguyễn Văn An", "31/02/2015", "Nam", "d", None], "birth_date", "không có thật"),
        ([1, "Nguyễn Văn An", "Lê Thị Bình", "Nam", "d", None], "birth_date", "không đọc được"),
        ([1, "Nguyễn Văn An", "20/02/2015", "X", "d", None], "sex", "Nam hoặc Nữ"),
        ([1, "Nguyễn Văn An", "20/02/2015", "Nam", "f", None], "groups", "14 nhóm"),
        ([1, "Nguyễn Văn An", "20/02/2015", "Nam", "nhóm p", None], "groups", "14 nhóm"),
        ([1, "Nguyễn Văn An", "20/02/2015", "Nam", "Lê Thị Bình", None], "groups", "Không nhận ra nhóm"),
        ([1, "Nguyễn Văn An", "20/02/2015", "Nam", "d", "thỉnh thoảng"], "difficult", "Có hoặc Không"),
        ([1, "12345", "20/02/2015", "Nam", "d", None], "name", "chứa số"),
    ],
)
def test_row_checks(row: list[object], field: str, words: str) -> None:
    reading = checked([row])
    problem = only(reading, field)
    assert problem.severity == "error" and words in problem.message_vi
    assert problem.row == 2 and problem.sheet and problem.column
    assert_private(reading)


def test_blank_group_without_difficulty_is_a_warning_and_duplicates_are_flagged() -> None:
    reading = checked(
        [
            [1, "Nguyễn Văn An", "20/02/2015", "Nam", None, None],
            [2, "Lê Thị Bình", "20/02/2016", "Nữ", None, "Có"],
            [3, nfd("Lê Thị Bình"), "20/02/2016", "Nữ", "d", None],
        ]
    )
    assert reading.ok
    warnings = {(p.row, p.field) for p in reading.problems}
    assert warnings == {(2, "groups"), (4, "name")}
    assert "dòng 3" in only(reading, "name").message_vi
    assert_private(reading)


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("d", ("d",)),
        ("D", ("d",)),
        ("D)", ("d",)),
        ("nhóm d", ("d",)),
        ("Nhóm D", ("d",)),
        ("d) Khuyết tật", ("d",)),
        ("đ", ("đ",)),
        ("Đ) Nhiễm HIV/AIDS", ("đ",)),
        (nfd("đ) nhiễm HIV/AIDS"), ("đ",)),
        ("d, n", ("d", "n")),
        ("n; d", ("d", "n")),
        ("a) Mồ côi cả cha và mẹ", ("a",)),
        ("o) Di cư, lánh nạn, tị nạn chưa xác định được cha mẹ hoặc không có người chăm sóc", ("o",)),
        ("Khuyết tật", ("d",)),
        ("Nghiện ma tuý", ("g",)),
        ("", ()),
    ],
)
def test_group_letters(text: str, letters: tuple[str, ...]) -> None:
    assert parse_groups(text) == letters


def test_problems_never_quote_what_was_written() -> None:
    """Put names into every column; no message may repeat one."""
    name = "Triệu Thị Gấm"
    reading = checked([[name, name, name, name, name, name], [1, nfd(name), None, None, None, None]])
    assert reading.problems
    rendered = " ".join(str(p) for p in reading.problems)
    assert "Triệu" not in rendered and "Gấm" not in rendered and nfd("Gấm") not in rendered
    assert "Triệu" not in repr(reading.rows)


def test_file_without_the_list_header() -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["Báo cáo", "tháng 2"])
    reading = read_children_list(save(wb), "x.xlsx", as_of=AS_OF)
    assert not reading.rows and not reading.ok
    assert "dòng tiêu đề" in reading.errors[0].message_vi


def resave_with_libreoffice(data: bytes, filename: str, tmp_path: Path) -> bytes:
    """Open and save a file with LibreOffice, as a unit without Microsoft Office would."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("soffice (LibreOffice) is not on PATH")
    src = tmp_path / "in" / filename
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    profile = (tmp_path / "profile").as_uri()
    ext = filename.rsplit(".", 1)[-1]
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", ext,
         "--outdir", str(tmp_path / "out"), str(src)],
        check=True, timeout=180, capture_output=True,
    )  # fmt: skip
    return (tmp_path / "out" / filename).read_bytes()


def test_libreoffice_computes_formulas_on_resave(blank_list: bytes, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(blank_list))
    ws = wb["Danh sách"]
    ws["B7"], ws["C7"], ws["D7"], ws["H7"] = nfd("Nguyễn Văn An"), "20/02/2015", "Nam", "d"
    ws["B8"], ws["C8"], ws["D8"], ws["H8"] = '="Lê Thị "&"Bình"', "=DATE(2016,2,20)", "Nữ", "Nhóm D"
    resaved = resave_with_libreoffice(save(wb), "ds.xlsx", tmp_path)
    reading = read_children_list(resaved, "ds.xlsx", as_of=AS_OF)
    assert [(r.name, r.birth_date, r.groups) for r in reading.rows] == [
        ("Nguyễn Văn An", dt.date(2015, 2, 20), ("d",)),
        ("Lê Thị Bình", dt.date(2016, 2, 20), ("d",)),
    ]
    assert reading.ok
    assert read_identity(resaved, "ds.xlsx") == LIST_ID


def test_report_resaved_by_libreoffice(blank_report: bytes, report_req: Requirement, tmp_path: Path) -> None:
    filled = fill_report(blank_report, GOOD, {"ket_qua": ["Đã triển khai."], "kho_khan": ["Thiếu kinh phí."]})
    resaved = resave_with_libreoffice(filled, "bc.docx", tmp_path)
    reading = read_periodic_report(resaved, "bc.docx", report_req)
    assert reading.values["kinh_phi"] == 15_000_000 and reading.values["tong_so_tre_em"] == 1234
    assert reading.narrative["kho_khan"] == "Thiếu kinh phí."
    assert reading.ok
    assert read_identity(resaved, "bc.docx") == REPORT_ID


# --------------------------------------------------------------------------- hostile and broken files


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            z.writestr(name, body)
    return out.getvalue()


WORKBOOK = b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
ZEROS = b"\0" * 10_000_000
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda blank: b"PK\x03\x04 this is not really a zip", "bị hỏng"),
        (lambda blank: blank[: len(blank) // 2], "bị hỏng"),
        (lambda blank: b"", "bị hỏng"),
        (lambda blank: OLE2 + b"\0" * 1000 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 100, "mật khẩu"),
        (lambda blank: OLE2 + b"\0" * 2000, "định dạng cũ"),
        (
            lambda blank: zip_of({"xl/workbook.xml": WORKBOOK, "xl/worksheets/sheet1.xml": ZEROS}),
            "bất thường",
        ),
        (
            lambda blank: zip_of(
                {
                    "xl/workbook.xml": WORKBOOK,
                    **{f"xl/media/{i}.bin": bytes(range(256)) * 5000 for i in range(45)},
                }
            ),
            "bất thường",
        ),
        (lambda blank: zip_of({"hello.txt": b"hello"}), "không phải"),
        (
            lambda blank: zip_of(
                {"xl/workbook.xml": b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>' + WORKBOOK}
            ),
            "bất thường",
        ),
    ],
    ids=[
        "garbage",
        "truncated",
        "empty",
        "password",
        "legacy-xls",
        "zip-bomb",
        "too-big",
        "not-ooxml",
        "dtd",
    ],
)
def test_unreadable_files_are_refused_with_a_vietnamese_reason(
    blank_list: bytes, report_req: Requirement, make: Callable[[bytes], bytes], words: str
) -> None:
    data = make(blank_list)
    with pytest.raises(UnreadableForm) as info:
        read_children_list(data, "Danh sách.xlsx", as_of=AS_OF)
    assert words in info.value.message_vi
    assert "Danh sách.xlsx" in info.value.message_vi
    with pytest.raises(UnreadableForm):
        read_periodic_report(data, "Báo cáo.docx", report_req)


def test_a_report_sent_as_a_workbook_is_refused(blank_list: bytes, report_req: Requirement) -> None:
    with pytest.raises(UnreadableForm) as info:
        read_periodic_report(blank_list, "bc.xlsx", report_req)
    assert "Word" in info.value.message_vi


def test_broken_xml_inside_a_valid_zip(blank_list: bytes) -> None:
    data = zip_of({"xl/workbook.xml": b"<workbook", "[Content_Types].xml": b"<Types/>"})
    with pytest.raises(UnreadableForm):
        read_children_list(data, "x.xlsx", as_of=AS_OF)


# --------------------------------------------------------------------------- periodic report


def fill_report(blank: bytes, values: dict[str, str], narrative: dict[str, list[str]] | None = None) -> bytes:
    doc = docx.Document(io.BytesIO(blank))
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    for row in table.rows[1:]:
        code = row.cells[4].text
        if code in values:
            row.cells[3].text = values[code]
    placeholders = {p.text: p for p in doc.paragraphs if p.text.startswith("[")}
    starts = {"ket_qua": "[Nêu kết quả", "kho_khan": "[Nêu khó khăn", "de_xuat": "[Nêu đề xuất"}
    for key, lines in (narrative or {}).items():
        paragraph = next(p for text, p in placeholders.items() if text.startswith(starts[key]))
        paragraph.text = lines[0]
        for line in reversed(lines[1:]):
            new = paragraph._p.makeelement(qn("w:p"), {})
            paragraph._p.addnext(new)
            docx.text.paragraph.Paragraph(new, paragraph._parent).add_run(line)
    return save_doc(doc)


GOOD = {
    "tong_so_tre_em": "1.234",
    "tre_em_hcdb": "56",
    "tre_em_hcdb_duoc_tro_giup": "50",
    "tre_em_hckk": "1,234",
    "vu_xam_hai": "0",
    "tre_em_tai_nan": "7",
    "tre_em_duoi_nuoc": "2 trẻ",
    "buoi_tuyen_truyen": " 12 ",
    "kinh_phi": "15.000.000 đồng",
}


def test_reads_a_filled_report(blank_report: bytes, report_req: Requirement) -> None:
    data = fill_report(
        blank_report,
        GOOD,
        {
            "ket_qua": ["1. Đã tổ chức 12 buổi tuyên truyền.", "2. Rà soát 56 trẻ em có hoàn cảnh đặc biệt."],
            "de_xuat": ["Đề nghị huyện hỗ trợ kinh phí mua áo phao."],
        },
    )
    reading = read_periodic_report(data, "bc.docx", report_req)
    assert reading.values == {
        "tong_so_tre_em": 1234,
        "tre_em_hcdb": 56,
        "tre_em_hcdb_duoc_tro_giup": 50,
        "tre_em_hckk": 1234,
        "vu_xam_hai": 0,
        "tre_em_tai_nan": 7,
        "tre_em_duoi_nuoc": 2,
        "buoi_tuyen_truyen": 12,
        "kinh_phi": 15_000_000,
    }
    assert reading.narrative["ket_qua"] == (
        "1. Đã tổ chức 12 buổi tuyên truyền.\n2. Rà soát 56 trẻ em có hoàn cảnh đặc biệt."
    )
    assert reading.narrative["de_xuat"] == "Đề nghị huyện hỗ trợ kinh phí mua áo phao."
    assert reading.narrative["kho_khan"] == ""
    assert reading.ok
    [left_over] = reading.problems
    assert left_over.field == "kho_khan" and left_over.severity == "warning"


def test_report_value_problems(blank_report: bytes, report_req: Requirement) -> None:
    bad = {
        **GOOD,
        "tre_em_hckk": "",
        "vu_xam_hai": "-1",
        "tre_em_tai_nan": "khoảng 7",
        "buoi_tuyen_truyen": "1,5",
    }
    reading = read_periodic_report(fill_report(blank_report, bad), "bc.docx", report_req)
    errors = {p.field: p for p in reading.errors}
    assert set(errors) == {"tre_em_hckk", "vu_xam_hai", "tre_em_tai_nan", "buoi_tuyen_truyen"}
    assert "bắt buộc" in errors["tre_em_hckk"].message_vi and errors["tre_em_hckk"].row == 5
    assert "âm" in errors["vu_xam_hai"].message_vi
    assert "số nguyên" in errors["buoi_tuyen_truyen"].message_vi
    assert reading.values["tre_em_hckk"] is None and reading.values["tong_so_tre_em"] == 1234
    ket_qua = [p for p in reading.problems if p.field == "ket_qua"]
    assert ket_qua and ket_qua[0].severity == "warning"  # section I still holds the guidance text


def test_rules_produce_errors_with_their_message(blank_report: bytes, report_req: Requirement) -> None:
    bad = {**GOOD, "tre_em_hcdb_duoc_tro_giup": "60", "tre_em_duoi_nuoc": "9", "tong_so_tre_em": "1.234"}
    reading = read_periodic_report(fill_report(blank_report, bad), "bc.docx", report_req)
    messages = [p.message_vi for p in reading.errors]
    assert len(messages) == 2
    first_rule = report_req.rules[0].message
    assert first_rule == "Số trẻ em có HCĐB được trợ giúp không thể lớn hơn số trẻ em có HCĐB"
    assert any(m.startswith(first_rule) for m in messages)
    assert any("đuối nước là một phần" in m and "9" in m and "7" in m for m in messages)
    rule_rows = sorted(p.row for p in reading.errors)
    assert rule_rows == [4, 8]


def test_report_reads_by_label_without_the_code_column(blank_report: bytes, report_req: Requirement) -> None:
    doc = docx.Document(io.BytesIO(fill_report(blank_report, GOOD)))
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    for row in table.rows:
        row._tr.remove(row._tr.tc_lst[-1])
    grid = table._tbl.tblGrid
    grid.remove(grid.gridCol_lst[-1])
    # A unit also re-typed a label without diacritics' capitals and dropped a row.
    table.rows[1].cells[1].text = "TỔNG SỐ TRẺ EM TRÊN ĐỊA BÀN"
    table._tbl.remove(table.rows[-1]._tr)
    reading = read_periodic_report(save_doc(doc), "bc.docx", report_req)
    assert reading.values["tong_so_tre_em"] == 1234 and reading.values["tre_em_duoi_nuoc"] == 2
    assert reading.values["kinh_phi"] is None
    [missing] = reading.errors
    assert missing.field == "kinh_phi" and "Thiếu dòng chỉ tiêu" in missing.message_vi


def test_report_without_a_table(report_req: Requirement) -> None:
    doc = docx.Document()
    doc.add_paragraph("I. KẾT QUẢ THỰC HIỆN")
    doc.add_paragraph("Đã triển khai.")
    reading = read_periodic_report(save_doc(doc), "bc.docx", report_req)
    assert reading.narrative["ket_qua"] == "Đã triển khai."
    assert all(v is None for v in reading.values.values())
    assert "bảng số liệu" in reading.errors[0].message_vi


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("12", 12),
        ("1.234.567", 1234567),
        ("1,234", 1234),
        ("1 234", 1234),
        ("", None),
        (None, None),
        (7, 7),
        (7.0, 7),
    ],
)
def test_parse_count(text: object, value: int | None) -> None:
    assert parse_count(text) == value
