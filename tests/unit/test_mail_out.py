"""What a unit's mail client shows: Vietnamese subject and file names, escaped HTML, no injected header."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

from followup.mail.compose import Attachment, Outgoing, compose, header_text, tracking_tag

NOW = dt.datetime(2023, 2, 6, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
HOSTILE = 'Xã A & B <C> "D"\r\nBcc: evil@attacker.example'


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def message(name: str = "Ủy ban nhân dân xã Cẩm Giàng") -> Outgoing:
    return Outgoing(
        message_id="<test.1@bachthong.example>",
        from_addr="vanthu@bachthong.example",
        from_name="UBND huyện Bạch Thông",
        to=["ubnd@camgiang.bachthong.example"],
        cc=["vanthu@camgiang.bachthong.example"],
        subject=f"{tracking_tag('2023-child-protection', 'XA-CAMGIANG')} Công văn số 12/UBND-LĐTBXH {name}",
        text=f"Kính gửi: {name}",
        html=f"<p>Kính gửi: {name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>",
        attachments=[
            Attachment(f"Danh sách trẻ em - {name}.xlsx", b"PK\x03\x04 form"),
            Attachment("Công văn số 12.docx", b"x"),
        ],
    )


def test_vietnamese_subject_and_file_names_decode():
    msg = parse(compose(message(), NOW))
    assert (
        msg["Subject"]
        == "[FU:2023-child-protection:XA-CAMGIANG] Công văn số 12/UBND-LĐTBXH Ủy ban nhân dân xã Cẩm Giàng"
    )
    assert msg["Message-ID"] == "<test.1@bachthong.example>"
    assert msg["To"] == "ubnd@camgiang.bachthong.example" and msg["Cc"] == "vanthu@camgiang.bachthong.example"
    assert "Bạch Thông" in str(msg["From"])
    names = [part.get_filename() for part in msg.iter_attachments()]
    assert names == ["Danh sách trẻ em - Ủy ban nhân dân xã Cẩm Giàng.xlsx", "Công văn số 12.docx"]
    first = next(msg.iter_attachments())
    assert first.get_content() == b"PK\x03\x04 form"
    assert msg.get_body(("plain",)).get_content().strip() == "Kính gửi: Ủy ban nhân dân xã Cẩm Giàng"
    assert "<p>Kính gửi:" in msg.get_body(("html",)).get_content()


def test_hostile_unit_name_cannot_add_a_header_and_renders_verbatim():
    data = compose(message(HOSTILE), NOW)
    msg = parse(data)
    assert msg["Bcc"] is None and b"\nBcc:" not in data and b"\rBcc:" not in data
    assert msg["Subject"].endswith('Xã A & B <C> "D" Bcc: evil@attacker.example')
    assert [p.get_filename() for p in msg.iter_attachments()][0] == (
        'Danh sách trẻ em - Xã A & B <C> "D" Bcc: evil@attacker.example.xlsx'
    )
    assert "Xã A & B <C>" in msg.get_body(("plain",)).get_content()
    assert "Xã A &amp; B &lt;C&gt;" in msg.get_body(("html",)).get_content()


def test_header_text_folds_control_characters():
    assert header_text("a\r\nb\tc\x00d  e") == "a b c d e"
    assert header_text("Xa\u0303") == "Xã"  # decomposed Vietnamese is composed


def test_large_attachments_arrive_byte_for_byte_and_the_letter_is_shared():
    import os

    letter, form = os.urandom(300_000), os.urandom(40_001)
    first = message().__class__(
        **{**message().__dict__, "attachments": [Attachment("a.docx", letter), Attachment("b.xlsx", form)]}
    )
    data = compose(first, NOW)
    parts = {p.get_filename(): p.get_content() for p in parse(data).iter_attachments()}
    assert parts == {"a.docx": letter, "b.xlsx": form}
    assert b"followup-attachment" not in data and max(len(line) for line in data.split(b"\r\n")) <= 998
