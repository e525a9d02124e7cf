"""Compiling the replies of a period into the district's report: totals, per unit, by group and commune,
narratives attributed to their units, and how complete and timely the reporting was.

Pure functions: the service hands in the accepted replies (counts and narratives, never a child's row), the
expected units and their reporting states; these give a typed ``Compilation`` that the documents, the chart
and the leadership summary print. Only the latest accepted reply of a unit counts; a superseded one never
reaches here.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal, format_percent

from followup.domain.config import Directive, Requirement
from followup.domain.periods import Period
from followup.domain.special_groups import SPECIAL_GROUPS
from followup.domain.states import UnitState
from followup.domain.summaries import ListSummary, ReportSummary, summary_from_json
from followup.domain.tracking import SlotStatus

SECTIONS = ("ket_qua", "kho_khan", "de_xuat")  # a report's narrative, as the periodic report form reads it
REDACTED = "[đã ẩn tên]"
NO_PREVIOUS = "chưa có số liệu cùng kỳ"
_LOCALE = "vi_VN"


# --------------------------------------------------------------------------- numbers as Vietnamese write them


def vn_number(value: int | None) -> str:
    """1.234.567 (Babel, vi_VN); "—" for a value nobody gave."""
    return "—" if value is None else format_decimal(value, locale=_LOCALE)


def vn_percent(rate: float) -> str:
    """57,1% (Babel, vi_VN)."""
    return format_percent(rate, format="#,##0.0%", locale=_LOCALE)


def vn_change(change: int | None) -> str:
    """The change from the same period of last year: "tăng 12", "giảm 3", "không đổi", or that there is none."""
    if change is None:
        return NO_PREVIOUS
    if change == 0:
        return "không đổi so với cùng kỳ"
    return f"{'tăng' if change > 0 else 'giảm'} {vn_number(abs(change))} so với cùng kỳ"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str


@dataclass(frozen=True)
class Reply:
    """One accepted reply as the compilation needs it: its counts (``summary``) and narrative (``content``)."""

    unit: str
    received_at: dt.datetime
    summary: Mapping[str, Any]
    content: Mapping[str, Any] = field(default_factory=dict)


def latest_per_unit(replies: Iterable[Reply]) -> dict[str, Reply]:
    """The latest accepted reply of each unit (by the moment it was received)."""
    out: dict[str, Reply] = {}
    for reply in sorted(replies, key=lambda r: r.received_at):
        out[reply.unit] = reply
    return out


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class IndicatorTotal:
    code: str
    label: str
    unit: str
    item: int | None
    total: int
    reported: int  # units whose accepted reply gives a value
    expected: int
    previous: int | None  # the same period of last year, when it was compiled from replies

    @property
    def partial(self) -> bool:
        return self.reported < self.expected

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.total - self.previous


@dataclass(frozen=True)
class UnitFigures:
    code: str
    name: str
    state: UnitState
    values: Mapping[str, int | None]  # empty: no accepted reply


@dataclass(frozen=True)
class Attributed:
    unit: str  # the office's name
    text: str


@dataclass(frozen=True)
class CommuneChildren:
    code: str
    name: str
    listed: bool  # its list was accepted
    rows: int
    special: int
    difficult: int
    by_group: Mapping[str, int]


@dataclass(frozen=True)
class Completeness:
    """DHIS2's completeness of one requirement and period, with the offices that are late or missing."""

    requirement: str
    title: str
    period: str
    due_date: dt.date
    expected: int
    accepted: int
    on_time: int
    late: int
    rejected: int
    pending: int
    missing: int
    reporting_rate: float
    on_time_rate: float
    late_units: tuple[str, ...]  # accepted after the deadline
    missing_units: tuple[str, ...]  # nothing accepted yet (missing, rejected or waiting for the clerk)

    @property
    def complete(self) -> bool:
        return self.accepted == self.expected


