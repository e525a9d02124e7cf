"""The clerk's words for the product's states: the store keeps the values, the clerk reads these labels."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from followup.domain.states import Delivery, SubmissionStatus, UnitState
from followup.i18n import N_, _

LABELS: dict[type[StrEnum], dict[str, str]] = {
    Delivery: {
        Delivery.SENT: N_("sent"),
        Delivery.SKIPPED: N_("skipped"),
        Delivery.FAILED: N_("failed"),
        Delivery.PLANNED: N_("planned"),
        Delivery.WAITING: N_("waiting"),
    },
    SubmissionStatus: {
        SubmissionStatus.ACCEPTED: N_("accepted"),
        SubmissionStatus.REJECTED: N_("rejected"),
        SubmissionStatus.TRIAGE: N_("triage"),
        SubmissionStatus.SUPERSEDED: N_("superseded"),
        SubmissionStatus.DISCARDED: N_("set aside"),
        SubmissionStatus.ASSIGNED: N_("assigned"),
    },
    UnitState: {
        UnitState.ON_TIME: N_("on time"),
        UnitState.LATE: N_("late"),
        UnitState.REJECTED: N_("rejected, to be corrected"),
        UnitState.PENDING: N_("pending review"),
        UnitState.MISSING: N_("not sent"),
    },
}


def label(kind: type[StrEnum], value: str) -> str:
    """What the clerk reads for a stored ``value`` of ``kind`` (a value the vocabulary does not know as is)."""
    words = LABELS[kind]
    return _(words[value]) if value in words else value


def counts_text(kind: type[StrEnum], counts: Mapping[str, int]) -> str:
    """The non-zero counts with their labels ("36 sent, 2 failed"); empty when all are zero."""
    return ", ".join(_("{n} {state}").format(n=n, state=label(kind, s)) for s, n in counts.items() if n)
