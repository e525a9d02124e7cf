"""The e-mails units send back: replies and forwards composed the way real mail clients write them, and the
files a message carries.

It exists because the collector has to cope with what mail clients really send (encoded Vietnamese subjects
and names, RFC 2231 file names, threading headers kept or dropped, a clerk forwarding a unit's reply as an
attachment), so the simulated replies must look like that, byte for byte the same on a replay.

Some clients attach a file with no name, inline, or under a content type that says nothing; units zip their
folder, on Windows or a Mac; signed messages and HTML bodies with a logo carry parts that are not files.
``Attached`` and ``archive`` write those shapes.

Messages are EmailMessage objects (policy SMTP: CRLF) whose headers are set already encoded and folded, as
a mail client writes them: RFC 2047 words for Vietnamese subjects and names, RFC 2231 for file names. Letting
the policy fold them costs milliseconds per header and, on Python 3.11, drops the space between two encoded
words of a long subject ("công tác" -> "côngtác").
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import html
import io
import mailbox
import mimetypes
import quopri
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any

__all__ = [
    "TAG",
    "Attached",
    "Original",
    "archive",
    "attachments_of",
    "aware",
    "date_of",
    "delivered",
    "decoded_name",
    "forward_email",
    "headers_of",
    "nfc",
    "reply",
    "reply_email",
]

TAG = re.compile(r"\s*\[FU:([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z0-9][A-Za-z0-9_-]*)\]\s*")
_RE = re.compile(r"^\s*(re|tl|trả lời|aw|sv)\s*:", re.IGNORECASE)
_SMTP = policy.SMTP
_MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xls": "application/vnd.ms-excel",
    "doc": "application/msword",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "eml": "message/rfc822",
}
_ATTR_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")


def _mime_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _MIME.get(ext) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _one_line(value: object) -> str:
    return " ".join(nfc(str(value or "")).split())


def aware(date: dt.datetime) -> dt.datetime:
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware (e.g. tzinfo=ZoneInfo('Asia/Ho_Chi_Minh'))")
    return date


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def _message_id(domain: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def _encoded(name: str, value: str) -> str:
    """A header value as a mail client writes it: plain ASCII, or RFC 2047 words folded under 78 columns."""
    value = _one_line(value)
    if value.isascii() and len(name) + len(value) < 76:
        return value
    return Header(value, "us-ascii" if value.isascii() else "utf-8", maxlinelen=76, header_name=name).encode("\n")


def _address(name: str | None, addr: str) -> str:
    if not name:
        return addr
    shown = _encoded("From", name) if not name.isascii() else formataddr((name, addr)).rsplit(" <", 1)[0]
    last = shown.rsplit("\n", 1)[-1]
    return f"{shown}\n <{addr}>" if len(last) + len(addr) > 66 else f"{shown} <{addr}>"


def _param(name: str, value: str) -> str:
    """``; name="value"``, or RFC 2231 ``name*=utf-8''...`` split into continuations of short lines."""
    if value.isascii() and len(value) < 60 and not set(value) & set('"\\\r\n'):
        return f';\n {name}="{value}"'
    encoded = "".join(chr(b) if b in _ATTR_CHARS else f"%{b:02X}" for b in value.encode("utf-8"))
    if len(encoded) + len(name) < 64:
        return f";\n {name}*=utf-8''{encoded}"
    chunks = []
    while encoded:
        cut = 54
        if len(encoded) > cut and "%" in encoded[cut - 2 : cut]:
            cut = encoded.rindex("%", 0, cut)  # never split a %XX triplet
        chunks.append(encoded[:cut])
        encoded = encoded[cut:]
    charset = "utf-8''"
    return "".join(f";\n {name}*{i}*={charset if i == 0 else ''}{chunk}" for i, chunk in enumerate(chunks))


def _part(
    content_type: str,
    payload: Any,
    *,
    encoding: str | None = None,
    filename: str | None = None,
    disposition: str | None = None,
) -> Any:
    """One MIME part; ``disposition`` defaults to "attachment" for a named file, none otherwise ("" for none)."""
    part = EmailMessage(policy=_SMTP)
    lead = "\n " if len(content_type) > 60 else ""
    if filename is not None and not content_type.startswith("message/"):
        part.set_raw("Content-Type", lead + content_type + _param("name", filename))
    else:
        part.set_raw("Content-Type", lead + content_type)
    if encoding:
        part.set_raw("Content-Transfer-Encoding", encoding)
    disposition = ("attachment" if filename is not None else "") if disposition is None else disposition
    if disposition:
        named = _param("filename", filename) if filename is not None else ""
        part.set_raw("Content-Disposition", disposition + named)
    part.set_payload(payload)
    return part


def _text_part(text: str) -> Any:
    body = quopri.encodestring(nfc(text).replace("\r\n", "\n").encode("utf-8")).decode("ascii")
    return _part('text/plain; charset="utf-8"', body, encoding="quoted-printable")


@dataclass(frozen=True)
class Attached:
    """A file as some mail clients attach it: without a name, ``disposition`` "inline" or "" (no header at
    all), or under a ``content_type`` that says nothing of it (default: from the name, else octet-stream)."""

    data: bytes
    name: str | None = None
    disposition: str = "attachment"
    content_type: str | None = None


def _attached(file: tuple[str, bytes] | Attached) -> Attached:
    return file if isinstance(file, Attached) else Attached(file[1], nfc(file[0]))


def _file_part(file: Attached) -> Any:
    content_type = file.content_type or (_mime_type(file.name) if file.name else "application/octet-stream")
    payload = base64.encodebytes(file.data).decode("ascii")
    return _part(content_type, payload, encoding="base64", filename=file.name, disposition=file.disposition)


def _multipart_type(subtype: str, seed: str, params: str = "") -> str:
    """The Content-Type of a multipart entity; ``params`` go before the boundary (a signature's protocol)."""
    boundary = "----=_Part_" + hashlib.sha256(seed.encode()).hexdigest()[:28]
    return f'multipart/{subtype};{params}\n boundary="{boundary}"'


def _multipart(subtype: str, parts: Sequence[Any], seed: str, params: str = "") -> Any:
    entity = EmailMessage(policy=_SMTP)
    entity.set_raw("Content-Type", _multipart_type(subtype, seed, params))
    entity.set_payload(list(parts))
    return entity


def _mixed(headers: Sequence[tuple[str, str]], parts: Sequence[Any], seed: str, signed: bool = False) -> bytes:
    """The message; ``signed`` wraps it in S/MIME multipart/signed as Outlook and Apple Mail send it (the
    signature is not a real one: nothing here checks it)."""
    content_type, payload = _multipart_type("mixed", seed), list(parts)
    if signed:
        fake = base64.encodebytes(b"0\x82" + hashlib.sha512(seed.encode()).digest()).decode("ascii")
        signature = _part("application/pkcs7-signature", fake, encoding="base64", filename="smime.p7s")
        params = ' protocol="application/pkcs7-signature";\n micalg=sha-256;'
        content_type = _multipart_type("signed", f"signed:{seed}", params)
        payload = [_multipart("mixed", parts, seed), signature]
    msg = EmailMessage(policy=_SMTP)
    for name, value in headers:
        msg.set_raw(name, value)
    msg.set_raw("MIME-Version", "1.0")
    msg.set_raw("Content-Type", content_type)
    msg.set_payload(payload)
    return msg.as_bytes()


LOGO_CID = "image001.png@01D93F2A.5C1B7E40"


def _body(text: str, logo: bytes | None, seed: str) -> Any:
    """The text of a message; with a ``logo``, also as HTML showing it, the way Outlook sends a signature
    picture: multipart/related (alternative text/HTML, then the picture, inline, with a Content-ID)."""
    if logo is None:
        return _text_part(text)
    shown = "<br>\n".join(html.escape(line) for line in nfc(text).splitlines())
    page = f'<html><body><p>{shown}</p><p><img src="cid:{LOGO_CID}"></p></body></html>\n'
    rich = _part('text/html; charset="utf-8"', quopri.encodestring(page.encode()).decode("ascii"),
                 encoding="quoted-printable")  # fmt: skip
    picture = _part("image/png", base64.encodebytes(logo).decode("ascii"), encoding="base64",
                    filename="image001.png", disposition="inline")  # fmt: skip
    picture.set_raw("Content-ID", f"<{LOGO_CID}>")
    alternative = _multipart("alternative", [_text_part(text), rich], f"alternative:{seed}")
    return _multipart("related", [alternative, picture], f"related:{seed}", ' type="multipart/alternative";')


def archive(files: Sequence[tuple[str, bytes]], *, utf8_flag: bool = True) -> bytes:
    """A .zip of ``files`` (names may hold folders) as a unit packs its folder: names in UTF-8, flagged as
    7-Zip and Windows write them, or unflagged as the Archive Utility of macOS writes them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            info = (zipfile.ZipInfo if utf8_flag else _UnflaggedName)(nfc(name), date_time=(2023, 2, 10, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


class _UnflaggedName(zipfile.ZipInfo):
    """A member whose UTF-8 name is written without the flag that says so (bit 11)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's own name
        return self.filename.encode("utf-8"), self.flag_bits & ~0x800


@dataclass(frozen=True)
class Original:
    """The headers of a received message that a reply needs."""

    subject: str
    from_raw: str
    to: tuple[str, ...]
    message_id: str
    references: str
    office_name: str


def headers_of(raw: bytes) -> Original:
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: end + 2])
    unfold = lambda value: re.sub(r"\r?\n(?=[ \t])", "", str(value or ""))  # noqa: E731
    subject = _one_line(policy.default.header_factory("Subject", unfold(head.get("Subject"))))
    from_raw = unfold(head.get("From")).strip()
    office_name = ""
    if from_raw:
        addresses = policy.default.header_factory("From", from_raw).addresses
        office_name = _one_line(addresses[0].display_name) if addresses else ""
    return Original(
        subject=subject,
        from_raw=from_raw,
        to=tuple(addr for _, addr in getaddresses([unfold(v) for v in head.get_all("To", [])]) if addr),
        message_id=unfold(head.get("Message-ID")).strip(),
        references=" ".join(unfold(head.get("References")).split()),
        office_name=office_name,
    )


