"""Knowing a returned file by its bytes, and opening .zip archives within the forms' limits (no I/O)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from followup.domain.config import Directive, Requirement
from followup.domain.form_kinds import OLE2_MAGIC, looks_like_document
from followup.domain.identity import FormIdentity
from followup.forms.children_list import children_list_xlsx
from followup.forms.identity import MAX_ENTRIES, MAX_RATIO, read_identity
from followup.forms.periodic_report import periodic_report_docx
from followup.forms.recognize import MAX_DEPTH, file_type, unpack
from followup.mail.parse import parse_message
from followup.simulation import archive
from followup.simulation.mail import Attached, reply_email

MiB = 1024 * 1024
LIST_ID = FormIdentity("2023-child-protection", "danh-sach-tre-em", "2023", "XA-CAOSON")
REPORT_ID = FormIdentity("2023-child-protection", "bao-cao-6-thang", "2023-H1", "XA-CAOSON")
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def blank_list(directive: Directive) -> bytes:
    return children_list_xlsx(LIST_ID, "Ủy ban nhân dân xã Cao Sơn", directive.requirement(LIST_ID.requirement), "")


@pytest.fixture(scope="module")
def blank_report(report_req: Requirement) -> bytes:
    return periodic_report_docx(REPORT_ID, "Ủy ban nhân dân xã Cao Sơn", report_req, "6 tháng đầu năm 2023", "")


def ole2(*streams: str) -> bytes:
    """An OLE2 compound file reduced to what tells its kind: the header, then a directory sector listing
    ``streams`` (128-byte entries: UTF-16 name, its length in bytes at 64, type 2 = stream)."""
    entries = b""
    for name in ("Root Entry", *streams):
        encoded = name.encode("utf-16-le") + b"\0\0"
        entry = (
            encoded.ljust(64, b"\0") + len(encoded).to_bytes(2, "little") + (b"\5" if name == "Root Entry" else b"\2")
        )
        entries += entry.ljust(128, b"\0")
    return OLE2_MAGIC.ljust(512, b"\0") + entries.ljust(512, b"\0") + bytes(1024)


def locked(data: bytes) -> bytes:
    """``data`` (a zip) with every member marked encrypted, as ``zip -e`` marks them."""
    out = bytearray(data)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            out[at + flags_at] |= 1
            at = out.find(signature, at + 4)
    return bytes(out)


def damaged(data: bytes) -> bytes:
    """``data`` (a zip) with bytes of its first member's packed data changed, as a broken transfer leaves it."""
    name_len, extra_len = int.from_bytes(data[26:28], "little"), int.from_bytes(data[28:30], "little")
    start = 30 + name_len + extra_len + 20
    return data[:start] + bytes(b ^ 0x5A for b in data[start : start + 16]) + data[start + 16 :]


# --------------------------------------------------------------------------- what a file is


