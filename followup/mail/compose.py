"""Composing outgoing mail: headers a unit can read, bodies in plain text and HTML, Vietnamese file names.

yagmail builds the MIME structure and encodes attachments; we hand it clean values (no CR/LF can reach
a header) and put our own plain-text and HTML alternatives in, since yagmail derives one from the other
without escaping.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from functools import lru_cache

from yagmail.message import prepare_message

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """One line of header text: NFC, control characters (CR/LF included) folded into single spaces."""
    return re.sub(r"\s{2,}", " ", _CONTROL.sub(" ", unicodedata.normalize("NFC", value))).strip()


def tracking_tag(directive_code: str, unit_code: str) -> str:
    """The tag in every subject we send, so a reply keeps pointing at its directive and unit."""
    return f"[FU:{directive_code}:{unit_code}]"


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Inline:
    """An image the HTML body shows (``<img src="cid:{cid}">``), sent in a multipart/related part."""

    cid: str
    filename: str
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Outgoing:
    """Everything a message needs, already rendered; ``compose`` only assembles it."""

    message_id: str
    from_addr: str
    from_name: str
    to: list[str]
    subject: str
    text: str
    html: str
    cc: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    in_reply_to: str | None = None
    inline: list[Inline] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]


def compose(out: Outgoing, date: dt.datetime) -> bytes:
    """The message as bytes ready for SMTP or a Maildir, with CRLF line ends.

    yagmail lays out the message with a short stand-in for each attachment; the stand-ins are then replaced
    by the attachments' base64 text. The e-mail generator writes a payload line by line, which for a
    dispatch of ten thousand messages costs more than sending them; the splice costs a few copies.
    """
    headers = {"Date": format_datetime(date), "Auto-Submitted": "auto-generated"}
    if out.in_reply_to:
        headers["In-Reply-To"] = out.in_reply_to
        headers["References"] = out.in_reply_to
    files = []
    stand_ins: dict[bytes, bytes] = {}
    for index, attachment in enumerate(out.attachments):
        stand_in = f"followup-attachment-{index}-{secrets.token_hex(8)}".encode()  # one base64 line
        stand_ins[base64.b64encode(stand_in)] = _base64_lines(attachment.data)
        handle = io.BytesIO(stand_in)
        handle.name = header_text(attachment.filename).replace("/", "-").replace("\\", "-")
        files.append(handle)
    addresses: dict[str, object] = {"recipients": out.recipients, "To": ", ".join(out.to)}
    if out.cc:
        addresses["Cc"] = ", ".join(out.cc)
    msg = prepare_message(
        out.from_addr,
        header_text(out.from_name),
        addresses,
        header_text(out.subject),
        None,
        files or None,
        headers,
        "utf-8",
        prettify_html=False,
        message_id=out.message_id,
    )
    alternative = msg.get_payload()[0]
    html: MIMEText | MIMEMultipart = MIMEText(out.html, "html", "utf-8")
    if out.inline:  # the HTML and the images it shows travel together (RFC 2387)
        html = MIMEMultipart("related", _subparts=[html, *(_inline_part(image) for image in out.inline)])
    alternative.set_payload([MIMEText(out.text, "plain", "utf-8"), html])
    # Boundaries chosen here spare the generator a regex compiled and run over the whole body per part;
    # no base64 line or stand-in can contain one.
    for part in (msg, alternative, *([html] if out.inline else [])):
        part.set_boundary(f"==followup-{secrets.token_hex(12)}==")
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # SMTP wants CRLF; smtplib leaves bytes as is
    for stand_in, encoded in stand_ins.items():
        data = data.replace(stand_in + b"\r\n", encoded, 1)
    return data


def _inline_part(image: Inline) -> MIMEImage:
    part = MIMEImage(image.data, image.subtype)
    part["Content-ID"] = f"<{header_text(image.cid)}>"
    part.add_header("Content-Disposition", "inline", filename=header_text(image.filename))
    return part


@lru_cache(maxsize=16)
def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF lines; cached, since the letter is the same in every message."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