def _default_reply_body(office: str, names: Sequence[str], signature: str | None) -> str:
    lines = [f"Kính gửi: {office or 'Quý cơ quan'},", ""]
    who = signature or "Đơn vị"
    if names:
        lines.append(f"{who} xin gửi kèm theo thư này:")
        lines += [f"- {name}" for name in names]
    else:
        lines.append(f"{who} đã nhận được văn bản.")
    lines += ["", "Trân trọng./.", signature or ""]
    return "\n".join(lines).rstrip() + "\n"


def reply_email(
    original: bytes,
    attachments: Sequence[tuple[str, bytes] | Attached],
    *,
    from_addr: str | None = None,
    date: dt.datetime,
    body: str | None = None,
    quote_subject: bool = True,
    threading: bool = True,
    keep_tag: bool = True,
    from_name: str | None = None,
    signature: str | None = None,
    message_id: str | None = None,
    logo: bytes | None = None,
    signed: bool = False,
) -> bytes:
    """A unit's reply to the message it received (raw bytes), with files, as a mail client sends it (CRLF).

    ``from_addr`` defaults to the original's first recipient. ``quote_subject`` answers "Re: <subject>";
    without it the unit writes a fresh subject ("Gửi báo cáo theo ..."). ``keep_tag=False`` drops the
    ``[FU:..]`` tag, ``threading=False`` the In-Reply-To/References headers, leaving the other evidence.
    ``signature`` (the unit's name) closes the default body. ``logo``: a picture shown in an HTML body, as
    in an Outlook signature; ``signed``: an S/MIME signed message. The Message-ID is derived from the
    content, so a replay gives the same bytes.
    """
    return reply(headers_of(original), attachments, from_addr, date, body, quote_subject, threading, keep_tag,
                  from_name, signature, message_id, logo=logo, signed=signed)  # fmt: skip