def test_a_file_is_known_by_its_bytes(blank_list: bytes, blank_report: bytes) -> None:
    assert file_type(blank_list) == "xlsx" and file_type(blank_report) == "docx"
    assert file_type(archive([("Danh sách.xlsx", blank_list)])) == "zip"
    assert file_type(ole2("Workbook")) == "xls" and file_type(ole2("Book")) == "xls"  # Excel 97 / Excel 5
    assert file_type(ole2("WordDocument", "1Table")) == "doc"
    for other in (PDF, PNG, b"", blank_list[: len(blank_list) // 2]):  # a scan, a photo, nothing, a broken file
        assert file_type(other) is None
    # a locked workbook (an OLE2 box around the encrypted package) and a Word file embedding an Excel sheet
    assert file_type(ole2("EncryptionInfo", "EncryptedPackage")) is None
    assert file_type(ole2("WordDocument", "Workbook")) is None
    assert looks_like_document(blank_list) and looks_like_document(ole2("Workbook")) and not looks_like_document(PDF)


def opendocument(mimetype: bytes) -> bytes:
    """An OpenDocument file reduced to what tells its kind: a zip whose first entry, ``mimetype``, names it."""
    return archive([("mimetype", mimetype), ("META-INF/manifest.xml", b"<manifest/>"), ("content.xml", b"<x/>")])


def test_an_opendocument_file_is_known_by_its_mimetype_entry(blank_list: bytes) -> None:
    ods = opendocument(b"application/vnd.oasis.opendocument.spreadsheet")
    odt = opendocument(b"application/vnd.oasis.opendocument.text")
    assert file_type(ods) == "ods" and file_type(odt) == "odt"
    assert looks_like_document(ods)  # read whatever the message part carrying it claims to be
    # a document of its own, not a folder to open: a drawing or an e-book is no form, and stays closed
    for other in (b"application/vnd.oasis.opendocument.graphics", b"application/epub+zip"):
        assert file_type(opendocument(other)) is None
    # the mimetype tells only when it opens the zip, as OpenDocument requires
    assert (
        file_type(archive([("content.xml", b"<x/>"), ("mimetype", b"application/vnd.oasis.opendocument.text")])) is None
    )
    found = unpack(archive([("Ho so/Danh sach.ods", ods), ("Ho so/Bao cao.odt", odt), ("Ho so/ds.xlsx", blank_list)]))
    assert [(f.path, f.type, f.problem) for f in found] == [
        (("Ho so/Danh sach.ods",), "ods", None),
        (("Ho so/Bao cao.odt",), "odt", None),
        (("Ho so/ds.xlsx",), "xlsx", None),
    ]
    assert [f.data for f in found] == [ods, odt, blank_list]


def test_a_stream_name_in_the_contents_is_not_a_directory_entry() -> None:
    text = "WordDocument".encode("utf-16-le") + b"\0\0"
    assert file_type(ole2("Workbook")[:1536] + b"x" + text + bytes(200)) == "xls"


# --------------------------------------------------------------------------- archives


def test_a_zipped_folder_gives_its_files_without_the_systems_own(blank_list: bytes, blank_report: bytes) -> None:
    packed = archive(
        [
            ("Báo cáo xã Cao Sơn/", b""),
            ("Báo cáo xã Cao Sơn/Danh sách trẻ em.xlsx", blank_list),
            ("Báo cáo xã Cao Sơn/Báo cáo 6 tháng.docx", blank_report),
            ("Báo cáo xã Cao Sơn/~$Danh sách trẻ em.xlsx", b"\x0bclerk" + bytes(150)),  # Excel's lock file
            ("Báo cáo xã Cao Sơn/Thumbs.db", OLE2_MAGIC + bytes(600)),
            ("Báo cáo xã Cao Sơn/.DS_Store", b"\0\0\0\1Bud1" + bytes(100)),
            ("__MACOSX/Báo cáo xã Cao Sơn/._Danh sách trẻ em.xlsx", b"\0\5\26\7" + bytes(80)),
            ("Báo cáo xã Cao Sơn/ảnh.png", PNG),
        ],
        utf8_flag=False,  # macOS: UTF-8 names, unflagged
    )
    found = unpack(packed)
    assert [(f.path, f.type, f.problem) for f in found] == [
        (("Báo cáo xã Cao Sơn/Danh sách trẻ em.xlsx",), "xlsx", None),
        (("Báo cáo xã Cao Sơn/Báo cáo 6 tháng.docx",), "docx", None),
        (("Báo cáo xã Cao Sơn/ảnh.png",), None, None),
    ]
    assert [f.data for f in found] == [blank_list, blank_report, PNG]  # byte for byte what was packed
    assert read_identity(found[0].data, "x") == LIST_ID


def test_a_file_that_is_no_archive_stands_for_itself(blank_list: bytes) -> None:
    for data in (blank_list, PDF, b""):
        [found] = unpack(data)
        assert (found.data, found.type, found.path, found.problem) == (data, file_type(data), (), None)


def test_archives_inside_archives_are_opened_to_a_depth(blank_list: bytes) -> None:
    innermost = archive([("Danh sách.xlsx", blank_list)])
    packed, path = innermost, ["Danh sách.xlsx"]
    for level in range(2, MAX_DEPTH + 1):
        packed, path = archive([(f"lop-{level}.zip", packed)]), [f"lop-{level}.zip", *path]
    [found] = unpack(packed)
    assert (found.path, found.problem, found.data) == (tuple(path), None, blank_list)

    [closed] = unpack(archive([("lop-ngoai.zip", packed)]))  # one more: the innermost archive stays closed
    assert closed.path == ("lop-ngoai.zip", *path[:-1]) and closed.data == innermost
    assert closed.problem and f"more than {MAX_DEPTH} deep" in closed.problem


@pytest.mark.parametrize(
    ("packed", "why"),
    [
        (archive([("Danh sách.xlsx", bytes(20 * MiB))]), f"inflates more than {MAX_RATIO} times"),
        (archive([(f"phan-{i}.xlsx", bytes(MiB - 1)) for i in range(60)]), "would take more than 50 MB"),
        (archive([(f"{i}.txt", b"") for i in range(MAX_ENTRIES + 1)]), f"more than {MAX_ENTRIES} files"),
        (locked(archive([("Danh sách.xlsx", b"PK\x03\x04" + bytes(300))])), "locked with a password"),
        (damaged(archive([("Danh sách.xlsx", bytes(range(256)) * 64)])), "damaged"),
    ],
    ids=["zip-bomb", "over-size", "too-many-files", "password", "damaged"],
)
def test_an_archive_past_the_limits_stays_closed_with_what_the_clerk_can_do(packed: bytes, why: str) -> None:
    [closed] = unpack(packed)
    assert closed.data == packed and closed.path == ()
    assert closed.problem and why in closed.problem
    assert "followup record" in closed.problem and "set it aside" in closed.problem


def test_the_limits_count_over_archives_inside_archives() -> None:
    """Nine archives of 6 MB each are fine alone; together they pass the 50 MB a sent file may unpack to."""
    part = archive([(f"{i}.bin", bytes(MiB - 1)) for i in range(6)])
    found = unpack(archive([(f"{n}.zip", part) for n in range(9)]))
    opened = [f for f in found if f.problem is None]
    closed = [f for f in found if f.problem]
    assert len(opened) == 6 * 8 and len(closed) == 1 and "50 MB" in (closed[0].problem or "")


def test_an_archive_with_nothing_in_it_is_left_for_the_clerk() -> None:
    for packed in (archive([]), archive([("__MACOSX/._a.xlsx", b"x"), ("thu-muc/", b"")])):
        [closed] = unpack(packed)
        assert closed.problem and "without any file" in closed.problem


# --------------------------------------------------------------------------- which parts of a message are files

ORIGINAL = (
    b"From: =?utf-8?q?V=C4=83n_th=C6=B0?= <vanthu@bachthong.example>\r\nTo: ubnd@caoson.bachthong.example\r\n"
    b"Subject: [FU:2023-child-protection:XA-CAOSON] Danh sach\r\nMessage-ID: <dispatch.1@bachthong.example>\r\n\r\n."
)
AT = dt.datetime(2023, 2, 10, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def test_a_form_sent_unnamed_or_mislabelled_is_a_file_and_a_logo_a_body_a_signature_are_not(
    blank_list: bytes,
) -> None:
    raw = reply_email(
        ORIGINAL,
        [
            Attached(blank_list, None, "inline", XLSX_TYPE),  # Apple Mail: inline, no name
            Attached(blank_list, None, ""),  # no name, no Content-Disposition, octet-stream
            Attached(blank_list, None, "", "text/plain"),  # labelled as text
            Attached(blank_list, None, "inline", "image/png"),  # labelled as a picture
            Attached(PDF, "Danh sách (bản chụp).pdf", "inline"),  # a named inline file stays a file
        ],
        date=AT,
        logo=PNG,
        signed=True,
    )
    files = parse_message(raw).files
    assert [(f.name, f.data) for f in files] == [("tep-dinh-kem", blank_list)] * 4 + [("Danh sách (bản chụp).pdf", PDF)]


def test_a_plain_reply_with_a_logo_and_a_signature_carries_only_its_form(blank_list: bytes) -> None:
    raw = reply_email(ORIGINAL, [("Danh sách trẻ em.xlsx", blank_list)], date=AT, logo=PNG, signed=True)
    assert [(f.name, f.data) for f in parse_message(raw).files] == [("Danh sách trẻ em.xlsx", blank_list)]
    assert b"smime.p7s" in raw and b"Content-ID: <image001.png" in raw  # the parts are there, and left out
