"""Which request a returned form answers: (directive, requirement, period, unit) as a short ASCII token.

Written into every form we send (how, in ``followup.forms.identity``) and found again in whatever a unit
returns, so a re-saved, renamed or forwarded form still finds its request.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TOKEN_PREFIX = "followup:v1"

_VALUE = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_TOKEN_RE = re.compile(
    rf"followup\s*:\s*v1\s*;\s*d\s*=\s*(?P<d>{_VALUE})\s*;\s*r\s*=\s*(?P<r>{_VALUE})"
    rf"\s*;\s*p\s*=\s*(?P<p>{_VALUE})\s*;\s*u\s*=\s*(?P<u>{_VALUE})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FormIdentity:
    """Which request a form answers; survives as plain ASCII text wherever a program keeps it."""

    directive: str
    requirement: str
    period: str
    unit: str

    def __post_init__(self) -> None:
        for name in ("directive", "requirement", "period", "unit"):
            value = getattr(self, name)
            if not re.fullmatch(_VALUE, value or ""):
                raise ValueError(f"{name} {value!r} cannot be part of a form identity; use A-Z 0-9 . _ -")

    def token(self) -> str:
        return f"{TOKEN_PREFIX};d={self.directive};r={self.requirement};p={self.period};u={self.unit}"

    @classmethod
    def parse(cls, text: str | None) -> FormIdentity | None:
        """Find a token anywhere in ``text`` (a cell, a footer, a property); None when there is none."""
        if not text:
            return None
        match = _TOKEN_RE.search(unicodedata.normalize("NFC", str(text)))
        if not match:
            return None
        return cls(match["d"], match["r"], match["p"], match["u"])
