"""One strict reader for the mail server URLs, FOLLOWUP_SMTP_URL and FOLLOWUP_IMAP_URL.

A typo in a URL must not silently weaken it (``starttls=ture`` once meant a plain-text login), so every
option is checked and every mistake is an error that names the variable, the option and what is
accepted, and never the password.

Format::

    smtp://[USER:PASSWORD@]HOST[:PORT][?OPTIONS]     plain (port 25), or STARTTLS with starttls=true (port 587)
    smtps://[USER:PASSWORD@]HOST[:PORT][?OPTIONS]    TLS from the first byte (port 465)
    imap://USER:PASSWORD@HOST[:PORT][?OPTIONS]       plain, or STARTTLS with starttls=true (port 143)
    imaps://USER:PASSWORD@HOST[:PORT][?OPTIONS]      TLS from the first byte (port 993)

USER and PASSWORD are percent-decoded, so write ``@ : / ? # %`` in them as ``%40 %3A %2F %3F %23 %25``.
OPTIONS, as ``name=value`` joined by ``&``; unknown options are rejected so typos show:

- ``starttls`` (boolean, smtp:// and imap:// only): upgrade the connection to TLS before logging in.
- ``ssl`` (boolean, optional): must agree with the scheme (true for smtps/imaps, false otherwise).
- ``timeout`` (seconds, default 10): how long to wait for connecting, TLS and the greeting.
- ``retries`` (whole number): how often a failure that may pass is tried again (SMTP: a deferred
  message or a dropped connection, default 3; IMAP: a failed connection, default 2).
- ``backoff`` (seconds): the pause before the first retry, doubling each time (SMTP 1, IMAP 2).
- ``insecure_login`` (boolean, default false): allow sending the password unencrypted to a host other
  than this machine. Without it such a URL is refused.
- IMAP only: ``folder`` (default ``INBOX``) and ``processed_folder`` (default ``Followup/Processed``).

Booleans are exactly true/false, yes/no or 1/0 (any case).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from followup.i18n import _

__all__ = ["MailUrl", "MailUrlError", "connect_failure", "is_loopback", "parse_mail_url", "redact"]

Kind = Literal["smtp", "imap"]
Security = Literal["plain", "starttls", "tls"]

VARIABLE: dict[Kind, str] = {"smtp": "FOLLOWUP_SMTP_URL", "imap": "FOLLOWUP_IMAP_URL"}
PORTS: dict[tuple[Kind, Security], int] = {
    ("smtp", "plain"): 25,
    ("smtp", "starttls"): 587,
    ("smtp", "tls"): 465,
    ("imap", "plain"): 143,
    ("imap", "starttls"): 143,
    ("imap", "tls"): 993,
}
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES: dict[Kind, int] = {"smtp": 3, "imap": 2}
DEFAULT_BACKOFF: dict[Kind, float] = {"smtp": 1.0, "imap": 2.0}

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_COMMON = {"starttls", "ssl", "timeout", "retries", "backoff", "insecure_login"}
_OPTIONS: dict[Kind, set[str]] = {"smtp": _COMMON, "imap": _COMMON | {"folder", "processed_folder"}}


class MailUrlError(ValueError):
    """A mail server URL is wrong; the message names the variable and the part, never the password."""


@dataclass(frozen=True)
class MailUrl:
    """A parsed mail server URL; ``repr`` shows the password as ``**********``."""

    kind: Kind
    host: str
    port: int
    user: str | None
    password: SecretStr | None
    security: Security
    timeout: float
    retries: int
    backoff: float
    options: dict[str, str] = field(default_factory=dict)  # the kind-specific ones, e.g. IMAP's folder

    @property
    def where(self) -> str:
        """``host:port`` for messages (IPv6 addresses bracketed)."""
        return host_port(self.host, self.port)


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """This machine: 127.0.0.0/8, ::1 or localhost, where a plain-text password never crosses a network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(text: str, secret: SecretStr | str | None) -> str:
    """``text`` with the password replaced, for messages that quote a server's or a library's words."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return text.replace(value, "***") if value else text


def parse_mail_url(url: str, kind: Kind) -> MailUrl:
    """Parse an SMTP or IMAP URL strictly (see the module docstring); raise MailUrlError."""
    var = VARIABLE[kind]
    schemes = {"plain": kind, "tls": f"{kind}s"}
    example = f"{kind}://user:password@mail.example:{PORTS[(kind, 'starttls')]}?starttls=true"

    def error(message: str) -> MailUrlError:
        return MailUrlError(f"{var}: {message}")

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise error(
            _(
                "the host or port does not parse; the port must be a number from 1 to 65535 "
                "(if the password contains '/', '?' or '#', percent-encode them as %2F %3F %23)"
            )
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in schemes.values():
        raise error(
            _(
                "the scheme must be {plain}:// (plain, or STARTTLS with ?starttls=true) "
                "or {tls}:// (TLS); e.g. {example}"
            ).format(plain=schemes["plain"], tls=schemes["tls"], example=example)
        )
    if not parts.hostname:
        raise error(_("the host is missing; e.g. {example}").format(example=example))
    if parts.username is None and "@" in url:
        raise error(
            _("user:password@host is cut short by a '/', '?' or '#'; percent-encode them in the password (%2F %3F %23)")
        )
    if parts.path not in ("", "/"):
        raise error(
            _(
                "unexpected path after the host; choose the mailbox with ?folder=NAME "
                "(percent-encode '/' in the password as %2F)"
            )
            if kind == "imap"
            else _("unexpected path after the host (percent-encode '/' in the password as %2F)")
        )
    user = unquote(parts.username) if parts.username else None
    password = SecretStr(unquote(parts.password)) if parts.password else None
    if kind == "imap" and not user:
        raise error(_("the user name is missing; write imap://user:password@host (percent-encode @ : / ? # % in them)"))
    if user and password is None:
        raise error(
            _("the password is missing; write {kind}://user:password@host (percent-encode @ : / ? # % in it)").format(
                kind=kind
            )
        )
    secret = password.get_secret_value() if password else ""

    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _OPTIONS[kind]:
            shown = repr(name) if re.fullmatch(r"[A-Za-z_]{1,30}", name) else _("(not shown)")
            known = ", ".join(sorted(_OPTIONS[kind]))
            raise error(_("unknown option {name}; known options: {known}").format(name=shown, known=known))
        if name in options:
            raise error(_("option {name} is given twice").format(name=name))
        options[name] = value

    def shown(value: str) -> str:
        return repr(value) if value and len(value) <= 30 and (not secret or secret not in value) else _("this value")

    def boolean(name: str) -> bool:
        value = options.get(name, "false")
        try:
            return _BOOLEANS[value.strip().lower()]
        except KeyError:
            raise error(
                _("option {name} cannot be {value}; write true/false, yes/no or 1/0").format(
                    name=name, value=shown(value)
                )
            ) from None

    def number(name: str, default: float, low: float, high: float, whole: bool = False) -> float:
        if name not in options:
            return default
        value = options[name]
        what = (
            _("option {name} cannot be {value}; write a whole number from {low} to {high}")
            if whole
            else _("option {name} cannot be {value}; write a number of seconds from {low} to {high}")
        )
        try:
            result = int(value) if whole else float(value)
        except ValueError:
            result = None
        if result is None or not low <= result <= high:
            raise error(what.format(name=name, value=shown(value), low=f"{low:g}", high=f"{high:g}"))
        return result

    implicit_tls = scheme == schemes["tls"]
    if "ssl" in options and boolean("ssl") != implicit_tls:
        raise error(
            _(
                "option ssl contradicts the scheme {scheme}://; use {tls}:// for TLS from the first byte, "
                "{plain}:// (optionally with starttls=true) otherwise"
            ).format(scheme=scheme, tls=schemes["tls"], plain=schemes["plain"])
        )
    starttls = boolean("starttls")
    if starttls and implicit_tls:
        raise error(
            _("option starttls=true only applies to {plain}://; {scheme}:// is already TLS").format(
                plain=schemes["plain"], scheme=scheme
            )
        )
    security: Security = "tls" if implicit_tls else "starttls" if starttls else "plain"
    timeout = number("timeout", DEFAULT_TIMEOUT, 0.1, 600)
    retries = int(number("retries", DEFAULT_RETRIES[kind], 0, 10, whole=True))
    backoff = number("backoff", DEFAULT_BACKOFF[kind], 0, 600)
    for name in ("folder", "processed_folder"):
        if name in options and not options[name].strip():
            raise error(_("option {name} must not be empty; leave it out for the default").format(name=name))
    port = port or PORTS[(kind, security)]
    if (
        password is not None
        and security == "plain"
        and not is_loopback(parts.hostname)
        and not boolean("insecure_login")
    ):
        raise error(
            _(
                "the password would cross the network unencrypted to {host}; use starttls=true (port {starttls_port}) "
                "or {tls}:// (port {tls_port}), or add insecure_login=true if you knowingly accept that"
            ).format(
                host=host_port(parts.hostname, port),
                starttls_port=PORTS[(kind, "starttls")],
                tls=schemes["tls"],
                tls_port=PORTS[(kind, "tls")],
            )
        )
    return MailUrl(
        kind=kind,
        host=parts.hostname,
        port=port,
        user=user,
        password=password,
        security=security,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        options={k: v.strip() for k, v in options.items() if k in ("folder", "processed_folder")},
    )


def connect_failure(
    exc: BaseException, kind: Kind, host: str, port: int, timeout: float, password: SecretStr | None
) -> str:
    """One line saying what failed when connecting to a mail server and what to check; no password.

    Only the library's words (``reason``) can carry the password; our own words are not searched for it, so a
    short password ("port", "p") cannot blank a piece of the advice."""
    var, at = VARIABLE[kind], host_port(host, port)
    if isinstance(exc.__context__, TimeoutError) and not isinstance(exc, TimeoutError):
        exc = exc.__context__  # smtplib words a silent greeting as "Connection unexpectedly closed: timed out"
    reason = redact(" ".join(str(exc).split()), password) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        text = _("connection refused by {at}: no mail server listens there; check the host and port in {var}")
    elif isinstance(exc, TimeoutError):
        text = _(
            "no answer from {at} within {timeout} s (timed out); check the host and port in {var}, "
            "the network and any firewall"
        )
    elif isinstance(exc, socket.gaierror):
        text = _("host name {host} not found ({reason}); check the host in {var} and the network's DNS")
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = _(
            "TLS failure with {at}: its certificate is not trusted ({reason}); "
            "check the host name in {var} and the server's certificate"
        )
    elif isinstance(exc, ssl.SSLError):
        text = _(
            "TLS failure with {at} ({reason}); check that the port speaks TLS from the first byte "
            "({kind}s://) or STARTTLS (starttls=true) as {var} says"
        )
    elif isinstance(exc, OSError) and not type(exc).__module__.startswith(("smtplib", "imaplib", "imapclient")):
        text = _("cannot reach {at} ({reason}); check the host in {var} and the network")
    else:
        text = _("{at} broke off while connecting ({reason}); check the host, port and TLS options in {var}")
    return text.format(at=at, var=var, timeout=f"{timeout:g}", host=repr(host), reason=reason, kind=kind)
