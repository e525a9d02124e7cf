"""The clerk's language: every text the clerk reads goes through ``_`` (gettext), Vietnamese by default.

Message ids are English; the catalogues under ``followup/locale`` give Vietnamese (``vi``, the default) and
English (``en``). ``FOLLOWUP_LANGUAGE`` chooses. Texts that units and leadership read (the letter, the
e-mails, the answers to replies) are Vietnamese by nature and live in templates, not here.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "followup"
LANGUAGES = ("vi", "en")


def language() -> str:
    """The chosen language: FOLLOWUP_LANGUAGE (vi or en), Vietnamese when unset or unknown."""
    chosen = os.environ.get("FOLLOWUP_LANGUAGE", "vi").strip().lower()[:2]
    return chosen if chosen in LANGUAGES else "vi"


def translation(lang: str | None = None) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang or language()], fallback=True)


_translation = translation()


def _(message: str) -> str:
    """The clerk's text for ``message`` (an English message id)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)
