"""Database tables, typed with SQLAlchemy 2.

Units and directives are copies of the YAML (synced on every run) so that history keeps the names
and texts as they were when a message went out. Every outgoing message is a row before it is sent.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from followup.domain.states import IncomingStatus, MessageKind, MessageStatus, SubmissionStatus


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware datetimes out, stored as UTC (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the Clock of followup.domain.clock")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class StateColumn(TypeDecorator[E]):
    """A state kept as its string, read back as its enum, so no layer compares bare strings."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[E]):
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map = {
        dt.datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


class UnitRow(Base):
    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    emails: Mapped[list[str]]
    groups: Mapped[list[str]]
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime]


class DirectiveRow(Base):
    __tablename__ = "directives"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64))
    year: Mapped[int]
    subject: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]


class IssuedNumber(Base):
    """The register of outgoing documents: one number per document, per year and symbol, never reused."""

    __tablename__ = "issued_numbers"
    __table_args__ = (UniqueConstraint("year", "symbol", "number", name="uq_issued_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    symbol: Mapped[str] = mapped_column(String(64))
    number: Mapped[int]
    directive_code: Mapped[str] = mapped_column(ForeignKey("directives.code"))
    purpose: Mapped[str] = mapped_column(String(32))  # "directive", later "follow-up"
    issued_at: Mapped[dt.datetime]

    @property
    def label(self) -> str:
        return f"{self.number}/{self.symbol}"


class Dispatch(Base):
    """The issue of a directive's letter: numbered and rendered once, then sent to every unit.

    One per directive (a unique index): two runs at once cannot number it twice."""

    __tablename__ = "dispatches"
    __table_args__ = (Index("uq_dispatches_directive_code", "directive_code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_code: Mapped[str] = mapped_column(ForeignKey("directives.code"))
    number_id: Mapped[int] = mapped_column(ForeignKey("issued_numbers.id"), unique=True)
    issued_on: Mapped[dt.date]
    letter_path: Mapped[str] = mapped_column(Text)
    letter_sha256: Mapped[str] = mapped_column(String(64))
    signed_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]

    number: Mapped[IssuedNumber] = relationship(lazy="joined")


class OutgoingMessage(Base):
    """A message we send: a row with a stable Message-ID before sending, its outcome after."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (Index("ix_outgoing_dispatch_unit", "dispatch_id", "unit_code", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"))
    directive_code: Mapped[str | None] = mapped_column(ForeignKey("directives.code"))
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[MessageKind] = mapped_column(StateColumn(MessageKind))
    recipients: Mapped[list[str]]
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(StateColumn(MessageStatus), default=MessageStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    incoming_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_messages.id"), index=True)  # answers
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the run sending it, until claimed_until
    claimed_until: Mapped[dt.datetime | None]


class IncomingMessage(Base):
    """A message as received: its original bytes are on disk (``raw_path``) before anything reads them."""

    __tablename__ = "incoming_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # imap, maildir, hand
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)  # Message-ID, else content hash
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    raw_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int]
    from_addr: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime]  # the moment that counts for "on time"
    collected_at: Mapped[dt.datetime]
    status: Mapped[IncomingStatus] = mapped_column(
        StateColumn(IncomingStatus), default=IncomingStatus.STORED, index=True
    )
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the run interpreting it, until claimed_until
    claimed_until: Mapped[dt.datetime | None]


class Submission(Base):
    """One reply to one requirement: a form found in a message (or recorded by hand), matched and checked.

    ``unit_code``/``requirement_code`` are empty while it waits in triage. Rejected and superseded
    submissions stay: the history of what a unit sent is never rewritten.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submission_slot", "directive_code", "requirement_code", "period", "unit_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incoming_id: Mapped[int] = mapped_column(ForeignKey("incoming_messages.id"), index=True)
    attachment_name: Mapped[str | None] = mapped_column(Text)
    attachment_path: Mapped[str | None] = mapped_column(Text)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    directive_code: Mapped[str | None] = mapped_column(String(100))
    requirement_code: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    status: Mapped[SubmissionStatus] = mapped_column(StateColumn(SubmissionStatus))
    reason: Mapped[str | None] = mapped_column(Text)  # why it waits in triage or was discarded
    evidence: Mapped[list[str]]
    problems: Mapped[list[dict[str, Any]]]
    summary: Mapped[dict[str, Any]]  # counts only: safe to show leadership
    content: Mapped[dict[str, Any]]  # report figures and narrative
    decided_at: Mapped[dt.datetime]
    decided_by: Mapped[str] = mapped_column(String(32), default="auto")


class ChildRecord(Base):
    """A row of a children list. Personal and sensitive: stays in the store and the officers' files."""

    __tablename__ = "child_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    source_row: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    birth_date: Mapped[dt.date | None]
    sex: Mapped[str | None] = mapped_column(String(16))
    ethnicity: Mapped[str | None] = mapped_column(String(100))
    village: Mapped[str | None] = mapped_column(String(300))
    carer: Mapped[str | None] = mapped_column(String(300))
    groups: Mapped[list[str]]
    difficult: Mapped[bool | None]
    support: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Reminder(Base):
    """What was done about a unit (or a whole requirement) still owing a reply: once per slot and step.

    ``step`` is a reminder step ("-7", "0", "+3"), or "letter" (the công văn đôn đốc, ``unit_code`` "") or
    "escalation" (leadership told, ``unit_code`` ""). The unique key makes a second run of the day a no-op."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("directive_code", "requirement_code", "period", "unit_code", "step", name="uq_reminder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_code: Mapped[str] = mapped_column(ForeignKey("directives.code"))
    requirement_code: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_messages.id"))
    number_id: Mapped[int | None] = mapped_column(ForeignKey("issued_numbers.id"))
    letter_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]

    number: Mapped[IssuedNumber | None] = relationship(lazy="joined")


class ReportRow(Base):
    """The district's compiled report of a directive for a period: numbered once, rewritten on each run."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("directive_code", "period", name="uq_report_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_code: Mapped[str] = mapped_column(ForeignKey("directives.code"))
    period: Mapped[str] = mapped_column(String(16))
    number_id: Mapped[int] = mapped_column(ForeignKey("issued_numbers.id"), unique=True)
    issued_on: Mapped[dt.date]
    paths: Mapped[dict[str, Any]]  # what the last run wrote: report, pdf, annex, restricted, chart
    created_at: Mapped[dt.datetime]
    compiled_at: Mapped[dt.datetime]

    number: Mapped[IssuedNumber] = relationship(lazy="joined")
