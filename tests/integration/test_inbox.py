"""followup.mail.inbox against a real pymap IMAP server, plus Maildir and URL unit tests."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from pydantic import SecretStr

from followup.mail.inbox import (
    KEYWORD,
    PROCESSED_FOLDER,
    ImapInbox,
    ImapSettings,
    InboxError,
    InboxLoginRejected,
    InboxUnavailable,
    MaildirInbox,
    RawMessage,
    open_inbox,
    parse_imap_url,
)
from followup.mail.urls import MailUrlError

from imap_server import ImapServer, free_port, running_imap_server  # beside this file: conftest.py puts it on the path

VN_SUBJECT = "Báo cáo kết quả thực hiện Công văn số 123/UBND-VP — Xã Cao Sơn"
VN_ATTACHMENT = "Báo cáo tiến độ quý III.xlsx"
VN = dt.timezone(dt.timedelta(hours=7))


def make_message(subject: str, body: str = "Kính gửi UBND huyện.", attachment: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "UBND xã Cao Sơn <ubnd@caoson.example>"
    msg["To"] = "vanthu@huyen.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@caoson.example>"
    msg.set_content(body)
    if attachment:
        msg.add_attachment(
            b"PK\x03\x04 fake xlsx bytes \xff\x00",
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=attachment,
        )
    return msg.as_bytes(policy=email.policy.SMTP)


def lf(data: bytes) -> bytes:
    """Maildir storage (Python's and pymap's) keeps LF line ends; compare content, not line ends."""
    return data.replace(b"\r\n", b"\n")


def message_id(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"])


def subject_of(raw: RawMessage) -> str:
    return str(email.message_from_bytes(raw.data, policy=email.policy.default)["Subject"])


@pytest.fixture
def folder(server: ImapServer) -> str:
    """A fresh folder per test so tests sharing the module's server do not see each other's mail."""
    name = f"T{uuid.uuid4().hex[:8]}"
    server.create_folder(name)
    return name


def fast(url: str, **kwargs: object) -> ImapInbox:
    return ImapInbox(url, sleep=lambda _: None, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real IMAP server


def test_pymap_starts_quickly(server: ImapServer) -> None:
    assert server.startup_seconds < 5, server.startup_seconds


def test_fetch_mark_refetch_moves_without_deleting(server: ImapServer) -> None:
    """pymap's dict backend has no keywords, so processed mail goes to Followup/Processed."""
    raws = [
        make_message(VN_SUBJECT, attachment=VN_ATTACHMENT),
        make_message("Re: Công văn 123 - Thị trấn"),
        make_message("Re: Công văn 123 - Phòng Tài chính"),
    ]
    server.deliver_many(raws)  # default URL: folder INBOX, processed folder Followup/Processed

    with fast(server.url) as inbox:
        first = list(inbox.fetch_unprocessed())
        assert [m.data for m in first] == raws
        assert subject_of(first[0]) == VN_SUBJECT
        attachment = next(email.message_from_bytes(first[0].data, policy=email.policy.default).iter_attachments())
        assert attachment.get_filename() == VN_ATTACHMENT
        assert len({m.key for m in first}) == 3 and all(":" in m.key for m in first)

        inbox.mark_processed(first[0].key)
        inbox.mark_processed(first[2].key)
        assert [m.key for m in inbox.fetch_unprocessed()] == [first[1].key]

    with fast(server.url) as inbox:  # a new connection sees the same state
        again = list(inbox.fetch_unprocessed())
        assert [m.data for m in again] == [raws[1]]

    assert len(server.search(folder="INBOX")) == 1
    assert len(server.search(folder=PROCESSED_FOLDER)) == 2  # moved, not deleted
    for name in ("INBOX", PROCESSED_FOLDER):
        assert all(b"\\Seen" not in flags for flags in server.flags(name).values())  # BODY.PEEK


