"""The e-mail bodies the clerk edits, and the typed context each kind of message gives them.

Each kind of message (``MessageKind``) has ``templates/email/<kind>.txt`` and ``.html`` and one context
model here; ``followup check`` renders every template with an example of its context, so a misspelt
variable is found before a unit receives a blank.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

import jinja2
from jinja2 import meta
from pydantic import BaseModel, ConfigDict

from followup.domain.states import MessageKind
from followup.i18n import _


class MailBody(BaseModel):
    """The context of one kind of message: what its templates may use."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[MessageKind]


class MailContext(MailBody):
    """What every message to a unit shows: who writes to whom, and the tag that keeps a reply in its thread."""

    unit_name: str
    office_name: str
    office_department: str
    tag: str


_COMMON = {
    "unit_name": "Ủy ban nhân dân xã Cao Sơn",
    "office_name": "UBND huyện Bạch Thông",
    "office_department": "Phòng Lao động - Thương binh và Xã hội",
    "tag": "[FU:2023-child-protection:XA-CAOSON]",
}


class RequestItem(BaseModel):
    title: str
    deadline: str
    filename: str


class DirectiveMail(MailContext):
    """The letter of a directive and the forms a unit must return."""

    kind: ClassVar[MessageKind] = MessageKind.DIRECTIVE
    document_kind: str
    number: str
    issued_on: str
    subject: str
    requests: list[RequestItem]

    @classmethod
    def example(cls) -> DirectiveMail:
        item = RequestItem(title="Danh sách trẻ em", deadline="chậm nhất ngày 20/02/2023", filename="Danh sach.xlsx")
        return cls(
            **_COMMON, document_kind="Công văn", number="12/UBND-LĐTBXH", issued_on="06/02/2023",
            subject="thực hiện công tác trẻ em", requests=[item],
        )  # fmt: skip


class AnswerItem(BaseModel):
    heading: str
    lines: list[str]
    rejected: bool


class AnswerMail(MailContext):
    """The answer to a reply: accepted with what was read, or every problem and how to fix it."""

    kind: ClassVar[MessageKind] = MessageKind.ANSWER
    received: str
    by_hand: bool  # recorded by the clerk from paper: the unit did not write an e-mail
    items: list[AnswerItem]
    any_rejected: bool

    @classmethod
    def example(cls) -> AnswerMail:
        item = AnswerItem(heading="Danh sách trẻ em (năm 2023): ĐÃ TIẾP NHẬN", lines=["Đã đọc 3 dòng."], rejected=False)
        return cls(**_COMMON, received="09:30 ngày 13/02/2023", by_hand=False, items=[item], any_rejected=False)


class ReminderItem(BaseModel):
    title: str
    period: str  # "6 tháng đầu năm 2023"
    deadline: str  # "trước ngày 15/05/2023"
    remaining: str  # "còn 3 ngày", "hôm nay là hạn cuối", "đã quá hạn 2 ngày"
    late: bool
    problems: list[str]  # of the unit's rejected reply, still to fix
    filename: str  # its form, attached again


class ReminderMail(MailContext):
    """One message a day to a unit that still owes something: every reply owed, and how to send it."""

    kind: ClassVar[MessageKind] = MessageKind.REMINDER
    items: list[ReminderItem]
    any_late: bool
    follow_up_letter: str  # the number of a công văn đôn đốc attached, or ""

    @classmethod
    def example(cls) -> ReminderMail:
        item = ReminderItem(
            title="Danh sách trẻ em", period="năm 2023", deadline="chậm nhất ngày 20/02/2023",
            remaining="còn 3 ngày", late=False, problems=["Dòng 8, cột Nhóm: chọn một nhóm trong danh sách."],
            filename="Danh sach.xlsx",
        )  # fmt: skip
        return cls(**_COMMON, items=[item], any_late=False, follow_up_letter="")


class LateSlot(BaseModel):
    title: str
    period: str
    deadline: str
    days_late: int
    expected: int
    accepted: int
    late_units: list[str]  # names of offices, never of people


class EscalationMail(MailBody):
    """Leadership's summary of the units late beyond the threshold: counts and office names only."""

    kind: ClassVar[MessageKind] = MessageKind.ESCALATION
    office_name: str
    office_department: str
    as_of: str
    slots: list[LateSlot]
    letters: list[str]  # numbers of the công văn đôn đốc attached

    @classmethod
    def example(cls) -> EscalationMail:
        slot = LateSlot(
            title="Danh sách trẻ em", period="năm 2023", deadline="chậm nhất ngày 20/02/2023", days_late=7,
            expected=14, accepted=10, late_units=["Ủy ban nhân dân xã Quân Hà"],
        )  # fmt: skip
        return cls(
            office_name=_COMMON["office_name"], office_department=_COMMON["office_department"],
            as_of="27/02/2023", slots=[slot], letters=["15/UBND-LĐTBXH"],
        )  # fmt: skip


