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
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit


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
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "none"  # none, starttls, ssl
    timeout: float = 30.0
    retries: int = 4  # tries per message on a transient failure
    backoff: float = 1.0  # seconds before the second try; doubles each time

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read ``smtp://user:pass@host:587?starttls=true`` or ``smtps://host:465``.

        Optional query parameters: ``timeout`` (seconds), ``retries`` (tries per message), ``backoff`` (seconds).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(
                f"FOLLOWUP_SMTP_URL must start with smtp:// or smtps:// (got {parts.scheme or 'nothing'}://); "
                "e.g. smtp://user:password@mail.example:587?starttls=true"
            )
        if not parts.hostname:
            raise ValueError("FOLLOWUP_SMTP_URL has no host name; e.g. smtp://mail.example:587")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        tls = (
            "ssl"
            if parts.scheme == "smtps"
            else ("starttls" if query.get("starttls") in ("1", "true", "yes") else "none")
        )
        try:
            port = parts.port or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
            numbers = {"timeout": float(query.get("timeout", 30)), "retries": int(query.get("retries", 4))}
            numbers["backoff"] = float(query.get("backoff", 1.0))
        except ValueError as exc:
            raise ValueError("FOLLOWUP_SMTP_URL has a port, timeout, retries or backoff that is not a number") from exc
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            timeout=numbers["timeout"],
            retries=max(1, int(numbers["retries"])),
            backoff=numbers["backoff"],
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
    """One connection for a whole batch; reconnects when the server drops it."""

    def __init__(self, settings: SmtpSettings, retry: RetryPolicy | None = None):
        self.settings = settings
        self.retry = retry or RetryPolicy(attempts=settings.retries, first_delay=settings.backoff)
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"smtp://{self.settings.host}:{self.settings.port}"

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
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure(
                f"{self.where} refused the login for {s.user!r} ({exc.smtp_code}); check FOLLOWUP_SMTP_URL",
                exc.smtp_code,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"cannot reach {self.where}: {exc}") from exc
        return smtp

    def send(self, from_addr: str, recipients: list[str], data: bytes) -> list[str]:
        delays = self.retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                refused = self._smtp.sendmail(from_addr, recipients, data)
                return sorted(refused)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                detail = "; ".join(
                    f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
                )
                failure: SendFailure = (
                    PermanentFailure(f"recipients refused: {detail}", max(codes))
                    if all(code >= 500 for code in codes)
                    else TransientFailure(f"recipients deferred: {detail}", min(codes))
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
            except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
                failure = TransientFailure(f"connection to {self.where} lost: {exc}")
                self._drop()
            except TransientFailure as exc:  # from _connect
                failure = exc
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


def open_sender(smtp_url: str | None, outbox: Path, retry: RetryPolicy | None = None) -> Sender:
    if smtp_url:
        return SmtpSender(SmtpSettings.from_url(smtp_url), retry)
    return MaildirSender(outbox)