@dataclass(frozen=True)
class Compilation:
    directive: str
    period: Period
    requirement: str  # the report requirement compiled
    as_of: dt.datetime
    indicators: list[IndicatorTotal]
    units: list[UnitFigures]
    narratives: dict[str, list[Attributed]]
    children: list[CommuneChildren] | None  # None: the directive counts no list for this year
    by_group: dict[str, int]
    completeness: list[Completeness]  # the report first, then the list
    has_previous: bool

    @property
    def report(self) -> Completeness:
        return self.completeness[0]

    @property
    def partial(self) -> bool:
        return not self.report.complete

    @property
    def list_completeness(self) -> Completeness | None:
        return self.completeness[1] if len(self.completeness) > 1 else None

    @property
    def children_total(self) -> tuple[int, int, int]:
        kids = self.children or []
        return sum(c.rows for c in kids), sum(c.special for c in kids), sum(c.difficult for c in kids)

    def counts(self) -> dict[str, Any]:
        """Counts only (no office's or person's name): the Prefect artifact, the logs, the tests."""
        rows, special, difficult = self.children_total
        return {
            "directive": self.directive,
            "period": str(self.period),
            "partial": self.partial,
            "indicators": {i.code: i.total for i in self.indicators},
            "children": {"rows": rows, "special": special, "difficult": difficult, "by_group": dict(self.by_group)},
            "completeness": [
                {
                    "requirement": c.requirement,
                    "expected": c.expected,
                    "accepted": c.accepted,
                    "on_time": c.on_time,
                    "late": c.late,
                    "missing": len(c.missing_units),
                    "reporting_rate": round(c.reporting_rate, 4),
                    "on_time_rate": round(c.on_time_rate, 4),
                }  # fmt: skip
                for c in self.completeness
            ],
        }


# --------------------------------------------------------------------------- the compilation


def totals(requirement: Requirement, replies: Mapping[str, Reply]) -> dict[str, tuple[int, int]]:
    """Indicator code -> (sum, units that gave a value) over the replies given."""
    out: dict[str, tuple[int, int]] = {}
    for indicator in requirement.indicators:
        values = [v for v in (_values(r).get(indicator.code) for r in replies.values()) if v is not None]
        out[indicator.code] = (sum(values), len(values))
    return out


def _values(reply: Reply) -> dict[str, int | None]:
    summary = summary_from_json(dict(reply.summary))
    return dict(summary.values) if isinstance(summary, ReportSummary) else {}


def completeness(slot: SlotStatus, title: str, names: Mapping[str, str]) -> Completeness:
    c = slot.counts()
    accepted = (UnitState.ON_TIME, UnitState.LATE)
    return Completeness(
        requirement=slot.requirement, title=title, period=slot.period, due_date=slot.due_date,
        expected=c["expected"], accepted=c["accepted"], on_time=c["on_time"], late=c["late"],
        rejected=c["rejected"], pending=c["pending"], missing=c["missing"],
        reporting_rate=slot.reporting_rate, on_time_rate=slot.on_time_rate,
        late_units=tuple(names.get(u.unit, u.unit) for u in slot.units if u.state == UnitState.LATE),
        missing_units=tuple(names.get(u.unit, u.unit) for u in slot.units if u.state not in accepted),
    )  # fmt: skip


_WORD = re.compile(r"\w+")
try:  # the letters re.IGNORECASE matches beyond their lowercase ("i" and "ı", "s" and "ſ", Greek, Cyrillic)
    from re._casefix import _EXTRA_CASES as _CASEFIX  # type: ignore[import-not-found]
except ImportError:  # another Python: every name is tried on every text (exact, only slower)
    _CASEFIX = None


def _fold_table() -> tuple[dict[int, str], frozenset[str]]:
    """Each extra case class of re mapped to one of its letters; the letters of a class with a character that
    is not a word character (a name holding one is always tried: its words may not be the text's words)."""
    if _CASEFIX is None:
        return {}, frozenset()
    classes: list[set[int]] = []
    for key, others in _CASEFIX.items():
        members = {key, *others}
        for joined in [c for c in classes if c & members]:
            members |= joined
            classes.remove(joined)
        classes.append(members)
    table = {m: chr(min(c)) for c in classes for m in c}
    odd = frozenset(chr(m) for c in classes if any(not _WORD.fullmatch(chr(x)) for x in c) for m in c)
    return table, odd


