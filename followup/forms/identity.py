"""Writing the form identity into a file and finding it again, and opening a returned file safely.

A commune fills the form in Excel, LibreOffice or Word, re-saves it, forwards it from another mailbox or
renames it. So the identity (directive, requirement, period, unit) is written in three places: a custom
document property, the core ``identifier``/``keywords`` properties, and a small visible line. Any one of them
is enough.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Collection, Iterator
from typing import IO

from lxml import etree

from followup.domain.form_kinds import OLE2_MAGIC
from followup.domain.identity import FormIdentity

# --------------------------------------------------------------------------- identity

CUSTOM_PROPERTY = "followup_form"
VISIBLE_LABEL = "Mã biểu mẫu"


#: Every form prints in the typeface of Decree 30/2020.
FONT = "Times New Roman"


# --------------------------------------------------------------------------- custom document properties

_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def custom_properties_xml(values: dict[str, str]) -> bytes:
    """docProps/custom.xml as Office writes it (python-docx has no API for custom properties)."""
    root = etree.Element(f"{{{_CUSTOM_NS}}}Properties", nsmap={None: _CUSTOM_NS, "vt": _VT_NS})
    for pid, (name, value) in enumerate(values.items(), start=2):
        prop = etree.SubElement(root, f"{{{_CUSTOM_NS}}}property", fmtid=_FMTID, pid=str(pid), name=name)
        etree.SubElement(prop, f"{{{_VT_NS}}}lpwstr").text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --------------------------------------------------------------------------- opening returned files safely

MAX_INPUT_BYTES = 30 * 1024 * 1024
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_RATIO = 200  # deflated XML rarely beats 100:1; zip bombs reach 1000:1
_ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")


class UnreadableForm(Exception):
    """A returned file that cannot be read; ``message_vi`` tells the unit what to send instead."""

    def __init__(self, message_vi: str):
        self.message_vi = message_vi
        super().__init__(message_vi)


def over_ratio(info: zipfile.ZipInfo) -> bool:
    """A part past 1 MB that inflates more than MAX_RATIO times: the mark of a zip bomb."""
    return info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1)


def package_type(names: Collection[str]) -> str | None:
    """The type ("xlsx" or "docx") of an Office Open XML package by its parts; None for any other zip."""
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    return None


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
        if over_ratio(info):
            raise bomb
        if info.flag_bits & 0x1:
            raise UnreadableForm(f'Tệp "{filename}" đã được mã hóa. Vui lòng gửi lại tệp không đặt mật khẩu.')
    kind = package_type(set(zf.namelist()))
    if kind is None:
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