def test_keyword_mode_keeps_messages_in_place() -> None:
    """A server that allows $FollowupProcessed (here pymap maildir) gets the keyword, nothing moves."""
    with running_imap_server(backend="maildir", keywords=[KEYWORD]) as srv:
        raws = [make_message(VN_SUBJECT, attachment=VN_ATTACHMENT), make_message("Hai"), make_message("Ba")]
        received = [dt.datetime(2023, 2, day, 14, 5, tzinfo=VN) for day in (23, 24, 25)]
        srv.deliver_many(zip(raws, received, strict=True))
        with fast(srv.url) as inbox:
            first = list(inbox.fetch_unprocessed())
            # pymap's maildir backend re-serialises headers on APPEND, so compare identities, not bytes
            assert [message_id(m.data) for m in first] == [message_id(r) for r in raws]
            assert [m.received for m in first] == received  # kept by pymap as the file time
            assert subject_of(first[0]) == VN_SUBJECT
            inbox.mark_processed(first[0].key)
            inbox.mark_processed(first[1].key)
        with fast(srv.url) as inbox:
            assert [message_id(m.data) for m in inbox.fetch_unprocessed()] == [message_id(raws[2])]
        assert len(srv.search()) == 3
        assert len(srv.search(f"KEYWORD {KEYWORD}")) == 2
        assert all(b"\\Seen" not in flags for flags in srv.flags().values())
        with srv.connect() as conn:
            assert PROCESSED_FOLDER.encode() not in b"".join(d for d in conn.list()[1] if isinstance(d, bytes))


@pytest.fixture
def local_zone_west_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time five hours behind UTC (a POSIX TZ string: no tz database needed)."""
    monkeypatch.setenv("TZ", "XYZ+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_imap_received_is_the_internaldate_whatever_the_local_zone(
    server: ImapServer, folder: str, local_zone_west_of_utc: None
) -> None:
    """IMAPClient turns INTERNALDATE into naive local time by default; RawMessage.received is the moment, in UTC."""
    given, dated, undated = make_message("Một"), make_message("Hai"), make_message("Ba")
    dated = b"Date: Fri, 10 Feb 2023 09:00:00 +0700\r\n" + dated
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    server.deliver_many([(given, dt.datetime(2023, 2, 25, 14, 5, tzinfo=VN)), dated, undated], folder)
    with fast(server.url_for(folder=folder, processed_folder=f"{folder}/Processed")) as inbox:
        got = list(inbox.fetch_unprocessed())
    assert [m.received for m in got[:2]] == [
        dt.datetime(2023, 2, 25, 7, 5, tzinfo=dt.UTC),  # 14:05 in Việt Nam
        dt.datetime(2023, 2, 10, 2, 0, tzinfo=dt.UTC),  # the test server appends with the Date when given none
    ]
    assert all(m.received is not None and m.received.utcoffset() == dt.timedelta(0) for m in got)
    assert got[2].received is not None and before <= got[2].received <= dt.datetime.now(dt.UTC)


def test_starttls_with_verified_certificate() -> None:
    with running_imap_server(tls=True) as srv:
        srv.deliver(make_message(VN_SUBJECT))
        assert parse_imap_url(srv.url).security == "starttls"
        with fast(srv.url, ssl_context=srv.ssl_context()) as inbox:
            assert [subject_of(m) for m in inbox.fetch_unprocessed()] == [VN_SUBJECT]
        untrusted = ImapInbox(srv.url, connect_retries=0)  # system CAs do not know this cert
        with pytest.raises(InboxUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"), untrusted:
            pass


def test_connection_lost_mid_batch_is_unavailable() -> None:
    with running_imap_server() as srv:
        srv.deliver_many([make_message("Một"), make_message("Hai")])
        with fast(srv.url) as inbox:
            first = next(inbox.fetch_unprocessed())
            srv.stop()  # pymap goes away under the open connection
            with pytest.raises(InboxUnavailable, match=f"{srv.host}:{srv.port} failed while marking"):
                inbox.mark_processed(first.key)
            with pytest.raises(InboxUnavailable, match=r"\(3 attempts\)"):  # reconnects, then gives up
                list(inbox.fetch_unprocessed())


def test_250_messages_fetched_in_batches(server: ImapServer, folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raws = [make_message(f"Báo cáo số {i}", body=f"Nội dung {i}") for i in range(250)]
    server.deliver_many(raws, folder)
    batches: list[int] = []
    original = IMAPClient.fetch

    def counting_fetch(self: IMAPClient, messages: list[int], data: list[str], modifiers: object = None) -> object:
        batches.append(len(messages))
        return original(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", counting_fetch)
    started = time.monotonic()
    with fast(server.url_for(folder=folder, processed_folder=f"{folder}/Processed")) as inbox:
        got = list(inbox.fetch_unprocessed())
        assert len(list(inbox.fetch_unprocessed(limit=10))) == 10
    elapsed = time.monotonic() - started
    assert [m.data for m in got] == raws  # oldest first
    assert batches == [100, 100, 50, 10]
    assert elapsed < 10, elapsed


def test_without_move_copies_and_expunges_only_that_message(
    server: ImapServer, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers without MOVE: COPY, then UID EXPUNGE of just that UID (a clerk's \\Deleted mail survives)."""
    original = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability", lambda self, cap: cap.upper() != "MOVE" and original(self, cap))
    server.deliver_many([make_message("Một"), make_message("Hai"), make_message("Ba")], folder)
    clerk_deleted = server.search(folder=folder)[2]
    with server.connect() as conn:
        conn.select(folder)
        conn.uid("STORE", str(clerk_deleted), "+FLAGS", "(\\Deleted)")
    processed = f"{folder}/Processed"
    with fast(server.url_for(folder=folder, processed_folder=processed)) as inbox:
        first = list(inbox.fetch_unprocessed())
        assert [subject_of(m) for m in first] == ["Một", "Hai"]
        inbox.mark_processed(first[0].key)
        assert [subject_of(m) for m in inbox.fetch_unprocessed()] == ["Hai"]
    assert len(server.search(folder=folder)) == 2  # "Hai" and the clerk's \\Deleted message
    assert clerk_deleted in server.search(folder=folder)
    assert len(server.search(folder=processed)) == 1


