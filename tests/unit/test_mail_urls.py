"""The one strict reader of FOLLOWUP_SMTP_URL / FOLLOWUP_IMAP_URL, secrets kept out of sight, and fast failures."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from followup.mail.inbox import ImapInbox, InboxUnavailable, parse_imap_url
from followup.mail.sender import ServerUnavailable, SmtpSender, SmtpSettings
from followup.mail.urls import MailUrlError, parse_mail_url
from followup.settings import Settings

SECRET = "Mat-Khau-9xQ"


def test_a_misspelt_boolean_is_an_error_not_a_plain_text_login() -> None:
    with pytest.raises(MailUrlError) as info:
        SmtpSettings.from_url(f"smtp://u:{SECRET}@mail.example:587?starttls=ture")
    message = str(info.value)
    assert "FOLLOWUP_SMTP_URL" in message and "starttls" in message and "'ture'" in message
    assert "true/false, yes/no or 1/0" in message and SECRET not in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("YES", True), ("1", True), ("False", False), ("no", False), ("0", False)]
)
def test_booleans_are_exactly_true_false_yes_no_1_0(text: str, value: bool) -> None:
    assert (SmtpSettings.from_url(f"smtp://mail.example?starttls={text}").security == "starttls") is value
    assert (parse_imap_url(f"imap://u:{SECRET}@127.0.0.1?starttls={text}").security == "starttls") is value


@pytest.mark.parametrize("text", ["on", "off", "ture", "", "2"])
def test_other_booleans_are_refused_on_both_sides(text: str) -> None:
    for url, variable in [
        (f"smtp://mail.example?starttls={text}", "FOLLOWUP_SMTP_URL"),
        (f"imap://u:{SECRET}@127.0.0.1?starttls={text}", "FOLLOWUP_IMAP_URL"),
    ]:
        with pytest.raises(MailUrlError, match=f"^{variable}: option starttls cannot be"):
            parse_mail_url(url, "smtp" if url.startswith("smtp") else "imap")


def test_same_options_on_both_sides() -> None:
    query = "starttls=yes&timeout=3&retries=0&backoff=0.5"
    smtp = SmtpSettings.from_url(f"smtp://u:{SECRET}@mail.example?{query}")
    imap = parse_imap_url(f"imap://u:{SECRET}@mail.example?{query}&folder=Hộp%20thư&processed_folder=Xong")
    for parsed in (smtp, imap):
        assert (parsed.security, parsed.timeout, parsed.retries, parsed.backoff) == ("starttls", 3.0, 0, 0.5)
    assert (smtp.port, imap.port, imap.folder, imap.processed_folder) == (587, 143, "Hộp thư", "Xong")
    with pytest.raises(MailUrlError, match="unknown option 'folder'; known options: backoff, insecure_login"):
        SmtpSettings.from_url("smtp://mail.example?folder=INBOX")


def test_user_and_password_are_percent_decoded() -> None:
    s = SmtpSettings.from_url("smtps://van%20thu%40huyen:p%40ss%3Aw%2Fd%25@mail.example")
    assert (s.user, s.port, s.security) == ("van thu@huyen", 465, "tls")
    assert s.password is not None and s.password.get_secret_value() == "p@ss:w/d%"


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        (f"smtp://u:{SECRET}@mail.example:25", "use starttls=true (port 587) or smtps:// (port 465)"),
        (f"imap://u:{SECRET}@10.0.0.5", "use starttls=true (port 143) or imaps:// (port 993)"),
        (f"smtp://u:{SECRET}@mail.example?starttls=false", "insecure_login=true"),
    ],
)
def test_a_password_in_clear_over_the_network_is_refused(url: str, fix: str) -> None:
    with pytest.raises(MailUrlError) as info:
        parse_mail_url(url, "smtp" if url.startswith("smtp") else "imap")
    assert "unencrypted" in str(info.value) and fix in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://u:{SECRET}@127.0.0.1:2525",
        f"smtp://u:{SECRET}@127.8.9.1",
        f"smtp://u:{SECRET}@[::1]:2525",
        f"smtp://u:{SECRET}@LocalHost",
        f"smtp://u:{SECRET}@mail.example?insecure_login=true",
        f"smtp://u:{SECRET}@mail.example?starttls=true",
        f"smtps://u:{SECRET}@mail.example",
        "smtp://mail.example",  # no password, nothing to protect
    ],
)
def test_loopback_encryption_or_a_knowing_choice_allow_the_login(url: str) -> None:
    SmtpSettings.from_url(url)


BAD_URLS = [
    f"http://u:{SECRET}@host",
    f"smtp://u:{SECRET}@:25",
    f"smtp://u:{SECRET}@host:abc",
    f"smtp://u:{SECRET}@host/path",
    f"smtp://u:{SECRET}@127.0.0.1?timeout={SECRET}",
    f"smtp://u:{SECRET}@127.0.0.1?retries=many",
    f"smtp://u:{SECRET}@127.0.0.1?backoff=-1",
    f"smtp://u:{SECRET}@127.0.0.1?{SECRET}=1",
    f"smtp://u:{SECRET}@127.0.0.1?starttls={SECRET}",
    f"smtps://u:{SECRET}@127.0.0.1?ssl=false",
    f"smtp://u:{SECRET}@mail.example",
    f"imap://u:{SECRET}@mail.example",
    f"imap://:{SECRET}@127.0.0.1",
    f"imap://u:{SECRET}@127.0.0.1?folder=",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_every_parser_error_names_the_variable_and_hides_the_password(url: str) -> None:
    kind = "imap" if url.startswith("imap") else "smtp"
    with pytest.raises(MailUrlError) as info:
        parse_mail_url(url, kind)
    assert str(info.value).startswith(f"FOLLOWUP_{kind.upper()}_URL: ")
    assert SECRET not in str(info.value) and "\n" not in str(info.value)


def test_no_repr_or_str_shows_a_password() -> None:
    settings = Settings(
        smtp_url=f"smtp://u:{SECRET}@127.0.0.1:2525",
        imap_url=f"imaps://u:{SECRET}@mail.example",
        database_url=f"postgresql://u:{SECRET}@db.example/followup",
    )
    smtp = SmtpSettings.from_url(settings.smtp_url.get_secret_value())  # type: ignore[union-attr]
    imap = parse_imap_url(settings.imap_url.get_secret_value())  # type: ignore[union-attr]
    shown = [repr(settings), str(settings), repr(settings.db_url), settings.db_shown, repr(smtp), repr(imap)]
    shown += [repr(parse_mail_url(settings.smtp_url.get_secret_value(), "smtp"))]  # type: ignore[union-attr]
    shown += [repr(SmtpSender(smtp)), repr(ImapInbox(imap))]
    for text in shown:
        assert SECRET not in text, text
    assert settings.db_url.get_secret_value().startswith(f"postgresql://u:{SECRET}@")  # unwrapped at the edge only


# --------------------------------------------------------------------------- unreachable servers


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word, like a blackholed server after the handshake."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _one_line(message: str) -> None:
    assert "\n" not in message and SECRET not in message


def test_smtp_refused_is_one_line_at_once(closed_port: int) -> None:
    sleeps: list[float] = []
    sender = SmtpSender(SmtpSettings.from_url(f"smtp://u:{SECRET}@127.0.0.1:{closed_port}"), connect_retries=0)
    sender.retry = type(sender.retry)(attempts=4, sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(ServerUnavailable) as info, sender:
        sender.send("a@huyen.example", ["b@xa.example"], b"Subject: x\r\n\r\nx\r\n")
    assert time.monotonic() - started < 2 and sleeps == []
    message = str(info.value)
    _one_line(message)
    assert f"127.0.0.1:{closed_port}" in message and "refused" in message and "FOLLOWUP_SMTP_URL" in message


def test_smtp_scheduled_runs_retry_an_unreachable_server(closed_port: int) -> None:
    sleeps: list[float] = []
    sender = SmtpSender(SmtpSettings.from_url(f"smtp://127.0.0.1:{closed_port}?retries=2&backoff=0.5"))
    sender.retry = type(sender.retry)(attempts=3, first_delay=0.5, sleep=sleeps.append)
    with pytest.raises(ServerUnavailable), sender:
        sender.send("a@huyen.example", ["b@xa.example"], b"x")
    assert sleeps == [0.5, 1.0]


def test_smtp_silent_server_times_out_within_the_url_timeout(silent_port: int) -> None:
    sender = SmtpSender(SmtpSettings.from_url(f"smtp://127.0.0.1:{silent_port}?timeout=0.5"), connect_retries=0)
    started = time.monotonic()
    with pytest.raises(ServerUnavailable, match=r"timed out") as info, sender:
        sender.send("a@huyen.example", ["b@xa.example"], b"x")
    assert time.monotonic() - started < 2
    _one_line(str(info.value))


def test_imap_refused_is_one_line_at_once(closed_port: int) -> None:
    sleeps: list[float] = []
    inbox = ImapInbox(f"imap://u:{SECRET}@127.0.0.1:{closed_port}", connect_retries=0, sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(InboxUnavailable) as info, inbox:
        pass
    assert time.monotonic() - started < 2 and sleeps == []
    message = str(info.value)
    _one_line(message)
    assert f"127.0.0.1:{closed_port}" in message and "refused" in message and "FOLLOWUP_IMAP_URL" in message


def test_imap_silent_server_times_out_within_the_url_timeout(silent_port: int) -> None:
    inbox = ImapInbox(f"imap://u:{SECRET}@127.0.0.1:{silent_port}?timeout=0.5", connect_retries=0)
    started = time.monotonic()
    with pytest.raises(InboxUnavailable, match=r"timed out") as info, inbox:
        pass
    assert time.monotonic() - started < 2
    _one_line(str(info.value))


def test_a_name_that_does_not_resolve_says_so() -> None:
    sender = SmtpSender(SmtpSettings.from_url("smtp://mail.invalid:25?timeout=2"), connect_retries=0)
    with pytest.raises(ServerUnavailable, match=r"host name 'mail.invalid' not found") as info, sender:
        sender.send("a@huyen.example", ["b@xa.example"], b"x")
    _one_line(str(info.value))
