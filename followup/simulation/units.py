"""Playing the units: each unit reads the directive it was sent and answers it as its ``Behaviour`` says (on
time, late, with a broken form, or never).

It exists to turn a dispatch's outbox into the inbox of replies a district would receive, for ``followup
demo``, the end-to-end tests and the collect benchmark; the forms and e-mails themselves come from the sibling
modules.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from followup.domain.identity import FormIdentity
from followup.simulation.children_list import LIST_ERRORS, break_children_list, fill_children_list
from followup.simulation.mail import TAG, Original, aware, decoded_name, headers_of, nfc, reply
from followup.simulation.people import synthetic_children
from followup.simulation.periodic_report import (
    REPORT_ERRORS,
    ReportDoc,
    break_report,
    count_text,
    default_narrative,
    plausible_report_values,
)

#: The units live in Vietnam: their clocks read Indochina Time, whatever the office configures.
UNITS_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

__all__ = ["Behaviour", "BehaviourKind", "play_units"]

BehaviourKind = Literal["on-time", "late", "errors", "never"]


@dataclass(frozen=True)
class Behaviour:
    """What a unit does with the directive it received.

    ``at``: when it replies (aware); None derives it from the message: "on-time" a few days after it was sent
    and before the earliest deadline, "late" a few days after the latest deadline. "errors" breaks one form
    with ``error`` (a LIST_ERRORS or REPORT_ERRORS kind; default "bad-group" on a list, "rule" on a report).
    ``forms``: requirement codes the unit returns (None: all). ``children``: rows of its list (None: seeded).
    """

    kind: BehaviourKind = "on-time"
    at: dt.datetime | None = None
    error: str | None = None
    threading: bool = True
    keep_tag: bool = True
    quote_subject: bool = True
    from_addr: str | None = None
    forms: frozenset[str] | None = None
    children: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("on-time", "late", "errors", "never"):
            raise ValueError(f"unknown behaviour {self.kind!r}; one of on-time, late, errors, never")
        if self.error is not None and self.error not in LIST_ERRORS and self.error not in REPORT_ERRORS:
            raise ValueError(f"unknown error kind {self.error!r}; one of {', '.join([*LIST_ERRORS, *REPORT_ERRORS])}")
        if self.at is not None:
            aware(self.at)


_DEADLINE = re.compile(r"(?:chậm nhất|trước)\s+ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)
_ADDRESSEE = re.compile(r"^\s*Kính gửi:\s*(.+?),?\s*$", re.MULTILINE)


@dataclass
class _Received:
    raw: bytes
    head: Original
    unit: str | None
    sent: dt.datetime
    text: str
    forms: list[tuple[str, bytes, FormIdentity]]


def _quick_identity(data: bytes) -> FormIdentity | None:
    """The identity of a dispatched form, from its custom or core properties (our forms carry both).

    The letter has neither; the visible-text scan of ``read_identity`` is not needed for our own outbox.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            for part in ("docProps/custom.xml", "docProps/core.xml"):
                if part in names:
                    found = FormIdentity.parse(zf.read(part).decode("utf-8", "replace"))
                    if found:
                        return found
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    return None


