"""What the clerk does by hand: record a reply that came on paper, assign or set aside a triaged one.

A reply recorded by hand is kept like a message (its files in the store, a row) and read and checked like
one, so it counts the same way; the unit is answered as for an e-mail, saying it was handed in.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from followup.documents.annex import write_private
from followup.documents.libreoffice import CONVERTIBLE, convert_to_ooxml
from followup.domain.config import Config
from followup.domain.matching import Match
from followup.domain.states import IncomingStatus, Source, SubmissionStatus
from followup.forms.recognize import file_type
from followup.i18n import _
from followup.mail.compose import tracking_tag
from followup.mail.parse import safe_filename
from followup.services import answers
from followup.services.interpret import Interpreter
from followup.services.store import store_message
from followup.storage.models import IncomingMessage, Submission
from followup.storage.uow import UnitOfWork


def record(
    uow: UnitOfWork,
    config: Config,
    unit: str,
    directive: str,
    requirement: str,
    period: str,
    files: Sequence[Path],
    received: dt.datetime,
) -> list[Submission]:
    """A reply that came on paper or by hand: kept, read and checked like an e-mailed one."""
    uow.repo.sync_config(config, uow.now())  # the answer refers to the directive, even before any dispatch
    subject = f"{tracking_tag(directive, unit)} Nhận trực tiếp: {requirement} {period}"
    message = EmailMessage()
    message["From"] = config.recipients.office.email
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(received)
    message["Message-ID"] = email.utils.make_msgid("hand", config.recipients.office.email.split("@")[1])
    message.set_content("Báo cáo nhận trực tiếp, văn thư nhập vào hệ thống.")
    for path in files:
        message.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name)
    raw = message.as_bytes()
    incoming = store_message(uow, raw, Source.HAND, received)
    assert incoming is not None  # a fresh Message-ID is never a duplicate
    incoming.subject = subject  # as typed: a folded header can lose the space between encoded words
    forced = Match(directive, requirement, period, unit, ("recorded by hand by the clerk",))
    submissions = Interpreter(uow, config).process(incoming, raw, force=forced)
    incoming.status = IncomingStatus.PROCESSED
    answers.queue_answer(uow, config, incoming, submissions)
    uow.commit()
    return submissions


def _waiting(uow: UnitOfWork, submission_id: int) -> Submission:
    waiting = uow.repo.submission(submission_id)
    if waiting is None or waiting.status != SubmissionStatus.TRIAGE:
        raise ValueError(_("no reply #{n} waits in triage; run `followup triage` to list them").format(n=submission_id))
    return waiting


def assign(
    uow: UnitOfWork, config: Config, submission_id: int, unit: str, directive: str, requirement: str, period: str
) -> Submission:
    """The clerk says whose reply a triaged file is; it is then read and checked as usual, and answered."""
    waiting = _waiting(uow, submission_id)
    if not waiting.attachment_path:
        raise ValueError(
            _("reply #{n} has no file to read; set it aside with --reject instead").format(n=submission_id)
        )
    incoming = uow.repo.incoming(waiting.incoming_id)
    assert incoming is not None
    data = Path(waiting.attachment_path).read_bytes()
    name = waiting.attachment_name or "tep"
    ext = file_type(data) or (name.rsplit(".", 1)[-1].lower() if "." in name else "")
    if ext in CONVERTIBLE:
        converted = convert_to_ooxml(data, ext)
        if converted is None:
            raise ValueError(
                _(
                    "reply #{n} is a .{ext} file that LibreOffice could not convert (is it installed?); ask the unit "
                    "for .{wanted}, or set the reply aside with --reject"
                ).format(n=submission_id, ext=ext, wanted=CONVERTIBLE[ext])
            )
        data, ext = converted, CONVERTIBLE[ext]
    found = Match(directive, requirement, period, unit, (*waiting.evidence, "assigned by the clerk"))
    waiting.status = SubmissionStatus.ASSIGNED
    waiting.reason = _("assigned by the clerk to {unit} {requirement} {period}").format(
        unit=unit, requirement=requirement, period=period
    )
    decided = Interpreter(uow, config).decide(incoming, name, data, ext, found, None)
    decided.decided_by = "clerk"
    answers.queue_answer(uow, config, incoming, [decided])
    uow.commit()
    return decided


def reject(uow: UnitOfWork, submission_id: int, reason: str) -> Submission:
    """Set a triaged reply aside (spam, a duplicate on paper); it stays on record with the reason."""
    waiting = _waiting(uow, submission_id)
    waiting.status, waiting.reason, waiting.decided_by = SubmissionStatus.DISCARDED, reason, "clerk"
    waiting.decided_at = uow.now()
    uow.commit()
    return waiting


def show(uow: UnitOfWork, submission_id: int, folder: Path) -> list[Path]:
    """Copies of a triaged reply for the clerk to open: its file under its own name, and the message it came
    in (its text often says whose it is). The stored bytes stay where they are, unchanged; the copies are the
    clerk's alone (0600 in a 0700 folder), since a list names children."""
    waiting = _waiting(uow, submission_id)
    incoming = uow.repo.incoming(waiting.incoming_id)
    assert incoming is not None
    copies = [(_("message {n}.eml").format(n=submission_id), Path(incoming.raw_path))]
    if waiting.attachment_path:
        copies.insert(0, (openable_name(waiting.attachment_name), Path(waiting.attachment_path)))
    return [write_private(folder / name, source.read_bytes()) for name, source in copies]


def openable_name(name: str | None) -> str:
    """A unit's file name that every file system accepts (Windows too, on a shared folder) and the clerk knows."""
    return re.sub(r'[:*?"<>|]', "_", safe_filename(name)).rstrip(" .") or safe_filename(None)


def waiting_in_triage(uow: UnitOfWork) -> list[tuple[Submission, IncomingMessage]]:
    return list(uow.repo.waiting_in_triage())