_FOLD, _ODD = _fold_table()


def _fold(word: str) -> str:
    """A word as re.IGNORECASE compares it: simple lowercase (İ -> i, not i + dot), extra cases merged."""
    return word.replace("İ", "i").lower().translate(_FOLD)


class Redactor:
    """Every listed child's full name replaced in a text (any case, composed or not) by REDACTED.

    Made once for a compilation: the names are normalised, deduplicated and ordered (longest first) once, and
    a name's pattern is tried on a text only when each of its words is a word of the text as re.IGNORECASE
    compares them (otherwise the pattern cannot match). The names are indexed by their rarest word, so a text
    looks up its own words instead of going through every name. The result is that of trying every name in
    turn.
    """

    def __init__(self, names: Iterable[str]):
        unique = {unicodedata.normalize("NFC", n).strip() for n in names if n and n.strip()}
        self._names = sorted(unique, key=len)[::-1]
        always = _CASEFIX is None
        self._keys = [
            None if always or any(ch in _ODD for ch in name) else {_fold(w) for w in _WORD.findall(name)}
            for name in self._names
        ]
        frequency = Counter(word for keys in self._keys if keys for word in keys)
        self._always = [i for i, keys in enumerate(self._keys) if not keys]  # tried on every text
        self._by_word: dict[str, list[int]] = {}
        for i, keys in enumerate(self._keys):
            if keys:
                self._by_word.setdefault(min(keys, key=lambda w: (frequency[w], w)), []).append(i)
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._redacted = {_fold(w) for w in _WORD.findall(REDACTED)}  # a name may match inside an earlier one

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        if not self._names:
            return text
        words = {_fold(w) for w in _WORD.findall(text)} | self._redacted
        candidates = set(self._always).union(*(self._by_word.get(word, ()) for word in words))
        for i in sorted(candidates):  # the order of the names: longest first
            name, keys = self._names[i], self._keys[i]
            if keys is not None and not keys <= words:
                continue
            pattern = self._patterns.get(name)
            if pattern is None:
                body = r"\s+".join(re.escape(part) for part in name.split())
                pattern = self._patterns[name] = re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)
            text = pattern.sub(REDACTED, text)
        return text


def redact(text: str, names: Iterable[str]) -> str:
    """A narrative with every listed child's full name replaced (any case, composed or not)."""
    return Redactor(names)(text)


