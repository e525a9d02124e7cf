"""Per-unit copies of a rendered form, without rendering it again.

A form is rendered once per requirement with placeholders for what differs by unit (its code and name).
``FormTemplate`` splits that archive once: the parts without a placeholder are compressed once and kept;
each unit's copy appends only the few parts that carry one, with the unit's values. For ten thousand
units this costs a small zip append each, not a workbook build or a full re-compression each.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

UNIT_CODE = "FOLLOWUP_PLACEHOLDER_UNIT_CODE"
UNIT_NAME = "FOLLOWUP_PLACEHOLDER_UNIT_NAME"
_MARK = b"FOLLOWUP_PLACEHOLDER_"


class FormTemplate:
    """A rendered .docx/.xlsx whose placeholders are filled per unit."""

    def __init__(self, template: bytes):
        self._dynamic: list[tuple[zipfile.ZipInfo, bytes]] = []
        static = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(static, "w") as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.endswith((".xml", ".rels")) and _MARK in data:
                    self._dynamic.append((info, data))
                else:
                    dst.writestr(info, data, compress_type=info.compress_type)
        self._static = static.getvalue()

    def fill(self, values: dict[str, str]) -> bytes:
        """The archive with each placeholder replaced by its XML-escaped value."""
        encoded = {key.encode(): escape(value, {'"': "&quot;"}).encode() for key, value in values.items()}
        out = io.BytesIO(self._static)
        with zipfile.ZipFile(out, "a") as archive:
            for info, data in self._dynamic:
                for key, value in encoded.items():
                    data = data.replace(key, value)
                archive.writestr(info, data, compress_type=info.compress_type)
        return out.getvalue()


def prefill(template: bytes, values: dict[str, str]) -> bytes:
    """One filled copy (for a single use; keep a FormTemplate to fill many)."""
    return FormTemplate(template).fill(values)
