"""The kinds of reply form as the directive's YAML names them (``form: children-list``): what the
configuration checks of a requirement before any file is built or read.

How a kind's file is built and read lives in ``followup.forms`` (one module per kind, behind its registry);
each of those declares which spec here it implements, and the registry refuses a spec left without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from followup.domain.summaries import ListSummary


@dataclass(frozen=True)
class FormSpec:
    name: str  # the value of Requirement.form in the directive's YAML
    ext: str  # the file a unit receives and returns; unique among kinds
    counts: tuple[str, ...]  # the counts of its summary a report's declared cross-check may compare with
    needs_indicators: bool  # whether a requirement of this kind must declare indicators


CHILDREN_LIST = FormSpec("children-list", "xlsx", ListSummary.COUNTS, needs_indicators=False)
#: Figures, not counts of rows: nothing for a cross-check to compare with.
PERIODIC_REPORT = FormSpec("periodic-report", "docx", (), needs_indicators=True)

FORM_SPECS: Mapping[str, FormSpec] = MappingProxyType({s.name: s for s in (CHILDREN_LIST, PERIODIC_REPORT)})


#: How the bytes of a returned form begin, whatever its name: an OOXML package (.xlsx, .docx) or any zip, and
#: the OLE2 compound file of the legacy formats (.xls, .doc).
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def looks_like_document(data: bytes) -> bool:
    """Whether bytes begin as a zip (.xlsx, .docx, .zip) or an OLE2 file (.xls, .doc) does: a file the unit sent,
    whatever the message part carrying it claims to be (a body, a picture)."""
    return data.startswith((ZIP_MAGIC, OLE2_MAGIC))