def reply(
    original: Original,
    attachments: Sequence[tuple[str, bytes] | Attached],
    from_addr: str | None,
    date: dt.datetime,
    body: str | None,
    quote_subject: bool,
    threading: bool,
    keep_tag: bool,
    from_name: str | None,
    signature: str | None,
    message_id: str | None,
    *,
    logo: bytes | None = None,
    signed: bool = False,
) -> bytes:
    date = aware(date)
    files = [_attached(file) for file in attachments]
    tag = TAG.search(original.subject)
    plain = TAG.sub(" ", original.subject).strip()
    if quote_subject:
        subject = original.subject if keep_tag else plain
        subject = subject if _RE.match(subject) else f"Re: {subject}"
    else:
        subject = f"Gửi báo cáo theo {_RE.sub('', plain).strip()}"
        if keep_tag and tag:
            subject = f"{tag.group(0).strip()} {subject}"
    if from_addr is None:
        if not original.to:
            raise ValueError("the original has no To address; give from_addr")
        from_addr = original.to[0]
    names = [file.name for file in files if file.name]
    mid = message_id or _message_id(
        _domain(from_addr), original.message_id, from_addr, date.isoformat(), subject, *names,
        *(hashlib.sha256(file.data).hexdigest() for file in files), *(["signed"] if signed else []),
    )  # fmt: skip
    headers = [
        ("From", _address(from_name, from_addr)),
        (
            "To",
            _address(original.office_name, parseaddr(original.from_raw)[1])
            if original.from_raw
            else "undisclosed-recipients:;",
        ),
        ("Subject", _encoded("Subject", subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", mid),
    ]
    if threading and original.message_id:
        headers.append(("In-Reply-To", original.message_id))
        headers.append(("References", "\n ".join([*original.references.split(), original.message_id])))
    text = body if body is not None else _default_reply_body(original.office_name, names, signature)
    parts = [_body(text, logo, mid), *(_file_part(file) for file in files)]
    return _mixed(headers, parts, mid, signed)


def forward_email(
    inner: bytes,
    *,
    from_addr: str,
    to_addr: str,
    date: dt.datetime,
    body: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """``inner`` forwarded as a ``message/rfc822`` attachment, as a clerk forwards a unit's reply."""
    date = aware(date)
    inner_msg = BytesParser(policy=_SMTP).parsebytes(inner)
    head = headers_of(inner)
    sender = parseaddr(head.from_raw)[1] or "đơn vị"
    mid = message_id or _message_id(_domain(from_addr), "fwd", head.message_id, from_addr, to_addr, date.isoformat())
    headers = [
        ("From", from_addr),
        ("To", to_addr),
        ("Subject", _encoded("Subject", f"Fwd: {head.subject}")),
        ("Date", format_datetime(date)),
        ("Message-ID", mid),
    ]
    text = body if body is not None else f"Chuyển tiếp thư của {sender} (tệp đính kèm).\n"
    stem = " ".join(re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", head.subject).split())[:80].strip() or "thu-chuyen-tiep"
    attached = _part("message/rfc822", [inner_msg], filename=f"{stem}.eml")
    return _mixed(headers, [_text_part(text), attached], mid)


def date_of(raw: bytes) -> dt.datetime | None:
    """The moment in the message's Date header (what the sender's mail client wrote); None if none or unreadable."""
    value = BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get("Date")
    try:
        moment = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def delivered(raw: bytes, at: dt.datetime | None = None) -> mailbox.MaildirMessage:
    """``raw`` as a mail server would put it into a Maildir at ``at`` (default: its Date, as if it arrived the
    moment it was sent): ``mailbox.Maildir.add`` gives the file that time, which is the delivery time the
    collector reads. Without either, the time of the ``add``."""
    message = mailbox.MaildirMessage(raw)
    moment = aware(at) if at is not None else date_of(raw)
    if moment is not None:
        message.set_date(moment.timestamp())
    return message


def decoded_name(name: str | None) -> str | None:
    if name and "=?" in name:  # RFC 2047 words in a parameter, as Outlook writes them
        name = str(policy.default.header_factory("X-Name", name))
    return nfc(name) if name else None


def attachments_of(raw: bytes, *, nested: bool = False) -> dict[str, bytes]:
    """The files a message carries, by decoded (NFC) name. A forwarded message counts as one ``.eml`` file;
    with ``nested=True`` the files inside forwarded messages are listed too. Repeated names get " (2)"."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    found: dict[str, bytes] = {}

    def add(name: str, data: bytes) -> None:
        key, n = name, 1
        while key in found:
            n += 1
            stem, dot, ext = name.rpartition(".")
            key = f"{stem} ({n}).{ext}" if dot else f"{name} ({n})"
        found[key] = data

    def walk(part: Any, top: bool) -> None:
        if part.get_content_type() == "message/rfc822" and not top:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                return
            subject = _one_line(policy.default.header_factory("Subject", str(inner.get("Subject", "")))) or "thu"
            add(decoded_name(part.get_filename()) or f"{subject}.eml", inner.as_bytes(policy=policy.compat32))
            if nested:
                walk(inner, True)
            return
        if part.is_multipart():
            for child in part.get_payload():
                walk(child, False)
            return
        filename = decoded_name(part.get_filename())
        if filename or part.get_content_disposition() == "attachment":
            add(filename or "tep-dinh-kem", part.get_payload(decode=True) or b"")

    walk(msg, True)
    return found