def test_wrong_password_is_rejected_without_retry_or_leak(server: ImapServer) -> None:
    wrong = "Sai-mat-khau-2024"
    url = server.url.replace(server.url.split("@")[0].split(":")[-1], wrong)
    sleeps: list[float] = []
    with pytest.raises(InboxLoginRejected) as info:
        ImapInbox(url, sleep=sleeps.append).__enter__()
    message = str(info.value)
    assert f"{server.host}:{server.port}" in message and server.user in message
    assert wrong not in message and server.password not in message
    assert isinstance(info.value, InboxUnavailable)
    assert sleeps == []  # a wrong password does not fix itself


def test_server_not_listening_retries_then_unavailable() -> None:
    port = free_port()
    sleeps: list[float] = []
    inbox = ImapInbox(f"imap://vanthu:TopSecret99@127.0.0.1:{port}?backoff=0.01", sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(InboxUnavailable) as info, inbox:
        pass
    assert time.monotonic() - started < 2
    assert sleeps == [0.01, 0.02]  # three attempts
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "(3 attempts)" in message and "refused" in message.lower()
    assert "TopSecret99" not in message


def test_missing_folder_is_a_clear_error(server: ImapServer) -> None:
    with pytest.raises(InboxUnavailable, match="Khong-co"), fast(server.url_for(folder="Khong-co")):
        pass


def test_key_from_another_uidvalidity_is_refused(server: ImapServer, folder: str) -> None:
    server.deliver(make_message("x"), folder)
    with fast(server.url_for(folder=folder, processed_folder=f"{folder}/P")) as inbox:
        (msg,) = inbox.fetch_unprocessed()
        uid = msg.key.split(":")[1]
        with pytest.raises(InboxError, match="UIDVALIDITY"):
            inbox.mark_processed(f"1:{uid}")
        with pytest.raises(InboxError, match="not an IMAP message key"):
            inbox.mark_processed("abc")


def test_open_inbox_chooses_backend(server: ImapServer, tmp_path: Path) -> None:
    assert isinstance(open_inbox(server.url, tmp_path / "md"), ImapInbox)
    assert isinstance(open_inbox(None, tmp_path / "md"), MaildirInbox)
    assert isinstance(open_inbox("  ", tmp_path / "md"), MaildirInbox)


# --------------------------------------------------------------------------- Maildir


def _files(path: Path) -> list[str]:
    return sorted(p.name for sub in ("new", "cur") for p in (path / sub).iterdir())


def test_maildir_fetch_mark_refetch(tmp_path: Path) -> None:
    path = tmp_path / "var" / "replies"
    raws = [make_message(VN_SUBJECT, attachment=VN_ATTACHMENT), make_message("Hai"), make_message("Ba")]
    with MaildirInbox(path) as inbox:  # creates the Maildir, parents included
        box = mailbox.Maildir(path, create=False)
        keys = []
        for i, raw in enumerate(raws):
            msg = mailbox.MaildirMessage(raw)
            if i == 1:  # a clerk already read this one in a mail client: still unprocessed
                msg.set_subdir("cur")
                msg.add_flag("S")
            keys.append(box.add(msg))
            time.sleep(0.01)  # distinct mtimes keep delivery order

        first = list(inbox.fetch_unprocessed())
        assert [m.key for m in first] == keys
        assert [lf(m.data) for m in first] == [lf(r) for r in raws]
        inbox.mark_processed(keys[0])
        inbox.mark_processed(keys[1])
        inbox.mark_processed(keys[1])  # idempotent
        assert [m.key for m in inbox.fetch_unprocessed()] == [keys[2]]
        assert list(inbox.fetch_unprocessed(limit=0)) == []

    assert (path / "dovecot-keywords").read_text() == f"0 {KEYWORD}\n"
    box = mailbox.Maildir(path, create=False)
    assert len(_files(path)) == 3  # nothing deleted
    assert lf(box.get_bytes(keys[0])) == lf(raws[0])  # content untouched by marking
    assert box.get_message(keys[0]).get_flags() == "a"
    assert box.get_message(keys[1]).get_flags() == "Sa"  # existing flags kept
    assert box.get_message(keys[2]).get_flags() == ""


def test_maildir_received_is_the_delivery_time_read_in_the_one_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_zone_west_of_utc: None
) -> None:
    """The delivery time is the file time (``MaildirMessage.get_date()``), taken from the stat fetch already does."""
    path = tmp_path / "md"
    box = mailbox.Maildir(path, create=True)
    late = mailbox.MaildirMessage(make_message("Một"))
    late.set_date(dt.datetime(2023, 2, 25, 14, 5, tzinfo=VN).timestamp())
    read = mailbox.MaildirMessage(make_message("Hai"))  # already read in a mail client: cur/, flag S
    read.set_subdir("cur")
    read.add_flag("S")
    read.set_date(dt.datetime(2023, 2, 13, 9, 30, tzinfo=VN).timestamp())
    keys = [box.add(late), box.add(read)]
    scans = 0
    original = MaildirInbox._scan

    def counting_scan(self: MaildirInbox) -> Iterator[tuple[str, Path, str]]:
        nonlocal scans
        scans += 1
        return original(self)

    monkeypatch.setattr(MaildirInbox, "_scan", counting_scan)
    with MaildirInbox(path) as inbox:
        got = list(inbox.fetch_unprocessed())
    assert scans == 1
    assert [(m.key, m.received) for m in got] == [  # oldest delivery first
        (keys[1], dt.datetime(2023, 2, 13, 2, 30, tzinfo=dt.UTC)),
        (keys[0], dt.datetime(2023, 2, 25, 7, 5, tzinfo=dt.UTC)),
    ]
    assert [m.received.timestamp() for m in got if m.received] == [box.get_message(k).get_date() for k in keys[::-1]]


