"""Reading and writing the store: small functions the service layer calls, no rules of their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.domain.config import Directive, Recipients
from followup.domain.tracking import Fact
from followup.storage.models import DirectiveRow, Dispatch, OutgoingMessage, Submission, UnitRow


def sync_recipients(session: Session, recipients: Recipients, now: dt.datetime) -> None:
    """Copy recipients.yaml into the store; units removed from the file stay, marked inactive."""
    existing = {row.code: row for row in session.scalars(select(UnitRow))}
    listed = set()
    for unit in recipients.units:
        listed.add(unit.code)
        values = {"name": unit.name, "kind": unit.kind.value, "emails": list(unit.emails), "groups": list(unit.groups)}
        row = existing.get(unit.code)
        if row is None:
            session.add(UnitRow(code=unit.code, active=True, updated_at=now, **values))
        elif any(getattr(row, k) != v for k, v in values.items()) or not row.active:
            for key, value in values.items():
                setattr(row, key, value)
            row.active, row.updated_at = True, now
    for code, row in existing.items():
        if code not in listed and row.active:
            row.active, row.updated_at = False, now


def sync_directive(session: Session, directive: Directive, now: dt.datetime) -> DirectiveRow:
    definition = directive.model_dump(mode="json")
    row = session.get(DirectiveRow, directive.code)
    if row is None:
        row = DirectiveRow(
            code=directive.code,
            symbol=directive.symbol,
            year=directive.year,
            subject=directive.subject,
            definition=definition,
            updated_at=now,
        )
        session.add(row)
    elif row.definition != definition:
        row.symbol, row.year, row.subject, row.definition, row.updated_at = (
            directive.symbol,
            directive.year,
            directive.subject,
            definition,
            now,
        )
    return row


def latest_dispatch(session: Session, directive_code: str) -> Dispatch | None:
    return session.scalars(
        select(Dispatch).where(Dispatch.directive_code == directive_code).order_by(Dispatch.id.desc()).limit(1)
    ).first()


def dispatch_messages(session: Session, dispatch_id: int, purpose: str) -> list[OutgoingMessage]:
    return list(
        session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.dispatch_id == dispatch_id, OutgoingMessage.purpose == purpose)
            .order_by(OutgoingMessage.id)
        )
    )


def submission_facts(
    session: Session, directive_code: str
) -> dict[tuple[str | None, str | None], dict[str, list[Fact]]]:
    """(requirement, period) -> unit -> facts, for the status of a directive; one query.

    Replies whose requirement is not known yet (waiting in triage, unreadable) come under (None, None)."""
    rows = session.execute(
        select(
            Submission.requirement_code,
            Submission.period,
            Submission.unit_code,
            Submission.status,
            Submission.received_at,
        ).where(Submission.directive_code == directive_code, Submission.unit_code.is_not(None))
    )
    out: dict[tuple[str | None, str | None], dict[str, list[Fact]]] = {}
    for requirement, period, unit, status, received in rows:
        out.setdefault((requirement, period), {}).setdefault(unit, []).append(Fact(unit, status, received))
    return out
