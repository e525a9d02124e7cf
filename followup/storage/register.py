"""The register of outgoing documents (sổ đăng ký văn bản đi).

A document gets its number when it is issued: the next free number for its year and symbol. Numbers
restart each year and are never reused, even if the document is later withdrawn.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followup.storage.models import IssuedNumber


def issue_number(
    session: Session, *, year: int, symbol: str, directive_code: str, purpose: str, at: dt.datetime
) -> IssuedNumber:
    """Take the next number of the register; safe when two clerks issue at the same moment."""
    for _ in range(5):
        last = session.scalar(
            select(func.max(IssuedNumber.number)).where(IssuedNumber.year == year, IssuedNumber.symbol == symbol)
        )
        entry = IssuedNumber(
            year=year,
            symbol=symbol,
            number=(last or 0) + 1,
            directive_code=directive_code,
            purpose=purpose,
            issued_at=at,
        )
        try:
            with session.begin_nested():
                session.add(entry)
            return entry
        except IntegrityError:
            continue
    raise RuntimeError(f"could not take a number in the register for {year} {symbol}; try again")