class Figure(BaseModel):
    label: str
    value: str  # "1.234 trẻ", as Vietnamese write numbers
    change: str  # "tăng 12 so với cùng kỳ", or "chưa có số liệu cùng kỳ"
    partial: bool  # not every unit reported it


class ReportingLine(BaseModel):
    title: str
    period: str
    expected: int
    accepted: int
    on_time: int
    rate: str  # "57,1%"
    on_time_rate: str
    late_units: list[str]  # names of offices, never of people
    missing_units: list[str]


class SummaryMail(MailBody):
    """The compiled report of a period: to leadership the key figures (counts only) and the chart, the report
    attached; to the data officers (``for_officers``) the same, with the annex and the restricted list."""

    kind: ClassVar[MessageKind] = MessageKind.SUMMARY
    office_name: str
    office_department: str
    title: str
    number: str  # "3/BC-UBND"
    as_of: str
    partial: bool
    figures: list[Figure]
    children: str  # one sentence of counts, or ""
    comparison: str  # "" when there are figures of the same period last year, else "chưa có số liệu cùng kỳ"
    reporting: list[ReportingLine]
    chart_cid: str  # the chart shown inline in the HTML body, or ""
    attachments: list[str]
    for_officers: bool

    @classmethod
    def example(cls) -> SummaryMail:
        figure = Figure(label="Số trẻ em có hoàn cảnh đặc biệt", value="1.234 trẻ", change="chưa có số liệu cùng kỳ",
                        partial=True)  # fmt: skip
        line = ReportingLine(
            title="Báo cáo 6 tháng", period="2023-H1", expected=36, accepted=30, on_time=28, rate="83,3%",
            on_time_rate="77,8%", late_units=["Ủy ban nhân dân xã Vũ Muộn"],
            missing_units=["Ủy ban nhân dân xã Quân Hà"],
        )  # fmt: skip
        return cls(
            office_name=_COMMON["office_name"], office_department=_COMMON["office_department"],
            title="Kết quả thực hiện công tác bảo vệ, chăm sóc trẻ em 6 tháng đầu năm 2023", number="3/BC-UBND",
            as_of="16/05/2023", partial=True, figures=[figure], children="120 trẻ em trong danh sách",
            comparison="chưa có số liệu cùng kỳ", reporting=[line], chart_cid="chart", attachments=["Báo cáo.docx"],
            for_officers=False,
        )  # fmt: skip


CONTEXTS: dict[MessageKind, type[MailBody]] = {
    c.kind: c for c in (DirectiveMail, AnswerMail, ReminderMail, EscalationMail, SummaryMail)
}


@cache
def _environment(folder: Path) -> jinja2.Environment:
    """HTML bodies are escaped, plain text is not; an unknown variable is an error, never a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(folder: Path, context: MailBody) -> tuple[str, str]:
    """The plain-text and HTML bodies of one message."""
    env = _environment(folder)
    values = dict(context)
    return (
        env.get_template(f"{context.kind}.txt").render(values),
        env.get_template(f"{context.kind}.html").render(values),
    )


def check(folder: Path) -> list[str]:
    """Every problem of the e-mail templates: missing, unparsable, or using a variable its kind lacks."""
    problems: list[str] = []
    env = _environment(folder)
    for kind, model in CONTEXTS.items():
        known = set(model.model_fields)
        for ext in ("txt", "html"):
            path = folder / f"{kind}.{ext}"
            if not path.exists():
                problems.append(_("{file}: missing; every message needs a {ext} body").format(file=path, ext=ext))
                continue
            try:
                ast = env.parse(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(
                    _("{file}:{line}: template syntax error: {error}").format(
                        file=path, line=exc.lineno, error=exc.message
                    )
                )
                continue
            unknown = meta.find_undeclared_variables(ast) - known
            for name in sorted(unknown):
                problems.append(
                    _("{file}: uses {tag}, which a {kind} message does not provide; known: {known}").format(
                        file=path, tag=f"{{{{ {name} }}}}", kind=kind, known=", ".join(sorted(known))
                    )
                )
            if unknown:
                continue
            try:
                env.from_string(path.read_text(encoding="utf-8")).render(dict(model.example()))  # type: ignore[attr-defined]
            except jinja2.TemplateError as exc:
                problems.append(
                    _("{file}: does not render with an example {kind} message: {error}").format(
                        file=path, kind=kind, error=exc
                    )
                )
    return problems
