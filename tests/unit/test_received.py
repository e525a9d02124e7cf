"""When a reply counts as received: the mail server's delivery time, not what the sender wrote."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from followup.mail.parse import parse_message
from followup.services.store import counted_from
from followup.simulation import forward_email
from followup.simulation.mail import Original, reply

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICER = "treem.ldtbxh@bachthong.example"
NOW = dt.datetime(2023, 2, 27, 8, tzinfo=TZ)


def at(day: int, hour: int = 9, month: int = 2) -> dt.datetime:
    return dt.datetime(2023, month, day, hour, tzinfo=TZ)


def reply_dated(date: dt.datetime, received_header: dt.datetime | None = None) -> bytes:
    original = Original(
        subject="[FU:d:XA-CAOSON] Công văn", from_raw=OFFICER, to=("ubnd@caoson.bachthong.example",),
        message_id="<1@bachthong.example>", references="", office_name="Phòng",
    )  # fmt: skip
    raw = reply(original, [], None, date, "Kính gửi", True, True, True, None, None, None)
    if received_header is not None:  # the office's server's stamp, as a relay writes it
        stamp = received_header.strftime("%a, %d %b %Y %H:%M:%S %z")
        raw = f"Received: from mx.caoson.example by mail.bachthong.example; {stamp}\r\n".encode() + raw
    return raw


def test_the_delivery_time_counts_not_the_date_header() -> None:
    parsed = parse_message(reply_dated(at(10)))
    assert counted_from(parsed, at(25, 14), NOW) == at(25, 14)


def test_a_date_in_the_future_changes_nothing() -> None:
    parsed = parse_message(reply_dated(at(15, month=3)))
    assert counted_from(parsed, at(15), NOW) == at(15)


def test_the_delivery_time_is_never_after_now() -> None:
    """A mail server whose clock runs ahead of ours."""
    assert counted_from(parse_message(reply_dated(at(10))), NOW + dt.timedelta(hours=2), NOW) == NOW


def test_a_reply_forwarded_by_the_office_counts_from_the_units_own_date() -> None:
    inner = reply_dated(at(19))
    forwarded = parse_message(forward_email(inner, from_addr=OFFICER, to_addr="vanthu@x.example", date=at(22)))
    own = frozenset({OFFICER})
    assert counted_from(forwarded, at(23), NOW, own) == at(19)
    # ... but never after the forward reached the server
    assert counted_from(forwarded, at(18), NOW, own) == at(18)
    # the same forward from someone who is not the office is a message of its own
    assert counted_from(forwarded, at(23), NOW) == at(23)


def test_without_a_delivery_time_the_headers_are_the_fallback() -> None:
    stamped = parse_message(reply_dated(at(10), received_header=at(11, 7)))
    assert counted_from(stamped, None, NOW) == at(11, 7)  # the receiving server's Received: stamp
    assert counted_from(parse_message(reply_dated(at(10))), None, NOW) == at(10)  # else the Date
    assert counted_from(parse_message(reply_dated(at(15, month=3))), None, NOW) == NOW  # never in the future
    assert counted_from(None, None, NOW) == NOW  # unreadable
