"""The clerk's catalogues: extract the texts, update followup/locale/{vi,en}, compile them.

    python scripts/messages.py    (or: make messages)

Run it after adding or changing a text wrapped in ``_()`` or ``N_()`` (in followup/ or flows/, see babel.cfg),
and after a merge. It lists the Vietnamese entries still to translate: write their msgstr in
followup/locale/vi/LC_MESSAGES/followup.po (and delete the ``#, fuzzy`` line of a suggestion once checked),
then run it again to compile. English message ids are the English texts, so a new English entry gets its id
as translation. The compiled .mo files are committed: a fresh clone and a wheel need no compilation step
(tests/unit/test_catalogues.py fails when they are stale or an entry is untranslated).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("followup", "flows")
LOCALE_DIR = ROOT / "followup" / "locale"
DOMAIN = "followup"
LANGUAGES = ("vi", "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
COMMAND = "python scripts/messages.py"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message id of the sources, with where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    template = Catalog(domain=DOMAIN, project="followup", fuzzy=False)
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            template.add(message, None, [(f"{source}/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="followup", fuzzy=False, revision_date=dt.datetime.now())
    with path.open("rb") as po:
        return read_po(po, locale=lang, domain=DOMAIN)


def untranslated(catalog: Catalog) -> list[Message]:
    """Entries the clerk would see in English (or as a guess): an empty translation, or a fuzzy one."""
    return [m for m in catalog if m.id and (m.fuzzy or not all(_strings(m.string)))]


def _strings(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [value or ""]


def update(template: Catalog, lang: str) -> Catalog:
    """The catalogue of ``lang`` with exactly the template's entries; English ones filled with their ids."""
    catalog = read(lang)
    catalog.update(template, no_fuzzy_matching=lang == "en", update_creation_date=False)
    catalog.obsolete.clear()  # git keeps what was removed
    catalog.fuzzy = False
    if lang == "en":
        for message in untranslated(catalog):
            message.string = message.id
            message.flags.discard("fuzzy")
    return catalog


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def write(catalog: Catalog, lang: str) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    write_po(out, catalog, width=120, sort_output=True, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(out.getvalue())
    path.with_suffix(".mo").write_bytes(compiled(catalog))


def main() -> int:
    template = extract()
    todo = 0
    for lang in LANGUAGES:
        catalog = update(template, lang)
        write(catalog, lang)
        missing = untranslated(catalog)
        todo += len(missing)
        print(f"{po_path(lang).relative_to(ROOT)}: {len(catalog)} entries, {len(missing)} to translate")
        for message in missing:
            print(f"  {'(fuzzy) ' if message.fuzzy else ''}{message.id!r}")
    if todo:
        print(f"Translate these in the .po files, then run `{COMMAND}` again.")
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main())
