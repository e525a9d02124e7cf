"""A real pymap IMAP server on loopback, for integration tests.

pymap runs in a subprocess so its asyncio loop, logging and in-memory state never leak into the
test process. Two pymap backends are supported:

* ``dict`` (default): in-memory. The only account is the one given by ``pymap dict --demo-user
  NAME --demo-password PASS`` (see ``pymap.backend.dict.DictBackend.add_subparser``). Its
  PERMANENTFLAGS hold system flags only, so it exercises the "move to a folder" fallback.
* ``maildir``: on disk in a temporary directory. Accounts live in ``pymap-etc-passwd`` /
  ``pymap-etc-shadow`` in the base directory (``pymap.backend.maildir.users``), keywords are
  declared in the mailbox's ``dovecot-keywords`` file, which pymap then lists in PERMANENTFLAGS, so
  it exercises the keyword path.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.utils
import imaplib
import mailbox
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

from pysasl.hashing import BuiltinHash

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 15.0
Backend = Literal["dict", "maildir"]


@dataclass(frozen=True)
class ImapServer:
    """Where a running test server listens and how to log in to it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    url: str = field(repr=False)
    startup_seconds: float = 0.0
    cafile: Path | None = None
    stop: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)
    """Stop the server early (e.g. to test a lost connection); leaving the context also stops it."""

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)

    def url_for(self, **params: str) -> str:
        """The server's ``imap://`` URL with extra query parameters (e.g. ``folder=...``)."""
        return _url(self.user, self.password, self.port, {**({"starttls": "true"} if self.cafile else {}), **params})

    @contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in stdlib client, independent of the code under test."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        # imaplib waits for "+" before each APPEND literal; without NODELAY, Nagle + delayed ACK add ~40 ms.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.cafile:
            conn.starttls(self.ssl_context())
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn.login(self.user, self.password)
            yield conn
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def create_folder(self, folder: str) -> None:
        with self.connect() as conn:
            _check(conn.create(_quoted(folder)), "CREATE")

    def deliver(self, raw: bytes, folder: str = "INBOX", received: dt.datetime | None = None) -> None:
        """Put one raw RFC 5322 message into ``folder`` (IMAP APPEND), received at ``received`` (see deliver_many)."""
        self.deliver_many([(raw, received)], folder)

    def deliver_many(self, messages: Iterable[bytes | tuple[bytes, dt.datetime | None]], folder: str = "INBOX") -> None:
        """APPEND each message with its INTERNALDATE, the moment the server received it: the one given with it
        as ``(raw, moment)``, else the message's own Date (as if it arrived when sent), else the server's now.
        pymap keeps the APPEND date as INTERNALDATE (the dict backend as given, the maildir one as file time)."""
        with self.connect() as conn:
            for item in messages:
                raw, received = item if isinstance(item, tuple) else (item, None)
                when = received or date_of(raw)
                _check(conn.append(_quoted(folder), None, when, raw), "APPEND")

    def search(self, criteria: str = "ALL", folder: str = "INBOX") -> list[int]:
        """UIDs in ``folder`` matching ``criteria`` (opened read-only, so nothing changes)."""
        with self.connect() as conn:
            _check(conn.select(_quoted(folder), readonly=True), "SELECT")
            typ, data = conn.uid("SEARCH", criteria)
            _check((typ, data), "SEARCH")
            return [int(uid) for uid in data[0].split()]

    def flags(self, folder: str = "INBOX") -> dict[int, bytes]:
        """FLAGS of every message in ``folder`` by UID, raw as the server sent them."""
        with self.connect() as conn:
            _check(conn.select(_quoted(folder), readonly=True), "SELECT")
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            _check((typ, data), "FETCH")
            result: dict[int, bytes] = {}
            for item in data:
                if not isinstance(item, bytes):
                    continue
                uid = int(item.split(b"UID ", 1)[1].split()[0].rstrip(b")"))
                result[uid] = item.split(b"FLAGS (", 1)[1].split(b")", 1)[0]
            return result


