"""Configuration as data: recipients.yaml, schedules.yaml and directives/*.yaml.

A clerk edits these files, so every problem is reported at once with the file, the path inside it,
the line where it can be found, and what to do about it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml
from cronsim import CronSim, CronSimError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

from followup.domain.form_kinds import FORM_SPECS
from followup.i18n import N_, _


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml when present (the files are read by every command), and a date that is no date (2023-02-30)
    kept as the text written, for validation to name with its line, instead of a bare ValueError."""


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def nfc(text: str) -> str:
    """Vietnamese text arrives composed or decomposed; compare and store it composed."""
    return unicodedata.normalize("NFC", text)


def _text(value: str) -> str:
    value = nfc(value).strip()
    if not value:
        raise ValueError(_("must not be empty"))
    return value


def _single_line(value: str) -> str:
    value = _text(value)
    if "\r" in value or "\n" in value:
        raise ValueError(_("must be on one line (it goes into mail headers and document titles)"))
    return value


def _email(value: str) -> str:
    value = value.strip()
    if not EMAIL_RE.match(value):
        raise ValueError(
            _("{value} is not an e-mail address; write it as name@domain, e.g. ubnd@caoson.example").format(
                value=repr(value)
            )
        )
    return value


def _code(value: str) -> str:
    value = value.strip()
    if not CODE_RE.match(value):
        raise ValueError(
            _("{value} is not a valid code; use letters, digits, '-' or '_' only (e.g. XA-CAOSON)").format(
                value=repr(value)
            )
        )
    return value


