"""The status of a directive: per requirement and period, who has replied, on time or late.

Reads the store with one query and computes with the pure rules of ``domain.tracking``; imports no
Prefect, so `followup status` answers at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from followup.domain.config import Config, Directive
from followup.domain.periods import Due, Period, due_for, dues
from followup.domain.tracking import Fact, Only, SlotStatus, selected, slot_status
from followup.i18n import _
from followup.storage.uow import UnitOfWork


def directive_status(
    uow: UnitOfWork,
    config: Config,
    directive: Directive,
    as_of: dt.datetime,
    requirement: str | None = None,
    period: str | None = None,
) -> list[SlotStatus]:
    """Every (requirement, period) opened up to ``as_of`` (or the ones asked for), with each unit's state."""
    if requirement is not None:
        directive.requirement(requirement)  # KeyError names an unknown requirement
    wanted = Period.parse(period) if period else None  # ValueError says how to write one
    facts = uow.repo.submission_facts(directive.code)
    unplaced = facts.get((None, None), {})
    slots = []
    for req in directive.requirements:
        if requirement and req.code != requirement:
            continue
        chosen: list[Due]
        if wanted:
            try:
                chosen = [due_for(directive, req, wanted, config.tz)]
            except ValueError:
                if requirement:
                    raise
                continue
        else:
            chosen = dues(directive, req, as_of.date(), config.tz)
        units = [u.code for u in config.recipients.units_in(req.from_groups)]
        for due in chosen:
            slot_facts = facts.get((req.code, str(due.period)), {})
            slots.append(slot_status(directive.code, due, units, with_unplaced(slot_facts, unplaced, due), as_of))
    if wanted and not slots:
        raise ValueError(
            _("no requirement of {directive} has a period {period}").format(directive=directive.code, period=wanted)
        )
    return slots


def all_counts(uow: UnitOfWork, config: Config, as_of: dt.datetime) -> list[dict[str, Any]]:
    """Counts per directive, requirement and period (no names): what the Prefect artifact shows."""
    return [
        {"directive": s.directive, "requirement": s.requirement, "period": s.period, **s.counts()}
        for directive in config.directives.values()
        for s in directive_status(uow, config, directive, as_of)
    ]


def with_unplaced(facts: dict[str, list[Fact]], unplaced: dict[str, list[Fact]], due: Due) -> dict[str, list[Fact]]:
    """A reply not yet placed (in triage, or unreadable) counts, in the year it came, for each of the unit's
    requirements: the unit has answered something, so it shows as pending or rejected, not missing."""
    if not unplaced:
        return facts
    merged = {unit: list(items) for unit, items in facts.items()}
    for unit, items in unplaced.items():
        merged.setdefault(unit, []).extend(f for f in items if f.received_at.year == due.period.year)
    return merged


def status_json(
    slots: list[SlotStatus], names: dict[str, str], tz: dt.tzinfo, only: Only | None = None
) -> dict[str, Any]:
    """The documented JSON shape of `followup status --json` (see README); ``only`` narrows the units listed,
    not the counts."""
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
                        "received_at": u.received_at.astimezone(tz).isoformat() if u.received_at else None,
                        "replies": u.replies,
                        "overdue": u.overdue,
                    }
                    for u in s.units
                    if only is None or selected(u, only)
                ],
            }
            for s in slots
        ],
    }
