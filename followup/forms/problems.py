"""Problems found in a returned form, located so a unit can fix them without calling the district.

A problem locates a cell, never quotes it: a list holds children's names and circumstances, which must
not reach logs or e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong in a returned form, located by sheet/table, row and column, never by its content."""

    sheet: str | None
    row: int | None
    column: str | None
    field: str | None
    message_vi: str
    severity: Severity = "error"
    title: str | None = None  # the column's title as the form prints it, when the field is a column

    @classmethod
    def whole(cls, message_vi: str, severity: Severity = "error", field: str | None = None) -> FormProblem:
        """A problem of the form as a whole (no sheet, row or column to point at)."""
        return cls(None, None, None, field, message_vi, severity)

    @property
    def location_vi(self) -> str:
        parts = []
        if self.sheet:
            parts.append(self.sheet)
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column:
            parts.append(f"cột {self.column}" + (f" ({self.title})" if self.title else ""))
        elif self.title:
            parts.append(f"cột {self.title}")
        return ", ".join(parts)

    def __str__(self) -> str:
        label = "Lỗi" if self.severity == "error" else "Lưu ý"
        where = self.location_vi
        return f"{label} ({where}): {self.message_vi}" if where else f"{label}: {self.message_vi}"


@dataclass
class Reading:
    """What was read, with its problems; only errors make a form unacceptable."""

    problems: list[FormProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FormProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def problems_text(problems: Iterable[FormProblem]) -> str:
    """All problems as lines for a reply e-mail; safe because problems never quote cell content."""
    return "\n".join(f"- {p}" for p in problems)


def problem_record(problem: FormProblem) -> dict[str, Any]:
    """How a problem is kept in the store: location and message, never the cell's content."""
    return {"where": problem.location_vi, "message": problem.message_vi, "severity": problem.severity}
