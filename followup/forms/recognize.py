"""Knowing a returned file by what it is, not by its name, its label or the way the mail client attached it.

A commune sends its list renamed, without an extension, as an unnamed part of the message, in the old format
under a new name, or packed in a .zip (a folder zipped on Windows or a Mac, with the system's own files in it).
The bytes say what it is: a zip holding an Office Open XML package is a form, an OLE2 file with a Word or
Excel stream an old-format document, a zip opening with an OpenDocument ``mimetype`` a LibreOffice document,
any other zip an archive whose files are looked at one by one. Archives are opened within the limits that
guard the forms themselves (size, entries, ratio), counted over archives packed inside archives, so a zip bomb
comes back closed with the reason instead of being inflated.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from followup.domain.form_kinds import OLE2_MAGIC, ZIP_MAGIC
from followup.forms.identity import (
    MAX_ENTRIES,
    MAX_INPUT_BYTES,
    MAX_RATIO,
    MAX_UNCOMPRESSED,
    over_ratio,
    package_type,
)
from followup.i18n import _

MAX_DEPTH = 3  # an archive in an archive in an archive; nobody's folder goes deeper
_MB = 1024 * 1024
#: What Windows, macOS and Office leave in a zipped folder: never something a unit meant to send.
_SYSTEM_FILE = re.compile(r"(^|/)(__MACOSX/|\._[^/]*$|~\$[^/]*$|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.I)
#: The stream that makes an OLE2 file a Word or an Excel document.
_OLE_STREAMS = (("doc", "WordDocument"), ("xls", "Workbook"), ("xls", "Book"))
#: The OpenDocument files a form comes back as from a unit that uses LibreOffice, by the ``mimetype`` entry
#: that opens their zip.
OPENDOCUMENT = {
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.text": "odt",
}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, ValueError, EOFError)


def file_type(data: bytes) -> str | None:
    """What the bytes are: "xlsx", "docx", "xls", "doc", "ods", "odt" or "zip"; None for anything else (a scan,
    a photo, a damaged file, another OpenDocument file), which is then known by its name only."""
    if data.startswith(OLE2_MAGIC):
        found = {ext for ext, stream in _OLE_STREAMS if _has_stream(data, stream)}
        return found.pop() if len(found) == 1 else None  # both: a document embedding the other kind
    if not data.startswith((ZIP_MAGIC, b"PK\x05\x06")):  # a zip, or an empty one
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            first = infos[0] if infos else None
            mimetype = b""
            if first and first.filename == "mimetype" and first.file_size < 100:  # one short line, never a bomb
                mimetype = zf.read(first)
            names = {i.filename for i in infos}
    except _ZIP_ERRORS:
        return None
    if mimetype:
        return OPENDOCUMENT.get(mimetype.strip())
    if "mimetype" in names:  # a drawing, an EPUB: a document of its own, not a folder of files
        return None
    return package_type(names) or "zip"


def _has_stream(data: bytes, name: str) -> bool:
    """Whether the OLE2 directory lists ``name``: a 128-byte entry, on a 128-byte boundary, that starts with the
    name in UTF-16 and gives its length at byte 64."""
    entry = name.encode("utf-16-le") + b"\0\0"
    length = len(entry).to_bytes(2, "little")
    at = data.find(entry, 512)
    while at >= 0:
        if at % 128 == 0 and data[at + 64 : at + 66] == length:
            return True
        at = data.find(entry, at + 1)
    return False


@dataclass(frozen=True)
class Unpacked:
    """A file found in what a unit sent: the sent file itself, or one inside an archive (``path``: its names in
    the archives, outermost first); ``type``: what its bytes are (``file_type``). With a ``problem`` (for the
    clerk), an archive left closed."""

    data: bytes
    type: str | None
    path: tuple[str, ...] = ()
    problem: str | None = None


@dataclass
class _Budget:
    """What opening the archives of one sent file may still cost, over all their nesting."""

    entries: int = MAX_ENTRIES
    size: int = MAX_UNCOMPRESSED


class _Closed(Exception):
    """An archive that is not opened; the message says why, for the clerk."""


def unpack(data: bytes) -> list[Unpacked]:
    """The files ``data`` stands for: itself, or the files of a .zip archive, archives inside it opened too.

    The system's own files (__MACOSX, .DS_Store, Thumbs.db, Office lock files) are left out. An archive that
    cannot be opened within the limits, or holds nothing, comes back closed with the problem."""
    return list(_unpack(data, (), _Budget()))


def _unpack(data: bytes, path: tuple[str, ...], budget: _Budget) -> Iterator[Unpacked]:
    kind = file_type(data)
    if kind != "zip":
        yield Unpacked(data, kind, path)
        return
    try:
        members = _members(data, len(path), budget)
    except _Closed as closed:
        problem = _(
            "archive not opened: {why}. Unpack it by hand and record its forms with `followup record`, or set it aside"
        ).format(why=closed)
        yield Unpacked(data, kind, path, problem)
        return
    if not members:
        yield Unpacked(data, kind, path, _("archive without any file (only folders or system files); set it aside"))
        return
    for name, inner in members:
        yield from _unpack(inner, (*path, name), budget)


def _members(data: bytes, depth: int, budget: _Budget) -> list[tuple[str, bytes]]:
    """(name, bytes) of an archive's files, once the whole archive is known to fit the limits."""
    if depth >= MAX_DEPTH:
        raise _Closed(_("archives packed more than {n} deep").format(n=MAX_DEPTH))
    if len(data) > MAX_INPUT_BYTES:
        raise _Closed(_("larger than {mb} MB").format(mb=MAX_INPUT_BYTES // _MB))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            budget.entries -= len(infos)
            if budget.entries < 0:
                raise _Closed(_("more than {n} files").format(n=MAX_ENTRIES))
            files = [i for i in infos if not i.is_dir() and not _SYSTEM_FILE.search(i.filename)]
            if any(over_ratio(i) for i in files):
                raise _Closed(
                    _("a file in it inflates more than {n} times, the mark of a zip bomb").format(n=MAX_RATIO)
                )
            size = sum(i.file_size for i in files)
            if size > budget.size:
                raise _Closed(_("its files would take more than {mb} MB").format(mb=MAX_UNCOMPRESSED // _MB))
            if any(i.flag_bits & 0x1 for i in files):
                raise _Closed(_("locked with a password"))
            budget.size -= size
            return [(_name(i), zf.read(i)) for i in files]  # each read stops at the size checked above
    except _ZIP_ERRORS as exc:
        raise _Closed(_("damaged, or packed with a method that cannot be read")) from exc


def _name(info: zipfile.ZipInfo) -> str:
    """The name its archiver wrote: flagged UTF-8; UTF-8 without the flag, as macOS writes it; else as read."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeError):
            name = name.encode("cp437").decode("utf-8")
    return name