def compile_period(
    directive: Directive,
    period: Period,
    requirement: Requirement,
    units: Sequence[UnitInfo],
    replies: Iterable[Reply],
    report_status: SlotStatus,
    *,
    as_of: dt.datetime,
    list_requirement: Requirement | None = None,
    lists: Iterable[Reply] = (),
    list_status: SlotStatus | None = None,
    list_units: Sequence[UnitInfo] = (),
    previous: Iterable[Reply] | None = None,
    private_names: Iterable[str] = (),
) -> Compilation:
    """The report of one period from the accepted replies of its report requirement (and of the list that
    counts for its year): ``units`` are the units expected to report, in the order the report lists them."""
    names = {u.code: u.name for u in [*units, *list_units]}
    expected = {u.code for u in units}
    latest = {code: r for code, r in latest_per_unit(replies).items() if code in expected}
    states = {u.unit: u.state for u in report_status.units}
    summed = totals(requirement, latest)
    before = totals(requirement, latest_per_unit(previous)) if previous else None
    indicators = [
        IndicatorTotal(
            code=ind.code,
            label=ind.label,
            unit=ind.unit or "",
            item=ind.item,
            total=summed[ind.code][0],
            reported=summed[ind.code][1],
            expected=len(units),
            previous=before[ind.code][0] if before and before[ind.code][1] else None,
        )  # fmt: skip
        for ind in requirement.indicators
    ]
    per_unit = [
        UnitFigures(
            u.code, u.name, states.get(u.code, UnitState.MISSING), _values(latest[u.code]) if u.code in latest else {}
        )
        for u in units
    ]
    redactor = Redactor(private_names)
    narratives: dict[str, list[Attributed]] = {key: [] for key in SECTIONS}
    for u in units:
        reply = latest.get(u.code)
        texts = (reply.content.get("narrative") or {}) if reply else {}
        for key in SECTIONS:
            text = str(texts.get(key) or "").strip()
            if text:
                narratives[key].append(Attributed(u.name, redactor(text)))

    completeness_rows = [completeness(report_status, requirement.title, names)]
    children: list[CommuneChildren] | None = None
    by_group: dict[str, int] = dict.fromkeys(SPECIAL_GROUPS, 0)
    if list_requirement is not None and list_status is not None:
        listed = {code: r for code, r in latest_per_unit(lists).items() if code in {u.code for u in list_units}}
        children = []
        for u in list_units:
            summary = summary_from_json(dict(listed[u.code].summary)) if u.code in listed else None
            if isinstance(summary, ListSummary):
                groups = {g: summary.by_group.get(g, 0) for g in SPECIAL_GROUPS}
                children.append(CommuneChildren(u.code, u.name, True, summary.rows, summary.special,
                                                summary.difficult, groups))  # fmt: skip
                for group, n in groups.items():
                    by_group[group] += n
            else:
                children.append(CommuneChildren(u.code, u.name, False, 0, 0, 0, dict.fromkeys(SPECIAL_GROUPS, 0)))
        completeness_rows.append(completeness(list_status, list_requirement.title, names))
    return Compilation(
        directive=directive.code, period=period, requirement=requirement.code, as_of=as_of,
        indicators=indicators, units=per_unit, narratives=narratives, children=children, by_group=by_group,
        completeness=completeness_rows, has_previous=before is not None,
    )  # fmt: skip


# --------------------------------------------------------------------------- the period's words


def next_period_label(period: Period) -> str:
    """What the report plans for: the second half after the first, the next year after a year."""
    return f"6 tháng cuối năm {period.year}" if period.half == 1 else f"năm {period.year + 1}"


def previous_period(period: Period) -> Period:
    """The same period of last year ("so với cùng kỳ")."""
    return Period(period.year - 1, period.half)


def summary_markdown(c: Compilation, title: str) -> str:
    """The leadership summary as Prefect markdown: counts only, no office's or person's name."""
    lines = [
        f"# {title}",
        "",
        f"Tính đến {c.as_of:%d/%m/%Y %H:%M}" + (" — **số liệu chưa đầy đủ**" if c.partial else ""),
    ]
    lines += ["", "| Chỉ tiêu | Tổng | Đơn vị báo cáo | So với cùng kỳ |", "| --- | ---: | ---: | --- |"]
    for i in c.indicators:
        lines.append(
            f"| {i.label} ({i.unit}) | {vn_number(i.total)} | {i.reported}/{i.expected} | {vn_change(i.change)} |"
        )
    if c.children is not None:
        rows, special, difficult = c.children_total
        lines += ["", f"Danh sách trẻ em: {vn_number(rows)} trẻ, {vn_number(special)} có hoàn cảnh đặc biệt, "
                      f"{vn_number(difficult)} có hoàn cảnh khó khăn."]  # fmt: skip
        lines += ["", "| Nhóm (Luật Trẻ em, điều 10) | Số trẻ |", "| --- | ---: |"]
        lines += [f"| {g}) {SPECIAL_GROUPS[g]} | {vn_number(n)} |" for g, n in c.by_group.items()]
    lines += ["", "| Yêu cầu | Dự kiến | Đã nhận | Đúng hạn | Trễ hạn | Chưa nhận | Tỷ lệ | Tỷ lệ đúng hạn |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for k in c.completeness:
        lines.append(
            f"| {k.title} | {k.expected} | {k.accepted} | {k.on_time} | {k.late} | {len(k.missing_units)} | "
            f"{vn_percent(k.reporting_rate)} | {vn_percent(k.on_time_rate)} |"
        )
    return "\n".join(lines) + "\n"
