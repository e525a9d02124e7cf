"""The kinds of reply form, by the name a requirement gives in the directive's YAML (``form: children-list``).

Each kind is one module of this package exposing ``KIND``; adding a kind is declaring its spec in
``followup.domain.form_kinds``, writing that module and naming it in ``_MODULES``. Nothing else in the
library switches on a kind's name.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from importlib import import_module
from types import MappingProxyType
from typing import Protocol

from followup.domain.config import Requirement
from followup.domain.form_kinds import FORM_SPECS
from followup.domain.identity import FormIdentity
from followup.forms.review import Verdict


class FormKind(Protocol):
    """What the library needs of a kind of form: its file, how to build it, and how to review a returned one."""

    name: str  # the value of Requirement.form in the directive's YAML
    ext: str  # the file a unit receives and returns; unique among kinds, replies are told apart by it
    counts: tuple[str, ...]  # the counts of its summary a report's declared cross-check may compare with
    needs_indicators: bool  # whether a requirement of this kind must declare indicators

    def short_title(self, requirement: Requirement) -> str:
        """How the file is named in a mail client, before the unit's name."""
        ...

    def build(
        self, identity: FormIdentity, unit_name: str, requirement: Requirement, period_label: str, deadline_text: str
    ) -> bytes: ...

    def review(self, requirement: Requirement, data: bytes, filename: str, as_of: dt.date) -> Verdict:
        """Read and check a returned file (UnreadableForm propagates)."""
        ...


_MODULES = (
    "children_list",
    "periodic_report",
)

KINDS: Mapping[str, FormKind] = MappingProxyType(
    {kind.name: kind for kind in (import_module(f"{__package__}.{module}").KIND for module in _MODULES)}
)
if set(KINDS) != set(FORM_SPECS):
    raise RuntimeError(f"form kinds {sorted(KINDS)} do not implement the specs {sorted(FORM_SPECS)} one to one")
_BY_EXTENSION = {kind.ext: kind for kind in KINDS.values()}
if len(_BY_EXTENSION) != len(KINDS):
    raise RuntimeError("two form kinds share a file extension; their replies could not be told apart")


def kind_named(name: str) -> FormKind:
    """The kind registered under ``name`` (KeyError otherwise)."""
    return KINDS[name]


def kind_of(requirement: Requirement) -> FormKind:
    """The kind of a requirement's form; configuration validation guarantees it is registered."""
    return KINDS[requirement.form]


def kind_for_extension(ext: str) -> FormKind | None:
    """The kind whose files end in ``ext`` ("xlsx", ".DOCX"), None for any other file."""
    return _BY_EXTENSION.get(ext.strip().lstrip(".").lower())


_ILLEGAL_IN_NAME = re.compile(r'[\\/:*?"<>|\r\n\t\x00-\x1f]')


def form_filename(requirement: Requirement, unit_name: str) -> str:
    """A file name a clerk recognises in a mail client and that every file system accepts."""
    kind = kind_of(requirement)
    stem = f"{kind.short_title(requirement)} - {unit_name}"
    stem = unicodedata.normalize("NFC", stem)
    stem = _ILLEGAL_IN_NAME.sub(" ", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:150].strip(" .")
    return f"{stem}.{kind.ext}"