Text = Annotated[str, AfterValidator(_text)]
Line = Annotated[str, AfterValidator(_single_line)]
Email = Annotated[str, AfterValidator(_email)]
Code = Annotated[str, AfterValidator(_code)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- recipients.yaml


class UnitKind(StrEnum):
    department = "department"
    commune = "commune"
    town = "town"
    organisation = "organisation"


class Office(_Model):
    parent: Line | None = None
    name: Line
    short_name: Line
    place: Line
    department: Line
    email: Email
    sender_name: Line


class Group(_Model):
    code: Code
    name: Line


class Unit(_Model):
    code: Code
    name: Line
    kind: UnitKind
    emails: list[Email] = Field(min_length=1)
    groups: list[Code] = Field(min_length=1)


class Leader(_Model):
    code: Code
    title: Line
    name: Line | None = None
    email: Email


class DataOfficer(_Model):
    name: Line
    title: Line | None = None
    email: Email


class Recipients(_Model):
    office: Office
    groups: list[Group]
    units: list[Unit] = Field(min_length=1)
    leadership: list[Leader] = []
    data_officers: list[DataOfficer] = []

    @cached_property
    def _by_code(self) -> dict[str, Unit]:
        return {unit.code: unit for unit in self.units}

    def unit(self, code: str) -> Unit:
        """The unit with this code (KeyError if none); a dict look-up, since ten thousand units are usual."""
        return self._by_code[code]

    def group(self, code: str) -> Group:
        for group in self.groups:
            if group.code == code:
                return group
        raise KeyError(code)

    def units_in(self, groups: Iterable[str]) -> list[Unit]:
        wanted = set(groups)
        return [u for u in self.units if wanted.intersection(u.groups)]


# --------------------------------------------------------------------------- schedules.yaml


class ReminderPolicy(_Model):
    """When units that still owe a reply hear from the office, counted in days from the last day to reply."""

    before: list[int] = Field(default=[7, 3, 1], description="days before the last day")
    on_the_day: bool = True
    after: list[int] = Field(default=[1, 3, 7], description="days late")
    then_every: int | None = Field(default=7, ge=1, description="days between reminders after the last step")
    stop_after: int = Field(default=90, ge=1, description="days late after which a period is no longer reminded")
    follow_up_letter_after: int | None = Field(default=7, ge=1, description="days late: the công văn đôn đốc")
    escalate_after: int | None = Field(default=7, ge=1, description="days late: leadership hears of the units")

    @field_validator("before", "after")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if any(day < 1 for day in value):
            raise ValueError(_("{value}: write whole days of 1 or more, e.g. [7, 3, 1]").format(value=value))
        return sorted(set(value))


def _day_off(value: Any) -> Any:
    """A day off as YAML reads 2023-05-02 (a date); anything else is named with the form to write."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        reason = f" ({exc})" if re.match(r"^\d{4}-\d{2}-\d{2}$", str(value).strip()) else ""
        raise ValueError(
            _("{value} is not a date{reason}; write it as yyyy-mm-dd, e.g. 2023-05-02").format(
                value=repr(value), reason=reason
            )
        ) from None


def _cron(cron: str) -> str:
    """Checked by cronsim, so '99 99 * * *' is caught here and not when the scheduler meets it."""
    example = _("e.g. '30 7 * * 1-6' (07:30 Monday to Saturday)")
    fields = len(cron.split())
    if fields != 5:
        raise ValueError(
            _(
                "{cron} is not a cron expression: it has {n} field(s), "
                "write five (minute hour day-of-month month day-of-week), {example}"
            ).format(cron=repr(cron), n=fields, example=example)
        )
    try:
        CronSim(cron, dt.datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(
            _("{cron} is not a valid cron expression ({error}); {example}").format(
                cron=repr(cron), error=exc, example=example
            )
        ) from None
    return cron


DayOff = Annotated[dt.date, BeforeValidator(_day_off)]
Cron = Annotated[Line, AfterValidator(_cron)]  # validated per flow: a mistake is named on its own line


class Schedules(_Model):
    timezone: str = "Asia/Ho_Chi_Minh"
    saturday_is_working_day: bool = False
    days_off: list[DayOff] = Field(default=[], description="extra days off of the office (bridges, local days)")
    flows: dict[str, Cron] = {}
    reminders: ReminderPolicy = ReminderPolicy()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                _("unknown time zone {value}; use an IANA name such as Asia/Ho_Chi_Minh").format(value=repr(value))
            ) from exc
        return value


# --------------------------------------------------------------------------- directives/*.yaml

DEADLINE_RE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\s*$")


@dataclass(frozen=True)
class Deadline:
    """A deadline as the letter states it: once (dd/mm/yyyy) or every year (dd/mm)."""

    day: int
    month: int
    year: int | None  # None: recurs every year

    @classmethod
    def parse(cls, text: str) -> Deadline:
        match = DEADLINE_RE.match(str(text))
        if not match:
            raise ValueError(
                _(
                    "deadline {text} does not parse; write dd/mm/yyyy for a one-off date (20/02/2023) "
                    "or dd/mm for a date that recurs every year (15/05)"
                ).format(text=repr(text))
            )
        day, month, year = int(match[1]), int(match[2]), int(match[3]) if match[3] else None
        try:
            dt.date(year or 2000, month, day)  # 2000 is a leap year: 29/02 is allowed as recurring
        except ValueError as exc:
            raise ValueError(
                _("deadline {text} is not a real date ({error})").format(text=repr(text), error=exc)
            ) from exc
        return cls(day, month, year)

    def __str__(self) -> str:
        return f"{self.day:02d}/{self.month:02d}" + (f"/{self.year}" if self.year else "")


class Indicator(_Model):
    code: Code
    label: Line
    unit: Line | None = None
    #: The directive's item (task, numbered from 1) whose results this indicator measures, for the compiled report.
    item: int | None = Field(default=None, ge=1)


class Rule(_Model):
    """A validation rule between two indicators, DHIS2-style: left op right."""

    left: Code
    op: Literal["<=", "<", ">=", ">", "=="]
    right: Code
    message: Line


DEFAULT_CROSS_CHECK_MESSAGE = (
    "{label}: báo cáo ghi {reported}, nhưng danh sách đã gửi có {listed}. Vui lòng kiểm tra lại số liệu hoặc danh sách."
)


class CrossCheck(_Model):
    """An indicator of a report that must equal a count of a list the same unit sent for the same year.

    ``of`` names the list's requirement and ``equals`` one of its counts (checked against the form kinds, with
    the rest of the directive); ``message`` may use {reported}, {listed} and {label} (the indicator's label).
    """

    indicator: Code
    equals: Code
    of: Code
    message: Line = DEFAULT_CROSS_CHECK_MESSAGE

    @field_validator("message")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            value.format(reported=0, listed=0, label="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                _("the message may use only {reported}, {listed} and {label}; write other braces as {{ and }}")
            ) from exc
        return value


class Requirement(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    code: Code
    title: Line
    from_groups: list[Code] = Field(min_length=1)
    form: str
    deadline: Deadline
    before: bool = False
    period: Literal["year", "H1"] = "year"
    item: int | None = None
    indicators: list[Indicator] = []
    rules: list[Rule] = []
    cross_checks: list[CrossCheck] = []
    #: Replies count for a period from this many days before its due date; an earlier one reports on a period
    #: that is not over, and is flagged to the clerk and the unit. None: any time.
    window_days: int | None = Field(default=None, ge=1, le=366)

    @field_validator("form")
    @classmethod
    def _registered_form(cls, value: str) -> str:
        kinds = FORM_SPECS
        if value not in kinds:
            raise ValueError(
                _("unknown form {value}; the known forms are: {known}").format(
                    value=repr(value), known=", ".join(kinds)
                )
            )
        return value

    @field_validator("deadline", mode="before")
    @classmethod
    def _parse_deadline(cls, value: Any) -> Deadline:
        if isinstance(value, Deadline):
            return value
        if isinstance(value, dt.date):  # YAML reads 2023-02-20 as a date
            return Deadline(value.day, value.month, value.year)
        return Deadline.parse(str(value))

    @field_serializer("deadline")
    def _deadline_as_written(self, deadline: Deadline) -> str:
        """As the letter writes it, which ``_parse_deadline`` reads back (the JSON cache relies on it)."""
        return str(deadline)

    @property
    def recurring(self) -> bool:
        return self.deadline.year is None


class Signer(_Model):
    authority: list[Line] = Field(min_length=1)
    name: Line


class Distribution(_Model):
    heading: Line | None = None
    lines: list[Line] = Field(min_length=1)


class FollowUp(_Model):
    """The wording of the công văn đôn đốc. Placeholders: {kind}, {number}, {issued_on}, {subject}, {title},
    {period}, {deadline}, {new_deadline}. {title} leaves out the words its end shares with {period} ("báo cáo
    ... 6 tháng đầu năm" and "6 tháng đầu năm 2023"): write "{title} {period}". {new_deadline} is the working
    day after the ``extra_days`` working days the letter gives: write "trước ngày {new_deadline}"."""

    subject: Line = "V/v đôn đốc thực hiện {title} {period}"
    opening: Text = (
        "Ngày {issued_on}, Ủy ban nhân dân huyện ban hành {kind} số {number} V/v {subject}, trong đó đề nghị các "
        "cơ quan, đơn vị gửi {title} {period} {deadline}. Đến nay, các cơ quan, đơn vị sau chưa gửi hoặc gửi "
        "chưa đạt yêu cầu:"
    )
    closing: Text = (
        "Ủy ban nhân dân huyện đề nghị các cơ quan, đơn vị nêu trên khẩn trương hoàn thành và gửi về Ủy ban nhân "
        "dân huyện (qua Phòng Lao động - Thương binh và Xã hội) trước ngày {new_deadline}./."
    )
    extra_days: int = Field(default=5, ge=1, description="working days given by the letter")
    distribution_heading: Line | None = None
    distribution: list[Line] = ["Như trên", "CT, PCT UBND huyện", "Lưu: VT, LĐTBXH"]


class ReportSettings(_Model):
    """How the district's compiled report (a BÁO CÁO, Decree 30 layout) is numbered, addressed and worded.

    Placeholders of ``title``, ``opening`` and ``next_heading``: {period} ("6 tháng đầu năm 2023"), {next_period}
    ("6 tháng cuối năm 2023"); ``opening`` also {kind}, {number}, {issued_on}, {subject} of the directive's letter.
    """

    symbol: Line
    addressee: Line
    title: Line = "Kết quả thực hiện {subject} {period}"
    opening: Text = (
        "Thực hiện {kind} số {number} ngày {issued_on} của Ủy ban nhân dân huyện V/v {subject}, Ủy ban nhân dân "
        "huyện báo cáo kết quả thực hiện {period} như sau:"
    )
    #: the requirement whose list of children is counted by group and commune (its period is the report's year)
    children: Code | None = None
    #: short names of the directive's items, in order, for the headings of "I. Kết quả thực hiện"
    tasks: list[Line] = []
    next_steps: list[Text] = []
    distribution: list[Line] = ["Như trên", "CT, PCT UBND huyện", "Lưu: VT, LĐTBXH"]


class Directive(_Model):
    code: Code
    kind: Line = "Công văn"
    symbol: Line
    year: int = Field(ge=2000, le=2100)
    subject: Line
    subject_lines: list[Line] = []
    addressees: list[Code] = Field(min_length=1)
    opening: Text
    items: list[Text] = Field(min_length=1)
    closing: Text
    signer: Signer
    distribution: Distribution
    requirements: list[Requirement] = []
    follow_up: FollowUp = Field(default_factory=lambda: FollowUp())
    report: ReportSettings | None = None

    @pydantic.model_validator(mode="after")
    def _report_names_what_exists(self) -> Directive:
        report = self.report
        if report is None:
            return self
        if report.children is not None and report.children not in {r.code for r in self.requirements}:
            raise ValueError(
                _("report.children names {code}, which this directive does not ask for").format(
                    code=repr(report.children)
                )
            )
        if report.tasks and len(report.tasks) != len(self.items):
            raise ValueError(
                _("report.tasks has {tasks} names for {items} items; give one per item").format(
                    tasks=len(report.tasks), items=len(self.items)
                )
            )
        for requirement in self.requirements:
            for indicator in requirement.indicators:
                if indicator.item is not None and indicator.item > len(self.items):
                    raise ValueError(
                        _("indicator {code}: item {item} does not exist").format(
                            code=indicator.code, item=indicator.item
                        )
                    )
        return self

    def requirement(self, code: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.code == code:
                return requirement
        raise KeyError(code)


# --------------------------------------------------------------------------- loading and checking


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file, located so the clerk can find it."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line_index(node: yaml.Node, path: tuple = (), index: dict | None = None) -> dict[tuple, int]:
    """Map each path inside a YAML document to its 1-based line number."""
    index = {} if index is None else index
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            key_path = (*path, key.value)
            index[key_path] = key.start_mark.line + 1
            _line_index(value, key_path, index)
            index[key_path] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)
    return index


def _format_path(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class _Loaded:
    data: Any
    text: str
    file: str

    @cached_property
    def lines(self) -> dict[tuple, int]:
        """Line numbers, worked out only when there is a problem to point at (a second parse)."""
        node = yaml.compose(self.text, Loader=_Loader)
        return _line_index(node) if node is not None else {}

    def line(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def problem(self, path: tuple, message: str) -> Problem:
        return Problem(self.file, _format_path(path), message, self.line(path))


def _read_yaml(path: Path, problems: list[Problem]) -> _Loaded | None:
    if not path.exists():
        problems.append(Problem(str(path), "", _("file not found; create it or set FOLLOWUP_CONFIG to its folder")))
        return None
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        line, cause = syntax_error(text, exc)
        problems.append(Problem(str(path), "", _("not valid YAML: {cause}").format(cause=cause), line))
        return None
    return _Loaded(data, text, str(path))


def syntax_error(text: str, exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The line of a YAML syntax error and, for the mistakes people make by hand (a tab for indentation, a
    colon and a space inside a text, a quote or a bracket left open), its cause and fix in plain words."""
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    mark, opened = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    lines = text.splitlines()

    def source(m: Any) -> str:
        return lines[m.line] if m is not None and m.line < len(lines) else ""

    line = mark.line + 1 if mark is not None else None
    if "\t" in re.match(r"^\s*", source(mark))[0] or "tab" in problem:  # type: ignore[index]
        return line, _(
            "this line is indented with a tab; YAML indents with spaces only: replace the tab with spaces, "
            "lined up with the lines above"
        )
    if "quoted scalar" in context and opened is not None:
        quote = source(opened)[opened.column : opened.column + 1] or '"'
        return opened.line + 1, _(
            "the text opened with {quote} on this line is never closed; end it with {quote} where the text ends "
            "(or remove the quote)"
        ).format(quote=quote)
    if problem.startswith("mapping values are not allowed"):
        return line, _(
            "a colon followed by a space inside a text makes YAML read a new field; put the whole text in "
            "double quotes, e.g. {example}"
        ).format(example=_quoted_example(source(mark)))
    if context.startswith(("while parsing a flow sequence", "while parsing a flow mapping")) and opened is not None:
        bracket = source(opened)[opened.column : opened.column + 1] or "["
        closing = {"[": "]", "{": "}"}.get(bracket, "]")
        return opened.line + 1, _(
            "the list opened with {bracket} on this line is never closed; end it with {closing}, and put a text "
            "that holds a comma or a colon in double quotes"
        ).format(bracket=bracket, closing=closing)
    return line, _("{problem}; check the indentation (spaces) of this line and the one above it").format(
        problem=problem
    )


def _quoted_example(source: str) -> str:
    """The line as it should be written: ``title: Báo cáo: kết quả`` becomes ``title: "Báo cáo: kết quả"``."""
    match = re.match(r"^\s*(-\s+)?([^:\s][^:]*):\s+(.*?)\s*$", source)
    if not match:
        return 'title: "Báo cáo: kết quả"'
    dash, key, value = match[1] or "", match[2], match[3].replace('"', '\\"')
    return f'{dash}{key}: "{value}"'


#: pydantic's own words for the mistakes a clerk makes most, in the clerk's language (its ctx fills the braces).
PYDANTIC_WORDS = {
    "missing": N_("is required but missing"),
    "extra_forbidden": N_("is not a known field; check its spelling"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list, e.g. [a, b]"),
    "dict_type": N_("must be a list of name: value lines"),
    "model_type": N_("must be a list of name: value lines"),
    "greater_than_equal": N_("must be {ge} or more"),
    "less_than_equal": N_("must be {le} or less"),
    "literal_error": N_("must be one of: {expected}"),
    "too_short": N_("must have at least {min_length} item(s)"),
}


def _validate(model: type[BaseModel], loaded: _Loaded, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(loaded.data if loaded.data is not None else {})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "string_type" and isinstance(err["input"], dict) and len(err["input"]) == 1:
                [(key, value)] = err["input"].items()
                message = _(
                    "this text holds a colon followed by a space, so YAML read it as a field '{key}'; put the whole "
                    'text in double quotes, e.g. "{key}: {value}"'
                ).format(key=key, value=value)
            elif err["type"] in PYDANTIC_WORDS:
                message = _(PYDANTIC_WORDS[err["type"]]).format(**err.get("ctx", {}))
            problems.append(loaded.problem(loc, message))
        return None


@dataclass(frozen=True)
class Config:
    """Everything the clerk configures, validated together."""

    root: Path
    recipients: Recipients
    schedules: Schedules
    directives: dict[str, Directive]

    @property
    def tz(self) -> dt.tzinfo:
        """The office's time zone (schedules.yaml): every date the product prints or compares is in it."""
        return ZoneInfo(self.schedules.timezone)

    def asking_for(self, requirement: str, directive: str | None = None) -> Directive:
        """The directive that asks for a requirement; ValueError saying what to add when unknown or ambiguous."""
        owners = [d for d in self.directives.values() if any(r.code == requirement for r in d.requirements)]
        if directive:
            owners = [d for d in owners if d.code == directive]
        if len(owners) == 1:
            return owners[0]
        if owners:
            raise ValueError(
                _("requirement {code} is asked by several directives; add --directive").format(code=repr(requirement))
            )
        known = sorted({r.code for d in self.directives.values() for r in d.requirements})
        raise ValueError(
            _("requirement {code} is unknown; known: {known}").format(code=repr(requirement), known=", ".join(known))
        )

    def directive(self, code: str) -> Directive:
        try:
            return self.directives[code]
        except KeyError:
            known = ", ".join(sorted(self.directives)) or _("none")
            raise KeyError(
                _("no directive {code} in {folder}; known: {known}").format(
                    code=repr(code), folder=self.root / "directives", known=known
                )
            ) from None


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of a list field of raw YAML, so cross-checks run even where some entries are invalid."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _strings(item: dict[str, Any], key: str) -> list[tuple[int, str]]:
    value = item.get(key)
    return [(i, str(v)) for i, v in enumerate(value)] if isinstance(value, list) else []


def _group_codes(recipients: _Loaded | None) -> set[str] | None:
    if recipients is None:
        return None
    return {str(g.get("code")) for _, g in _items(recipients.data, "groups")}


def _cross_check_recipients(loaded: _Loaded, problems: list[Problem]) -> None:
    data = loaded.data
    seen_groups: set[str] = set()
    for i, group in _items(data, "groups"):
        if group.get("code") in seen_groups:
            problems.append(
                loaded.problem(
                    ("groups", i, "code"), _("duplicate group code {code}").format(code=repr(group.get("code")))
                )
            )
        seen_groups.add(group.get("code"))  # type: ignore[arg-type]
    group_codes = sorted(str(g) for g in seen_groups)
    seen_units: dict[str, int] = {}
    seen_mail: dict[str, str] = {}
    for i, unit in _items(data, "units"):
        code = str(unit.get("code"))
        if code in seen_units:
            problems.append(
                loaded.problem(
                    ("units", i, "code"),
                    _("duplicate unit code {code} (also units[{other}]); every unit needs its own code").format(
                        code=repr(code), other=seen_units[code]
                    ),
                )
            )
        seen_units.setdefault(code, i)
        for j, group in _strings(unit, "groups"):
            if group not in seen_groups:
                problems.append(
                    loaded.problem(
                        ("units", i, "groups", j),
                        _("unknown group {group}; known groups: {known}").format(
                            group=repr(group), known=", ".join(group_codes)
                        ),
                    )
                )
        for j, email in _strings(unit, "emails"):
            key = email.strip().lower()
            if key in seen_mail and seen_mail[key] != code:
                problems.append(
                    loaded.problem(
                        ("units", i, "emails", j),
                        _("{email} is also the address of {unit}; replies could not be told apart").format(
                            email=email, unit=seen_mail[key]
                        ),
                    )
                )
            seen_mail.setdefault(key, code)


def _cross_check_directive(loaded: _Loaded, groups: set[str] | None, problems: list[Problem]) -> None:
    data = loaded.data if isinstance(loaded.data, dict) else {}
    expected = Path(loaded.file).stem
    if data.get("code") != expected:
        problems.append(
            loaded.problem(
                ("code",),
                _("code {code} differs from the file name; name it {expected}").format(
                    code=repr(data.get("code")), expected=repr(expected)
                ),
            )
        )
    addressees = [a for _, a in _strings(data, "addressees")]
    if groups is not None:
        for i, code in _strings(data, "addressees"):
            if code not in groups:
                problems.append(
                    loaded.problem(
                        ("addressees", i),
                        _("unknown group {group}; known: {known}").format(
                            group=repr(code), known=", ".join(sorted(groups))
                        ),
                    )
                )
    kinds = FORM_SPECS
    forms = {str(req.get("code")): str(req.get("form")) for _, req in _items(data, "requirements")}
    seen: set[str] = set()
    for i, req in _items(data, "requirements"):
        code = req.get("code")
        if code in seen:
            problems.append(
                loaded.problem(("requirements", i, "code"), _("duplicate requirement {code}").format(code=repr(code)))
            )
        seen.add(code)  # type: ignore[arg-type]
        for j, group in _strings(req, "from_groups"):
            if groups is not None and group not in groups:
                problems.append(
                    loaded.problem(
                        ("requirements", i, "from_groups", j),
                        _("requirement {code} asks group {group}, which recipients.yaml does not define").format(
                            code=repr(code), group=repr(group)
                        ),
                    )
                )
            elif group not in addressees:
                problems.append(
                    loaded.problem(
                        ("requirements", i, "from_groups", j),
                        _(
                            "group {group} is asked to reply but is not among the addressees; add it to addressees"
                        ).format(group=repr(group)),
                    )
                )
        indicators = {str(ind.get("code")) for _, ind in _items(req, "indicators")}
        kind = kinds.get(str(req.get("form")))
        if kind is not None and kind.needs_indicators and not indicators:
            problems.append(
                loaded.problem(
                    ("requirements", i, "indicators"),
                    _("a {kind} form needs at least one indicator").format(kind=kind.name),
                )
            )
        for j, check in _items(req, "cross_checks"):
            _cross_check_cross_check(loaded, ("requirements", i, "cross_checks", j), check, indicators, forms, problems)
        for j, rule in _items(req, "rules"):
            for side in ("left", "right"):
                if str(rule.get(side)) not in indicators:
                    problems.append(
                        loaded.problem(
                            ("requirements", i, "rules", j, side),
                            _("rule names indicator {code}, which this requirement does not ask for").format(
                                code=repr(rule.get(side))
                            ),
                        )
                    )


def _cross_check_cross_check(
    loaded: _Loaded,
    path: tuple,
    check: dict[str, Any],
    indicators: set[str],
    forms: dict[str, str],
    problems: list[Problem],
) -> None:
    """A declared list-against-report check must name this requirement's indicator, another requirement of
    the directive, and a count that requirement's form offers."""
    indicator, of, equals = (str(check.get(key)) for key in ("indicator", "of", "equals"))
    if "indicator" in check and indicator not in indicators:
        problems.append(
            loaded.problem(
                (*path, "indicator"),
                _("cross-check names indicator {code}, which this requirement does not ask for; known: {known}").format(
                    code=repr(indicator), known=", ".join(sorted(indicators)) or _("none")
                ),
            )
        )
    if "of" not in check:
        return
    if of not in forms:
        problems.append(
            loaded.problem(
                (*path, "of"),
                _(
                    "cross-check compares with requirement {code}, which this directive does not ask for; "
                    "known: {known}"
                ).format(code=repr(of), known=", ".join(sorted(forms))),
            )
        )
        return
    kind = FORM_SPECS.get(forms[of])
    if kind is None or "equals" not in check:
        return  # an unknown form is reported on the requirement itself
    if not kind.counts:
        problems.append(
            loaded.problem(
                (*path, "of"),
                _("requirement {code} is a {kind} form, which has no counts to compare").format(
                    code=repr(of), kind=kind.name
                ),
            )
        )
    elif equals not in kind.counts:
        problems.append(
            loaded.problem(
                (*path, "equals"),
                _("{count} is not a count of a {kind} form; use one of: {known}").format(
                    count=repr(equals), kind=kind.name, known=", ".join(kind.counts)
                ),
            )
        )


def _config_files(root: Path) -> list[Path]:
    folder = root / "directives"
    directives = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return [root / "recipients.yaml", root / "schedules.yaml", *directives]


class _Validated(_Model):
    """What the cache keeps: pydantic's own JSON of the validated files, read back by validating it again."""

    recipients: Recipients
    schedules: Schedules
    directives: dict[str, Directive]


def _cache_key(root: Path) -> str:
    """Changes with any configuration file, this module's code, the followup version and pydantic's version."""
    from followup import __version__

    key = hashlib.sha256(f"{__version__}\0{pydantic.VERSION}\0{root.resolve()}\0".encode())
    key.update(Path(__file__).read_bytes())
    for path in _config_files(root):
        key.update(b"\0" + str(path).encode() + b"\0" + (path.read_bytes() if path.exists() else b"-"))
    return key.hexdigest()[:32]


def load_config(root: Path, cache: Path | None = None) -> Config:
    """Read and validate every configuration file under ``root``; raise ConfigError listing all problems.

    With ``cache`` (a folder in the data folder), a configuration already validated is read back from
    JSON named by ``_cache_key``: ten thousand units load in a tenth of the time (no YAML, no cross-checks),
    and any edit of a file, of the code or of pydantic makes a new one. The JSON is data, never code: a
    damaged or foreign file fails validation and is rebuilt.
    """
    if cache is None:
        return _load_config(root)
    cached = cache / f"config-{_cache_key(root)}.json"
    with contextlib.suppress(OSError, ValueError):  # missing, unreadable, damaged or foreign: rebuild
        kept = _Validated.model_validate_json(cached.read_bytes())
        return Config(root=root, recipients=kept.recipients, schedules=kept.schedules, directives=kept.directives)
    config = _load_config(root)
    with contextlib.suppress(OSError):  # a read-only data folder only costs speed
        cache.mkdir(parents=True, exist_ok=True)
        for old in [*cache.glob("config-*.json"), *cache.glob("config-*.pickle")]:
            old.unlink(missing_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        validated = _Validated(recipients=config.recipients, schedules=config.schedules, directives=config.directives)
        tmp.write_text(validated.model_dump_json(), encoding="utf-8")
        tmp.replace(cached)
    return config


def _load_config(root: Path) -> Config:
    problems: list[Problem] = []
    recipients = schedules = None

    loaded = _read_yaml(root / "recipients.yaml", problems)
    if loaded:
        recipients = _validate(Recipients, loaded, problems)
        _cross_check_recipients(loaded, problems)

    loaded_s = _read_yaml(root / "schedules.yaml", problems)
    if loaded_s:
        schedules = _validate(Schedules, loaded_s, problems)

    directives: dict[str, Directive] = {}
    folder = root / "directives"
    files = _config_files(root)[2:]
    if not files:
        problems.append(Problem(str(folder), "", _("no directive found; add one file per directive, e.g. 2023-x.yaml")))
    for file in files:
        loaded_d = _read_yaml(file, problems)
        if not loaded_d:
            continue
        directive = _validate(Directive, loaded_d, problems)
        _cross_check_directive(loaded_d, _group_codes(loaded), problems)
        if directive:
            directives[directive.code] = directive

    if problems:
        raise ConfigError(problems)
    assert recipients is not None and schedules is not None
    return Config(root=root, recipients=recipients, schedules=schedules, directives=directives)


def locate(file: Path, path: tuple, message: str) -> Problem:
    """A problem found outside the validation of ``file`` (e.g. a flow schedules.yaml names that does not
    exist), pointed at its line like every other problem."""
    loaded = _read_yaml(file, [])
    return loaded.problem(path, message) if loaded else Problem(str(file), _format_path(path), message)
