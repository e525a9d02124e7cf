"""Zip and XML plumbing shared by the children list (.xlsx) and the periodic report (.docx) simulators.

Filling edits the XML parts of the received .xlsx/.docx directly and copies every other part unchanged: the
form identity (custom and core properties, visible line), styles, drop-downs and hidden sheets stay as they
were, and a reply costs a few milliseconds instead of an openpyxl/python-docx round trip. Both formats need the
same safe parser, the same re-zipping that keeps unchanged parts compressed, and the same text normalisation
to match titles and placeholders, so those live here once.
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from lxml import etree

__all__ = ["XML_SPACE", "norm", "parse_xml", "rezip", "serialise"]

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def parse_xml(data: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def serialise(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


def rezip(data: bytes, replaced: Mapping[str, bytes]) -> bytes:
    """The same package, entry order and names, with some parts replaced.

    Unchanged entries are copied still compressed (zipfile would inflate and deflate every part: the 800 kB
    of styles in a python-docx file cost more than everything else in a reply).
    """
    out = bytearray()
    central = bytearray()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = src.infolist()
        for info in infos:
            name = info.filename.encode("utf-8")
            flags = 0x800 if not info.filename.isascii() else 0
            body = replaced.get(info.filename)
            if body is None and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                start = info.header_offset
                name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
                begin = start + 30 + name_len + extra_len
                packed, method, crc, size = (
                    data[begin : begin + info.compress_size],
                    info.compress_type,
                    info.CRC,
                    info.file_size,
                )
            else:
                raw = src.read(info) if body is None else body
                compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
                packed = compressor.compress(raw) + compressor.flush()
                method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(raw), len(raw)
            year, month, day, hour, minute, second = info.date_time
            dos_date = max(year - 1980, 0) << 9 | month << 5 | day
            dos_time = hour << 11 | minute << 5 | second // 2
            offset = len(out)
            out += _LOCAL.pack(0x04034B50, 20, flags, method, dos_time, dos_date, crc, len(packed), size, len(name), 0)
            out += name
            out += packed
            central += _CENTRAL.pack(
                0x02014B50, 20, 20, flags, method, dos_time, dos_date, crc, len(packed), size, len(name), 0, 0, 0, 0,
                info.external_attr, offset,
            )  # fmt: skip
            central += name
    cd_offset = len(out)
    out += central
    out += _END.pack(0x06054B50, 0, 0, len(infos), len(infos), len(central), cd_offset, 0)
    return bytes(out)


def norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split()).lower()


def strip_identity(data: bytes) -> bytes:
    """The same form with every trace of its identity (properties, visible line) erased, as a unit's own copy
    of an old form would be."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith((".xml", ".rels")):
                body = body.replace(b"followup:v1;", b"")  # the token no longer parses
            dst.writestr(info, body)
    return out.getvalue()
