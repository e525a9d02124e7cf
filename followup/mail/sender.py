"""Sending: one SMTP connection per batch, or a Maildir outbox when no server is configured.

yagmail's own sender opens a connection per message and hides failures behind ``False``; here a
transient failure (4xx, dropped connection) is retried with backoff on a fresh connection if needed,
and a permanent one (5xx) raises ``PermanentFailure`` for that message only.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from pydantic import SecretStr

from followup.i18n import _
from followup.mail.urls import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Security,
    connect_failure,
    host_port,
    parse_mail_url,
    redact,
)


class SendFailure(Exception):
    """A message could not be delivered; ``permanent`` says whether trying again can help."""

    permanent = False

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class PermanentFailure(SendFailure):
    permanent = True


class TransientFailure(SendFailure):
    pass


class ServerUnavailable(TransientFailure):
    """The server cannot be reached at all: stop the batch, a later run sends the rest."""


class LoginRefused(ServerUnavailable):
    """The server refused the user or password: stop the batch, and do not retry, it will not fix itself."""

    permanent = True


#: Once connected, how long a command may take (a large message, a server scanning it for viruses).
COMMAND_TIMEOUT = 120.0


class Sender(Protocol):
    """Where composed messages go."""

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def send(self, from_addr: str, recipients: list[str], data: bytes) -> list[str]:
        """Deliver; return the recipients refused (others accepted). Raise SendFailure if none accepted."""
        ...

    @property
    def where(self) -> str: ...


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SmtpSettings:
    """A parsed FOLLOWUP_SMTP_URL (format in ``followup.mail.urls``); the password stays a SecretStr."""

    host: str
    port: int
    user: str | None = None
    password: SecretStr | None = None
    security: Security = "plain"
    timeout: float = DEFAULT_TIMEOUT  # connecting, TLS, greeting and login
    retries: int = DEFAULT_RETRIES["smtp"]  # tries again after a transient failure
    backoff: float = DEFAULT_BACKOFF["smtp"]  # seconds before the first retry; doubles each time

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read ``smtp://user:pass@host:587?starttls=true`` or ``smtps://host:465``; MailUrlError if wrong."""
        parsed = parse_mail_url(url, "smtp")
        return cls(
            host=parsed.host,
            port=parsed.port,
            user=parsed.user,
            password=parsed.password,
            security=parsed.security,
            timeout=parsed.timeout,
            retries=parsed.retries,
            backoff=parsed.backoff,
        )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        return [min(self.first_delay * self.factor**i, self.max_delay) for i in range(self.attempts - 1)]


# --------------------------------------------------------------------------- SMTP


class SmtpSender:
    """One connection for a whole batch; reconnects when the server drops it.

    ``connect_retries`` is how often an unreachable server is tried again within one ``send`` (default:
    the URL's ``retries``); the command line passes 0 so the clerk hears at once, scheduled runs retry.
    """

    def __init__(self, settings: SmtpSettings, retry: RetryPolicy | None = None, connect_retries: int | None = None):
        self.settings = settings
        self.retry = retry or RetryPolicy(attempts=settings.retries + 1, first_delay=settings.backoff)
        self.connect_retries = settings.retries if connect_retries is None else connect_retries
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"smtp://{host_port(self.settings.host, self.settings.port)}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        """Connect, TLS and log in within the URL's timeout; then allow commands the longer COMMAND_TIMEOUT."""
        s = self.settings
        at = host_port(s.host, s.port)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password.get_secret_value() if s.password else "")
            if smtp.sock is not None:
                smtp.sock.settimeout(max(s.timeout, COMMAND_TIMEOUT))
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(smtp)
            raise LoginRefused(
                _(
                    "SMTP: login refused by {at} for user {user} ({code}); "
                    "check the user and password in FOLLOWUP_SMTP_URL"
                ).format(at=at, user=repr(s.user), code=exc.smtp_code),
                exc.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close_quietly(smtp)
            raise ServerUnavailable(
                _(
                    "SMTP: TLS failure: {at} does not offer STARTTLS; use smtps:// if that port speaks TLS from the "
                    "first byte, or check the port in FOLLOWUP_SMTP_URL"
                ).format(at=at)
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(smtp)
            what = connect_failure(exc, "smtp", s.host, s.port, s.timeout, s.password)
            raise ServerUnavailable(f"SMTP: {what}") from None
        return smtp

    def send(self, from_addr: str, recipients: list[str], data: bytes) -> list[str]:
        delays = self.retry.delays()
        unreachable = 0
        for attempt in range(len(delays) + 1):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                refused = self._smtp.sendmail(from_addr, recipients, data)
                return sorted(refused)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _message in exc.recipients.values()]
                detail = "; ".join(
                    f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
                )
                failure: SendFailure = (
                    PermanentFailure(_("recipients refused: {detail}").format(detail=detail), max(codes))
                    if all(code >= 500 for code in codes)
                    else TransientFailure(_("recipients deferred: {detail}").format(detail=detail), min(codes))
                )
                self._reset()
            except smtplib.SMTPResponseException as exc:
                text = (
                    exc.smtp_error.decode(errors="replace")
                    if isinstance(exc.smtp_error, bytes)
                    else str(exc.smtp_error)
                )
                cls = PermanentFailure if exc.smtp_code >= 500 else TransientFailure
                failure = cls(f"{exc.smtp_code} {text}", exc.smtp_code)
                if exc.smtp_code == 421:
                    self._drop()
                else:
                    self._reset()
            except ServerUnavailable as exc:  # from _connect
                failure = exc
                unreachable += 1
                if unreachable > self.connect_retries:
                    raise
            except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
                reason = redact(str(exc), self.settings.password)
                failure = TransientFailure(_("connection to {at} lost: {reason}").format(at=self.where, reason=reason))
                self._drop()
            if failure.permanent or attempt == len(delays):
                raise failure
            self.retry.sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


# --------------------------------------------------------------------------- Maildir


class MaildirSender:
    """Mail into a Maildir folder that any mail client can open: the default with no SMTP server."""

    def __init__(self, path: Path):
        self.path = path
        self._box: mailbox.Maildir | None = None

    @property
    def where(self) -> str:
        return str(self.path)

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(self.path, create=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._box = None

    def send(self, from_addr: str, recipients: list[str], data: bytes) -> list[str]:
        assert self._box is not None, "use MaildirSender as a context manager"
        self._box.add(data)
        return []


def open_sender(
    smtp_url: SecretStr | str | None, outbox: Path, retry: RetryPolicy | None = None, connect_retries: int | None = None
) -> Sender:
    """SMTP when FOLLOWUP_SMTP_URL is set, else the Maildir outbox; ``connect_retries`` as in SmtpSender."""
    url = smtp_url.get_secret_value() if isinstance(smtp_url, SecretStr) else smtp_url
    if url and url.strip():
        return SmtpSender(SmtpSettings.from_url(url), retry, connect_retries)
    return MaildirSender(outbox)
