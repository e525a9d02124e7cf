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


class MailContext(BaseModel):
    """What every message shows: who writes to whom, and the tag that keeps a reply in its thread."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[MessageKind]

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


CONTEXTS: dict[MessageKind, type[MailContext]] = {c.kind: c for c in (DirectiveMail, AnswerMail)}


@cache
def _environment(folder: Path) -> jinja2.Environment:
    """HTML bodies are escaped, plain text is not; an unknown variable is an error, never a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(folder: Path, context: MailContext) -> tuple[str, str]:
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
                problems.append(f"{path}: missing; every message needs a {ext} body")
                continue
            try:
                ast = env.parse(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"{path}:{exc.lineno}: template syntax error: {exc.message}")
                continue
            unknown = meta.find_undeclared_variables(ast) - known
            for name in sorted(unknown):
                problems.append(
                    f"{path}: uses {{{{ {name} }}}}, which a {kind} message does not provide; "
                    f"known: {', '.join(sorted(known))}"
                )
            if unknown:
                continue
            try:
                env.from_string(path.read_text(encoding="utf-8")).render(dict(model.example()))  # type: ignore[attr-defined]
            except jinja2.TemplateError as exc:
                problems.append(f"{path}: does not render with an example {kind} message: {exc}")
    return problems
