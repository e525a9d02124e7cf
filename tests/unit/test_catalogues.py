"""The clerk's catalogues: every text the clerk can see has its Vietnamese and English, and they are compiled.

The texts are what scripts/messages.py extracts from followup/ and flows/ (``_()``, ``N_()``, ``ngettext``).
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
import unicodedata
from enum import StrEnum
from pathlib import Path

import pytest
from babel.messages.catalog import Message

from followup.domain.states import Delivery, SubmissionStatus, UnitState
from followup.labels import LABELS

ROOT = Path(__file__).resolve().parents[2]

FIX = "run `python scripts/messages.py` (make messages), translate what it lists in {po}, and run it again"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


messages = _script()


@pytest.fixture(scope="module")
def extracted() -> list[Message]:
    return [m for m in messages.extract() if m.id]


@pytest.mark.parametrize("lang", messages.LANGUAGES)
def test_every_text_of_the_sources_is_translated(lang: str, extracted: list[Message]) -> None:
    catalog = messages.read(lang)
    missing = [m.id for m in extracted if catalog.get(m.id, m.context) is None]
    pending = [m.id for m in messages.untranslated(catalog)]
    po = messages.po_path(lang).relative_to(ROOT)
    assert not missing, f"{len(missing)} text(s) not in {po}: {missing[:20]}; " + FIX.format(po=po)
    assert not pending, f"{len(pending)} text(s) untranslated or fuzzy in {po}: {pending[:20]}; " + FIX.format(po=po)


@pytest.mark.parametrize("lang", messages.LANGUAGES)
def test_the_compiled_catalogue_is_the_one_of_the_po_file(lang: str) -> None:
    mo = messages.po_path(lang).with_suffix(".mo")
    assert mo.read_bytes() == messages.compiled(messages.read(lang)), f"{mo} is stale: " + FIX.format(po=mo)


PLACEHOLDER = re.compile(r"(?<!\{)\{[a-z_]*\}(?!\})")  # {n}, {name}, typer's {}; not a literal {{ }}
MARKUP = re.compile(r"\[/?(?:(?:bold|dim|italic|red|green|yellow|cyan|blue) ?)*\]")  # [bold red] … [/]


def _parts(text: str) -> tuple[list[str], list[str]]:
    return sorted(PLACEHOLDER.findall(text)), MARKUP.findall(text)


@pytest.mark.parametrize("lang", messages.LANGUAGES)
def test_translations_keep_the_placeholders_and_markup_and_are_nfc(lang: str) -> None:
    wrong = []
    for message in messages.read(lang):
        if not message.id:
            continue
        for original, translated in zip(messages._strings(message.id), messages._strings(message.string), strict=False):
            if _parts(original) != _parts(translated):
                wrong.append(f"{original!r} -> {translated!r}: {_parts(original)} != {_parts(translated)}")
            if translated != unicodedata.normalize("NFC", translated):
                wrong.append(f"{translated!r} is not NFC")
    assert not wrong, "\n".join(wrong)


def test_the_vietnamese_is_vietnamese() -> None:
    """A few words the clerk reads every day, as the brief asks for them."""
    vi = {m.id: m.string for m in messages.read("vi") if m.id}
    assert vi["sent"] == "đã gửi" and vi["planned"] == "chờ gửi" and vi["accepted"] == "đã chấp nhận"
    assert vi["rejected"] == "cần bổ sung" and vi["triage"] == "chờ phân loại"


@pytest.mark.parametrize("kind", [Delivery, SubmissionStatus, UnitState])
def test_every_state_shown_to_the_clerk_has_a_label(kind: type[StrEnum]) -> None:
    assert set(LABELS[kind]) == set(kind)


def test_the_wheel_carries_the_compiled_catalogues() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["followup"]
    package = ROOT / "followup"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    for lang in messages.LANGUAGES:
        assert messages.po_path(lang).with_suffix(".mo") in shipped


def test_a_missing_translation_is_caught(tmp_path: Path) -> None:
    """The check above can fail: an entry without its Vietnamese is listed as untranslated."""
    catalog = messages.read("vi")
    catalog.add("a text nobody translated", "")
    assert [m.id for m in messages.untranslated(catalog)] == ["a text nobody translated"]