def test_maildir_respects_existing_keywords(tmp_path: Path) -> None:
    """Letter 'a' already means $Junk here, so ours must be the next free letter."""
    path = tmp_path / "md"
    mailbox.Maildir(path, create=True)
    (path / "dovecot-keywords").write_text("0 $Junk\n1 $NonJunk\n")
    box = mailbox.Maildir(path, create=False)
    junk = mailbox.MaildirMessage(make_message("Junk"))
    junk.set_subdir("cur")
    junk.add_flag("a")
    junk_key = box.add(junk)
    other_key = box.add(make_message("Other"))
    with MaildirInbox(path) as inbox:
        assert {m.key for m in inbox.fetch_unprocessed()} == {junk_key, other_key}
        inbox.mark_processed(other_key)
        assert [m.key for m in inbox.fetch_unprocessed()] == [junk_key]
    assert (path / "dovecot-keywords").read_text() == f"0 $Junk\n1 $NonJunk\n2 {KEYWORD}\n"
    assert mailbox.Maildir(path, create=False).get_message(other_key).get_flags() == "c"


def test_maildir_unknown_key(tmp_path: Path) -> None:
    with MaildirInbox(tmp_path / "md") as inbox, pytest.raises(InboxError, match="not in Maildir"):
        inbox.mark_processed("1700000000.M1P1.nowhere")


