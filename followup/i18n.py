"""The clerk's language: every text the clerk reads goes through ``_`` (gettext), Vietnamese by default.

Message ids are English; the catalogues under ``followup/locale`` give Vietnamese (``vi``, the default) and
English (``en``). ``FOLLOWUP_LANGUAGE`` chooses. Texts that units and leadership read (the letter, the
e-mails, the answers to replies) are Vietnamese by nature and live in templates, not here.

The catalogues are edited as .po files and committed compiled (.mo): ``python scripts/messages.py``
extracts, updates and compiles them.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "followup"
LANGUAGES = ("vi", "en")


def language() -> str:
    """The chosen language: FOLLOWUP_LANGUAGE (vi or en), Vietnamese when unset or unknown.

    Read at each text, so a test can switch it; a .env file of the current folder counts too, read here
    because help texts are translated when the command line is imported, before the CLI loads .env."""
    chosen = os.environ.get("FOLLOWUP_LANGUAGE") or _from_dotenv(os.getcwd())
    chosen = (chosen or "vi").strip().lower()[:2]
    return chosen if chosen in LANGUAGES else "vi"


@cache
def _from_dotenv(folder: str) -> str | None:
    env = Path(folder) / ".env"
    if not env.is_file():
        return None
    from dotenv import dotenv_values

    return dotenv_values(env).get("FOLLOWUP_LANGUAGE")


@cache
def translation(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    """The clerk's text for ``message`` (an English message id)."""
    return translation(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translation(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues where it is defined (a table of labels); ``_`` translates it where
    it is shown."""
    return message
