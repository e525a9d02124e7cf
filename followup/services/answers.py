"""The answer a unit receives at once: accepted with what was read, or every problem and how to fix it.

One answer per incoming message, to the unit's registered addresses (an unknown sender is never answered),
queued through the one mail path and rendered from what the store says of the message's submissions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from followup.domain.config import Config
from followup.domain.periods import Period
from followup.domain.states import MessageKind, Source, SubmissionStatus
from followup.domain.summaries import summary_from_json
from followup.mail.compose import Outgoing, tracking_tag
from followup.mail.parse import parse_message
from followup.mail.sender import Sender
from followup.mail.templates import AnswerItem, AnswerMail
from followup.services import outgoing
from followup.services.outgoing import Outcome
from followup.services.store import own_addresses
from followup.storage.models import IncomingMessage, OutgoingMessage, Submission
from followup.storage.uow import UnitOfWork


def queue_answer(uow: UnitOfWork, config: Config, incoming: IncomingMessage, submissions: list[Submission]) -> bool:
    """Record the answer to one message; False when there is nobody to answer (unknown or several units)."""
    units = {s.unit_code for s in submissions if s.unit_code}
    if len(units) != 1:
        return False
    code = next(iter(units))
    unit = next((u for u in config.recipients.units if u.code == code), None)
    if unit is None:
        return False
    directive = next((s.directive_code for s in submissions if s.directive_code), None)
    subject = incoming.subject or ""
    subject = subject if subject.lower().startswith(("re:", "tl:", "trả lời:")) else f"Re: {subject}"
    if directive and tracking_tag(directive, unit.code) not in subject:
        subject = f"{subject} {tracking_tag(directive, unit.code)}"
    # the incoming message is this run's (claimed), so its next answer is new: no savepoint needed to record it
    uow.repo.add(
        outgoing.new_message(
            uow, config, MessageKind.ANSWER, f"{incoming.id}.{unit.code}",
            recipients=unit.emails, subject=subject.strip(), unit_code=unit.code, directive_code=directive,
            incoming_id=incoming.id, attempt=uow.repo.count_answers(incoming.id) + 1,
        )
    )  # fmt: skip
    return True


def answer_lines(name: str, summary: dict, problems: list[dict]) -> list[str]:
    """What the unit reads about one file: counts if accepted, every problem and its place if not."""
    lines = [f'Tệp "{name}".']
    read = summary_from_json(summary)
    if read is not None:
        lines += read.answer_lines()
    for problem in problems:
        label = "Lỗi" if problem["severity"] == "error" else "Lưu ý"
        lines.append(f"{label}" + (f" ({problem['where']})" if problem["where"] else "") + f": {problem['message']}")
    return lines


def answer_item(config: Config, sub: Submission) -> AnswerItem | None:
    """The part of an answer about one submission (None for the clerk's own bookkeeping)."""
    status = SubmissionStatus(sub.status)
    if not status.counts_as_reply:
        return None
    rejected = status == SubmissionStatus.REJECTED
    if status in (SubmissionStatus.ACCEPTED, SubmissionStatus.SUPERSEDED, SubmissionStatus.REJECTED) and (
        sub.requirement_code and sub.directive_code
    ):
        directive = config.directives.get(sub.directive_code)
        title = directive.requirement(sub.requirement_code).title if directive else sub.requirement_code
        verdict = "CHƯA TIẾP NHẬN, cần sửa" if rejected else "ĐÃ TIẾP NHẬN"
        heading = f"{title} ({Period.parse(sub.period or '').label_vi}): {verdict}"
        lines = answer_lines(sub.attachment_name or "", sub.summary, sub.problems)
    elif rejected:
        heading, lines = f'Tệp "{sub.attachment_name}": CHƯA TIẾP NHẬN', [p["message"] for p in sub.problems]
    elif sub.attachment_name:
        heading = "Đã nhận, chờ cán bộ xem xét"
        lines = [f'Tệp "{sub.attachment_name}" đã được lưu; cán bộ phụ trách sẽ xem xét.']
    else:
        heading = "Đã nhận, chờ cán bộ xem xét"
        lines = ["Thư không có tệp đính kèm; nếu Quý đơn vị gửi báo cáo, vui lòng đính kèm biểu mẫu."]
    return AnswerItem(heading=heading, lines=lines, rejected=rejected)


def build_answer(uow: UnitOfWork, config: Config, message: OutgoingMessage) -> Outgoing:
    """The answer to one incoming message, rendered from what the store says of its submissions."""
    incoming = uow.repo.incoming(message.incoming_id or 0)
    assert incoming is not None
    unit = config.recipients.unit(message.unit_code or "")
    items = [item for sub in uow.repo.submissions_of(incoming.id) if (item := answer_item(config, sub))]
    office = config.recipients.office
    context = AnswerMail(
        unit_name=unit.name,
        office_name=office.short_name,
        office_department=office.department,
        received=f"{uow.clock.local(incoming.received_at):%H:%M ngày %d/%m/%Y}",
        by_hand=incoming.source == Source.HAND,
        items=items,
        any_rejected=any(i.rejected for i in items),
        tag=tracking_tag(message.directive_code, unit.code) if message.directive_code else "",
    )
    return outgoing.outgoing(config, message, context, in_reply_to=answer_reference(incoming, own_addresses(config)))


def answer_reference(incoming: IncomingMessage, own: frozenset[str]) -> str | None:
    """The unit's own message an answer refers to; for a message the office forwarded, the one inside."""
    if incoming.source == Source.HAND:
        return None
    if incoming.from_addr not in own:
        return incoming.message_id
    return parse_message(Path(incoming.raw_path).read_bytes()).answers_to(own)


def send_answers(
    uow: UnitOfWork,
    sender: Sender,
    config: Config,
    progress: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Outcome]:
    """Send every answer not yet sent, over one connection."""
    queue = uow.repo.unsent(MessageKind.ANSWER)
    return outgoing.deliver(uow, sender, queue, lambda m: build_answer(uow, config, m), progress, stop)