# --------------------------------------------------------------------------- parse_imap_url


def test_parse_example_url() -> None:
    s = parse_imap_url("imap://user:Pw-9xq@127.0.0.1:1143?ssl=false&folder=INBOX")
    assert s == ImapSettings(host="127.0.0.1", port=1143, user="user", password=SecretStr("Pw-9xq"), security="plain")
    assert "Pw-9xq" not in repr(s) and s.where == "127.0.0.1:1143"


def test_parse_percent_decoding_and_defaults() -> None:
    s = parse_imap_url("imap://van%20thu%40huyen:p%40ss%3Aw%2Fd%25@mail.huyen.example?starttls=true")
    assert (s.user, s.password.get_secret_value(), s.port, s.security) == (
        "van thu@huyen",
        "p@ss:w/d%",
        143,
        "starttls",
    )
    t = parse_imap_url("IMAPS://u:p@[::1]?folder=Hộp%20thư&processed_folder=Đã%20xử%20lý&timeout=5&ssl=true")
    expected = ("::1", 993, "tls", "Hộp thư", "Đã xử lý", 5.0)
    assert (t.host, t.port, t.security, t.folder, t.processed_folder, t.timeout) == expected
    assert t.where == "[::1]:993"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://u:SECRETPW@host", "scheme"),
        ("u:SECRETPW@host", "scheme"),
        ("imap://u:SECRETPW@:143", "host is missing"),
        ("imap://:SECRETPW@host", "user name is missing"),
        ("imap://u@host", "password is missing"),
        ("imap://u:SECRETPW@host:abc", "port"),
        ("imap://u:SECRETPW@host:70000", "port"),
        ("imap://u:SECRET/PW@host", "percent-encode"),
        ("imap://u:SECRET#PW@host", "percent-encode"),
        ("imap://u:SECRETPW@host/INBOX", "unexpected path"),
        ("imap://u:SECRETPW@host?ssl=true", "ssl contradicts"),
        ("imaps://u:SECRETPW@host?ssl=false", "ssl contradicts"),
        ("imaps://u:SECRETPW@host?starttls=true", "starttls"),
        ("imap://u:SECRETPW@host?starttls=maybe", "option starttls cannot be 'maybe'; write true/false, yes/no or 1/0"),
        ("imap://u:SECRETPW@host?fodler=INBOX", "unknown option 'fodler'"),
        ("imap://u:SECRETPW@host?folder=a&folder=b", "given twice"),
        ("imap://u:SECRETPW@host?folder=", "folder must not be empty"),
        ("imap://u:SECRETPW@host?timeout=soon", "timeout"),
        ("imap://u:SECRETPW@[::1", "does not parse"),
    ],
)
def test_parse_errors_name_the_part_and_hide_the_password(url: str, fragment: str) -> None:
    with pytest.raises(MailUrlError) as info:
        parse_imap_url(url)
    assert fragment in str(info.value)
    assert "SECRET" not in str(info.value)