def _read_received(raw: bytes) -> _Received:
    head = headers_of(raw)
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    tag = TAG.search(head.subject)
    try:
        sent = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        sent = None
    if sent is None or sent.tzinfo is None:
        sent = dt.datetime(2023, 2, 6, 8, 0, tzinfo=UNITS_TZ)
    text, forms = "", []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = decoded_name(part.get_filename())
        if name:
            if name.lower().endswith((".xlsx", ".docx")):
                data = part.get_payload(decode=True) or b""
                identity = _quick_identity(data)
                if identity is not None:
                    forms.append((name, data, identity))
        elif part.get_content_type() == "text/plain" and not text:
            payload = part.get_payload(decode=True) or b""
            text = nfc(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    unit = tag[2] if tag else (forms[0][2].unit if forms else None)
    return _Received(raw, head, unit, sent.astimezone(UNITS_TZ), text, forms)


def _reply_moment(received: _Received, behaviour: Behaviour, rng: random.Random) -> dt.datetime:
    if behaviour.at is not None:
        return aware(behaviour.at)
    deadlines = sorted(dt.date(int(y), int(m), int(d)) for d, m, y in _DEADLINE.findall(received.text))
    clock = dt.time(rng.randint(7, 16), rng.randint(0, 59), tzinfo=UNITS_TZ)
    sent_day = received.sent.date()
    if behaviour.kind == "late":
        base = deadlines[-1] if deadlines else sent_day + dt.timedelta(days=40)
        day = base + dt.timedelta(days=rng.randint(1, 10))
    else:
        day = sent_day + dt.timedelta(days=rng.randint(1, 6))
        if deadlines and day >= deadlines[0]:
            day = max(sent_day, deadlines[0] - dt.timedelta(days=1))
    moment = dt.datetime.combine(day, clock)
    return max(moment, received.sent + dt.timedelta(minutes=30))


def _fill(name: str, data: bytes, identity: FormIdentity, seed: str, count: int, as_of: dt.date) -> bytes:
    if name.lower().endswith(".xlsx"):
        return fill_children_list(data, synthetic_children(count, seed=seed, as_of=as_of))
    values = plausible_report_values(seed, count)
    doc = ReportDoc(data)
    rng = random.Random(f"extra:{seed}")
    for code in doc.codes:  # indicators this simulator does not know: small plausible counts
        values.setdefault(code, rng.randint(0, 20))
    for code, value in values.items():
        doc.set(code, count_text(code, value))
    for key, text in default_narrative(seed, values).items():
        doc.write_section(key, text)
    return doc.save()


def play_units(
    outbox_messages: Iterable[bytes],
    plan: Mapping[str, Behaviour | str],
    *,
    default: Behaviour | str | None = None,
    seed: int | str = 0,
) -> list[bytes]:
    """Replies of the units to the messages dispatched to them, ready to drop into an inbox.

    Each message's unit comes from its subject tag, else from the identity of its forms. A unit answers its
    first message that carries forms, per its ``plan`` entry (a Behaviour or just its kind), else ``default``
    (None: no reply). Every form attached comes back filled; "errors" breaks one; "never" sends nothing.
    """
    replies: list[bytes] = []
    answered: set[str] = set()
    for raw in outbox_messages:
        received = _read_received(raw)
        unit = received.unit
        if unit is None or unit in answered or not received.forms:
            continue
        behaviour = plan.get(unit, default)
        if behaviour is None:
            continue
        if isinstance(behaviour, str):
            behaviour = Behaviour(kind=behaviour)  # type: ignore[arg-type]
        answered.add(unit)
        if behaviour.kind == "never":
            continue
        rng = random.Random(f"unit:{seed}:{unit}")
        at = _reply_moment(received, behaviour, rng)
        count = behaviour.children if behaviour.children is not None else rng.randint(3, 15)
        chosen = [f for f in received.forms if behaviour.forms is None or f[2].requirement in behaviour.forms]
        files = [
            (name, _fill(name, data, identity, f"{seed}:{unit}:{identity.requirement}", count, at.date()))
            for name, data, identity in chosen
        ]
        if behaviour.kind == "errors" and files:
            files = _break_one(files, behaviour.error, at.date())
        addressee = _ADDRESSEE.search(received.text)
        signature = addressee[1].strip() if addressee else None
        replies.append(
            reply(received.head, files, behaviour.from_addr, at, None, behaviour.quote_subject,
                   behaviour.threading, behaviour.keep_tag, None, signature, None)
        )  # fmt: skip
    return replies


def _break_one(files: list[tuple[str, bytes]], error: str | None, as_of: dt.date) -> list[tuple[str, bytes]]:
    wants = ".xlsx" if error in LIST_ERRORS else ".docx" if error in REPORT_ERRORS else None
    if error is not None and wants is None:
        raise ValueError(f"unknown error kind {error!r}; one of {', '.join([*LIST_ERRORS, *REPORT_ERRORS])}")
    for i, (name, data) in enumerate(files):
        is_list = name.lower().endswith(".xlsx")
        if wants is not None and not name.lower().endswith(wants):
            continue
        if is_list:
            broken = break_children_list(data, error or "bad-group", as_of=as_of)
        else:
            broken = break_report(data, error or "rule")
        return [*files[:i], (name, broken), *files[i + 1 :]]
    raise ValueError(f"no {wants} form in this reply to break with {error!r}")
