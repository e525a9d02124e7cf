"""Per-unit copies of a rendered form, without rendering it again.

A form is rendered once per requirement with placeholders for what differs by unit (its code and name);
each unit's copy replaces them inside the .docx/.xlsx archive. For ten thousand units this costs a
zip rewrite each, not a workbook build each.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

UNIT_CODE = "FOLLOWUP_PLACEHOLDER_UNIT_CODE"
UNIT_NAME = "FOLLOWUP_PLACEHOLDER_UNIT_NAME"


def prefill(template: bytes, values: dict[str, str]) -> bytes:
    """Replace each placeholder by its XML-escaped value in every XML part of an OOXML archive."""
    encoded = {key.encode(): escape(value, {'"': "&quot;"}).encode() for key, value in values.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for key, value in encoded.items():
                    if key in data:
                        data = data.replace(key, value)
            dst.writestr(info, data, compress_type=info.compress_type)
    return out.getvalue()


def placeholders_left(data: bytes) -> bool:
    """True if a prefilled copy still carries a placeholder (a template the clerk edited badly)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return any(
            b"FOLLOWUP_PLACEHOLDER_" in archive.read(name) for name in archive.namelist() if name.endswith(".xml")
        )
