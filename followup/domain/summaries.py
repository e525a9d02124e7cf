"""Typed summaries of a read reply: what the store keeps, an acknowledgement shows, and a cross-check compares.

A list's summary holds counts only, never a child's name or circumstance, so it may reach leadership and
e-mail. The JSON shapes are those the store has always held, so summaries written before read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class ListSummary:
    """What a list of children counts: its rows, those in special / difficult circumstances, and each group."""

    rows: int
    special: int
    difficult: int
    by_group: dict[str, int] = field(default_factory=dict)

    #: The counts a directive may compare with a report's indicator (``cross_checks: equals:``).
    COUNTS: ClassVar[tuple[str, ...]] = ("rows", "special", "difficult")

    def count(self, name: str) -> int:
        """One of COUNTS by name (KeyError otherwise; the configuration check names the valid ones)."""
        return {"rows": self.rows, "special": self.special, "difficult": self.difficult}[name]

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "special": self.special, "difficult": self.difficult, "by_group": self.by_group}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListSummary:
        by_group = {str(group): int(n) for group, n in (data.get("by_group") or {}).items()}
        return cls(int(data["rows"]), int(data["special"]), int(data["difficult"]), by_group)

    def answer_lines(self) -> list[str]:
        """What an acknowledgement says of an accepted list."""
        return [
            f"Đã đọc {self.rows} dòng: {self.special} trẻ em có hoàn cảnh đặc biệt, "
            f"{self.difficult} trẻ em có hoàn cảnh khó khăn."
        ]


@dataclass(frozen=True)
class ReportSummary:
    """A report's indicator values (None: not given) and its narrative by section (ket_qua, kho_khan, de_xuat)."""

    values: dict[str, int | None]
    narrative: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "narrative": self.narrative}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportSummary:
        """Also reads ``{"values": ...}`` alone, as the counts-only summary column holds it."""
        values = {str(code): None if value is None else int(value) for code, value in data["values"].items()}
        narrative = {str(key): str(text) for key, text in (data.get("narrative") or {}).items()}
        return cls(values, narrative)

    def answer_lines(self) -> list[str]:
        """What an acknowledgement says of an accepted report."""
        filled = sum(1 for value in self.values.values() if value is not None)
        return [f"Đã đọc {filled}/{len(self.values)} chỉ tiêu số liệu."]


def summary_from_json(data: dict[str, Any]) -> ListSummary | ReportSummary | None:
    """The summary a stored JSON holds; None for a reply that was never read (unreadable, triage)."""
    if "rows" in data:
        return ListSummary.from_json(data)
    if "values" in data:
        return ReportSummary.from_json(data)
    return None
