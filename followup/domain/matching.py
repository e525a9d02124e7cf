"""Matching a reply to its unit, requirement and period, strongest evidence first.

1. the identity embedded in the returned form (directive, requirement, period, unit);
2. ``In-Reply-To``/``References`` pointing at one of our messages;
3. the registered address of the sender;
4. the tracking tag left in the subject.
Evidence that conflicts, or is missing, sends the reply to triage with the reason: nothing is guessed
silently. The one inference allowed is the requirement when the unit is known and exactly one open
requirement of that unit takes a form of the file's kind; the evidence says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from followup.domain.identity import FormIdentity
from followup.i18n import N_, _


class Headers(Protocol):
    """What matching reads of a message's headers (``followup.mail.parse.Envelope`` has it)."""

    @property
    def from_addr(self) -> str | None: ...

    @property
    def references(self) -> Sequence[str]: ...  # In-Reply-To first, then References

    @property
    def tag(self) -> tuple[str, str] | None: ...  # (directive, unit) of the subject's tracking tag


#: What each source of evidence is called in a triage reason.
SOURCES = {"form": N_("the form"), "thread": N_("the thread"), "sender": N_("the sender"), "tag": N_("the subject tag")}


@dataclass(frozen=True)
class Evidence:
    source: str  # form, thread, sender, tag
    directive: str | None
    unit: str | None
    detail: str

    def __str__(self) -> str:
        return f"{self.source}: {self.detail}"


@dataclass(frozen=True)
class Match:
    directive: str
    requirement: str
    period: str
    unit: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class NoMatch:
    reason: str  # for the clerk, in triage
    unit: str | None  # the unit, when the evidence agrees on one
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Known:
    """What the store knows: our sent messages by Message-ID, units by address, the office's own addresses."""

    sent: Mapping[str, tuple[str | None, str | None]]  # Message-ID -> (directive, unit)
    addresses: Mapping[str, str]  # lower-case address -> unit code
    own_addresses: frozenset[str]  # the office, data officers: forwarders, never a unit


def message_evidence(envelopes: Sequence[Headers], known: Known) -> list[Evidence]:
    """Evidence from the headers of a message and of the messages forwarded inside it."""
    found: list[Evidence] = []
    for env in envelopes:
        for ref in env.references:
            if ref in known.sent:
                directive, unit = known.sent[ref]
                found.append(Evidence("thread", directive, unit, f"answers our message {ref}"))
                break
        if env.from_addr and env.from_addr not in known.own_addresses:
            unit = known.addresses.get(env.from_addr)
            if unit:
                found.append(Evidence("sender", None, unit, f"sent from {env.from_addr}, registered to {unit}"))
        if env.tag:
            directive, unit = env.tag
            found.append(Evidence("tag", directive, unit, f"subject tag of {directive} / {unit}"))
    return found


def agreed_unit(evidence: list[Evidence]) -> str | None:
    """The unit all evidence points at, or None when it points nowhere or at several."""
    units = {e.unit for e in evidence if e.unit}
    return units.pop() if len(units) == 1 else None


def match(
    identity: FormIdentity | None,
    evidence: list[Evidence],
    candidates: Mapping[str, list[tuple[str, str, str]]] | None = None,
) -> Match | NoMatch:
    """Decide one file's match. ``candidates``: unit -> [(directive, requirement, period)] it could answer
    with a file of this kind, used only when the file carries no identity."""
    items = list(evidence)
    if identity is not None:
        items.insert(
            0,
            Evidence("form", identity.directive, identity.unit, f"form {identity.requirement} {identity.period}"),
        )
    texts = tuple(str(e) for e in items)
    units = sorted({e.unit for e in items if e.unit})
    directives = sorted({e.directive for e in items if e.directive})
    if len(units) > 1:
        by_source = "; ".join(
            _("{source} says {unit}").format(source=_(SOURCES.get(e.source, e.source)), unit=e.unit)
            for e in items
            if e.unit
        )
        return NoMatch(_("conflicting units ({evidence})").format(evidence=by_source), None, texts)
    if len(directives) > 1:
        reason = _("conflicting directives ({directives})").format(directives=", ".join(directives))
        return NoMatch(reason, units[0] if units else None, texts)
    if not units:
        return NoMatch(_("no evidence of the unit (unknown sender, no form identity, no tag)"), None, texts)
    unit = units[0]
    if identity is not None:
        return Match(identity.directive, identity.requirement, identity.period, unit, texts)
    options = [c for c in (candidates or {}).get(unit, []) if not directives or c[0] == directives[0]]
    if len(options) == 1:
        directive, requirement, period = options[0]
        inferred = f"inferred: {requirement} {period} is the only open requirement of {unit} taking this kind of file"
        return Match(directive, requirement, period, unit, (*texts, inferred))
    if not options:
        return NoMatch(
            _("the file carries no form identity and {unit} owes no form of this kind").format(unit=unit), unit, texts
        )
    return NoMatch(
        _("the file carries no form identity and {unit} owes {n} forms of this kind; assign one").format(
            unit=unit, n=len(options)
        ),
        unit,
        texts,
    )
