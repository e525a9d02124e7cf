"""The status report of a directive: per requirement and period, who has replied, on time or late.

Reads the store with one query and computes with followup.tracking; imports no Prefect, so
`followup status` answers at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from followup.clock import OFFICE_TZ
from followup.config import Config, Directive
from followup.periods import Due, Period, due_for, dues
from followup.storage.repository import submission_facts
from followup.tracking import SlotStatus, slot_status


def directive_status(
    session: Session,
    config: Config,
    directive: Directive,
    as_of: dt.datetime,
    requirement: str | None = None,
    period: str | None = None,
) -> list[SlotStatus]:
    """Every (requirement, period) opened up to ``as_of`` (or the ones asked for), with each unit's state."""
    if requirement is not None:
        directive.requirement(requirement)  # KeyError names an unknown requirement
    facts = submission_facts(session, directive.code)
    slots = []
    for req in directive.requirements:
        if requirement and req.code != requirement:
            continue
        chosen: list[Due]
        if period:
            try:
                chosen = [due_for(directive, req, Period.parse(period))]
            except ValueError:
                if requirement:
                    raise
                continue
        else:
            chosen = dues(directive, req, as_of.date())
        units = [u.code for u in config.recipients.units_in(req.from_groups)]
        for due in chosen:
            slots.append(slot_status(directive.code, due, units, facts.get((req.code, str(due.period)), {}), as_of))
    return slots


def status_json(slots: list[SlotStatus], names: dict[str, str]) -> dict[str, Any]:
    """The documented JSON shape of `followup status --json` (see README)."""
    return {
        "as_of": slots[0].as_of.isoformat() if slots else None,
        "slots": [
            {
                "directive": s.directive,
                "requirement": s.requirement,
                "period": s.period,
                "due_date": s.due_date.isoformat(),
                **s.counts(),
                "units": [
                    {
                        "unit": u.unit,
                        "name": names.get(u.unit, ""),
                        "state": u.state,
                        "received_at": u.received_at.astimezone(OFFICE_TZ).isoformat() if u.received_at else None,
                        "replies": u.replies,
                        "overdue": u.overdue,
                    }
                    for u in s.units
                ],
            }
            for s in slots
        ],
    }