def date_of(raw: bytes) -> dt.datetime | None:
    """The message's Date header as an aware moment; None if it has none or it cannot be read."""
    value = email.parser.BytesHeaderParser().parsebytes(raw).get("Date")
    try:
        moment = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _url(user: str, password: str, port: int, params: dict[str, str]) -> str:
    query = urlencode({"ssl": "false", **params})
    return f"imap://{quote(user, safe='')}:{quote(password, safe='')}@{HOST}:{port}?{query}"


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple[str, list[bytes | None]] | tuple[str, list[bytes]], what: str) -> None:
    typ, data = response
    if typ != "OK":
        raise RuntimeError(f"test IMAP server refused {what}: {typ} {data!r}")


def free_port() -> int:
    """A loopback port nobody listens on right now (the caller may still lose a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pymap_command(
    port: int, backend: Backend, user: str, password: str, base_dir: Path | None, tls: tuple[Path, Path] | None
) -> list[str]:
    """The exact pymap command line; run with this interpreter so the venv's pymap is used."""
    common = [sys.executable, "-c", "from pymap.main import main; main()", "--host", HOST, "--port", str(port)]
    common += ["--cert", str(tls[0]), "--key", str(tls[1])] if tls else ["--no-tls"]
    if backend == "dict":
        return [*common, "dict", "--demo-user", user, "--demo-password", password]
    assert base_dir is not None
    return [*common, "maildir", str(base_dir)]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1, so STARTTLS can be tested with full verification."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _prepare_maildir(base_dir: Path, user: str, password: str, keywords: Sequence[str]) -> None:
    """Write pymap's passwd/shadow files and the INBOX Maildir with its declared keywords."""
    (base_dir / "pymap-etc-passwd").write_text(f"{user}:::::{user}:\r\n")
    (base_dir / "pymap-etc-shadow").write_text(f"{user}:{BuiltinHash().hash(password)}:::::::\r\n")
    mailbox.Maildir(base_dir / user, create=True)
    if keywords:
        lines = "".join(f"{index} {keyword}\n" for index, keyword in enumerate(keywords))
        (base_dir / user / "dovecot-keywords").write_text(lines)


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    """True once the port answers with an IMAP greeting; False if pymap exited first."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"pymap did not accept connections on {HOST}:{port} within {STARTUP_TIMEOUT:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets pymap's loop shut down cleanly; kill only if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def running_imap_server(
    *,
    backend: Backend = "dict",
    user: str = "vanthu",
    password: str = "s3cr:t@/?#%&",
    keywords: Sequence[str] = (),
    tls: bool = False,
) -> Iterator[ImapServer]:
    """Start pymap on a free loopback port, yield how to reach it, stop it afterwards.

    The default password deliberately contains URL delimiters so percent-decoding is exercised
    (ASCII only: IMAP LOGIN via imaplib cannot carry other characters). ``keywords`` only applies
    to the ``maildir`` backend. ``tls`` offers STARTTLS with a self-signed certificate
    (``ImapServer.cafile``); pymap then refuses LOGIN before STARTTLS.
    """
    if keywords and backend != "maildir":
        raise ValueError("keywords can only be declared with the maildir backend")
    with tempfile.TemporaryDirectory(prefix="pymap-test-") as tmp:
        tmp_path = Path(tmp)
        base_dir = tmp_path / "mail" if backend == "maildir" else None
        if base_dir is not None:
            base_dir.mkdir()
            _prepare_maildir(base_dir, user, password, keywords)
        tls_files = _self_signed(tmp_path) if tls else None
        log_path = tmp_path / "pymap.log"
        for _attempt in range(3):  # another process may grab the free port before pymap binds it
            port = free_port()
            started = time.monotonic()
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    pymap_command(port, backend, user, password, base_dir, tls_files),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            try:
                if _wait_until_listening(proc, port, started + STARTUP_TIMEOUT):
                    break
            except BaseException:
                _stop(proc)
                raise
        else:
            output = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pymap exited during startup:\n{output}")
        server = ImapServer(
            host=HOST,
            port=port,
            user=user,
            password=password,
            url=_url(user, password, port, {"starttls": "true"} if tls else {}),
            startup_seconds=time.monotonic() - started,
            cafile=tls_files[0] if tls_files else None,
            stop=lambda: _stop(proc),
        )
        try:
            yield server
        finally:
            _stop(proc)
