"""Reading a PDF's text: how dispatch knows that a signed copy is the letter that was issued."""

from __future__ import annotations

import io

from followup.i18n import _


def pdf_text(data: bytes) -> str:
    """The text of every page; ValueError when the file is not a readable PDF (a scan has no text layer)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ValueError(_("not a readable PDF ({error})").format(error=exc)) from None
