"""The product's vocabulary of states: one enum per thing that has a state, shared by every layer.

Values are the strings the store keeps, so rows written before these enums read the same.
"""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    """What became of one file (or message without one) a unit sent."""

    ACCEPTED = "accepted"  # read and checked; counts for its slot
    REJECTED = "rejected"  # read, with errors the unit must fix (or unreadable)
    TRIAGE = "triage"  # waits for the clerk: no match, conflicting evidence, a scan, a period not open
    SUPERSEDED = "superseded"  # accepted once, replaced by a later accepted reply
    DISCARDED = "discarded"  # set aside by the clerk
    ASSIGNED = "assigned"  # a triaged file the clerk assigned; its decision is a new submission

    @property
    def was_accepted(self) -> bool:
        return self in (SubmissionStatus.ACCEPTED, SubmissionStatus.SUPERSEDED)

    @property
    def counts_as_reply(self) -> bool:
        """Whether the status shows it as something the unit sent (the clerk's own acts do not count)."""
        return self not in (SubmissionStatus.DISCARDED, SubmissionStatus.ASSIGNED)


class IncomingStatus(StrEnum):
    STORED = "stored"  # kept as received, not yet interpreted
    PROCESSING = "processing"  # claimed by a run (until its lease ends)
    PROCESSED = "processed"
    FAILED = "failed"  # broke the reader; kept, and shown to the clerk


class MessageStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet sent
    SENDING = "sending"  # claimed by a run (until its lease ends)
    SENT = "sent"
    FAILED = "failed"  # refused for good by the server; the next run tries again


class MessageKind(StrEnum):
    """Every kind of message the product sends; each has its templates and its typed context."""

    DIRECTIVE = "directive"
    ANSWER = "answer"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    SUMMARY = "summary"  # the compiled report of a period: leadership (counts), data officers (the files)


class UnitState(StrEnum):
    """Where a unit stands for one requirement and period (the status report)."""

    ON_TIME = "on_time"
    LATE = "late"
    REJECTED = "rejected"
    PENDING = "pending"
    MISSING = "missing"


class Delivery(StrEnum):
    """What happened to one message in a run of the mail path."""

    SENT = "sent"
    SKIPPED = "skipped"  # already sent before
    FAILED = "failed"
    PLANNED = "planned"  # a dry run
    WAITING = "waiting"  # not sent in this run (interrupted, or claimed by another run)


class Source(StrEnum):
    """Where an incoming message came from."""

    IMAP = "imap"
    MAILDIR = "maildir"
    HAND = "hand"  # a reply on paper or by hand, recorded by the clerk
