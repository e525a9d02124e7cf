"""The mailbox where units' replies arrive: IMAP when configured, otherwise a local Maildir.

Collecting replies must be repeatable without losing or double-counting mail, so this module only
reads raw messages and marks them processed; it never deletes anything.

``FOLLOWUP_IMAP_URL`` is read by ``followup.mail.urls`` (the format is described there), e.g.
``imaps://vanthu:PASSWORD@mail.huyen.example?folder=INBOX``. ``processed_folder`` is only used when
the server cannot store keywords; '/' in it becomes the server's hierarchy delimiter and its personal
namespace prefix is added.

"Processed" on IMAP is the keyword ``$FollowupProcessed`` when the selected folder's PERMANENTFLAGS
allow it (``\\*`` or the keyword itself); otherwise the message is moved to ``processed_folder``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mailbox
import os
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
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

__all__ = [
    "KEYWORD",
    "PROCESSED_FOLDER",
    "ImapInbox",
    "ImapSettings",
    "Inbox",
    "InboxError",
    "InboxLoginRejected",
    "InboxUnavailable",
    "MaildirInbox",
    "RawMessage",
    "open_inbox",
    "parse_imap_url",
]

KEYWORD = "$FollowupProcessed"
PROCESSED_FOLDER = "Followup/Processed"
COMMAND_TIMEOUT = 120.0  # once connected, how long a command may take (a big folder, a large message)
FETCH_BATCH = 100


class InboxError(Exception):
    """The mailbox could not be read or updated."""


class InboxUnavailable(InboxError):
    """The mailbox server cannot be reached or refuses us; collecting must wait or be fixed."""


class InboxLoginRejected(InboxUnavailable):
    """The server rejected the user name or password (not retried: it will not fix itself)."""


@dataclass(frozen=True)
class RawMessage:
    """One message exactly as stored; ``key`` identifies it in this mailbox for ``mark_processed``.

    ``received`` is when our mail server took it (IMAP INTERNALDATE, the Maildir delivery time), in UTC;
    None when the mailbox does not say. Unlike the headers, no sender can write it.
    """

    key: str
    data: bytes
    received: dt.datetime | None = None


class Inbox(Protocol):
    """What the reply collector needs from a mailbox; use as a context manager for one batch."""

    def fetch_unprocessed(self, limit: int | None = None) -> Iterator[RawMessage]: ...

    def mark_processed(self, *keys: str) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


# --------------------------------------------------------------------------- URL


@dataclass(frozen=True)
class ImapSettings:
    """A parsed FOLLOWUP_IMAP_URL. The password is a SecretStr: no ``repr`` or message shows it."""

    host: str
    port: int
    user: str
    password: SecretStr
    security: Security = "plain"
    folder: str = "INBOX"
    processed_folder: str = PROCESSED_FOLDER
    timeout: float = DEFAULT_TIMEOUT  # connecting, TLS, greeting and login
    retries: int = DEFAULT_RETRIES["imap"]  # further connection attempts when the server is unavailable
    backoff: float = DEFAULT_BACKOFF["imap"]  # seconds before the first retry; doubles each time

    @property
    def where(self) -> str:
        """``host:port`` for messages (IPv6 addresses bracketed)."""
        return host_port(self.host, self.port)


def parse_imap_url(url: str) -> ImapSettings:
    """Parse an ``imap://`` / ``imaps://`` URL (format in ``followup.mail.urls``); MailUrlError if wrong."""
    parsed = parse_mail_url(url, "imap")
    assert parsed.user is not None and parsed.password is not None  # the parser requires both for IMAP
    return ImapSettings(
        host=parsed.host,
        port=parsed.port,
        user=parsed.user,
        password=parsed.password,
        security=parsed.security,
        folder=parsed.options.get("folder", "INBOX"),
        processed_folder=parsed.options.get("processed_folder", PROCESSED_FOLDER),
        timeout=parsed.timeout,
        retries=parsed.retries,
        backoff=parsed.backoff,
    )


# --------------------------------------------------------------------------- IMAP


def _temporary_login_failure(exc: LoginError) -> bool:
    """RFC 5530 ``[UNAVAILABLE]`` means the server's own backend is down: worth retrying."""
    return "UNAVAILABLE" in str(exc).upper()


def _utc(moment: object) -> dt.datetime | None:
    """An INTERNALDATE as IMAPClient gives it with ``normalise_times=False``, in UTC; None if absent or unreadable.

    A zone of ``-0000`` (unknown) leaves it naive: taken as UTC."""
    if not isinstance(moment, dt.datetime):
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class ImapInbox:
    """Replies in an IMAP folder; one connection per ``with`` block.

    An unavailable server is tried ``connect_retries`` more times (default: the URL's ``retries``), after
    ``backoff`` seconds doubling each time; the command line passes 0 so the clerk hears at once.
    ``sleep`` performs the pauses and is injectable so tests do not wait.
    """

    def __init__(
        self,
        url: str | ImapSettings,
        *,
        connect_retries: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = FETCH_BATCH,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = url if isinstance(url, ImapSettings) else parse_imap_url(url)
        retries = self.settings.retries if connect_retries is None else connect_retries
        self._retry_delays = [self.settings.backoff * 2**i for i in range(max(0, retries))]
        self._sleep = sleep
        self._batch_size = max(1, batch_size)
        self._ssl_context = ssl_context
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._mode: Literal["keyword", "move", "copy"] = "keyword"
        self._processed = self.settings.processed_folder

    def __repr__(self) -> str:
        return f"ImapInbox({self.settings.user}@{self.settings.where}/{self.settings.folder})"

    # -- connection

    def __enter__(self) -> Self:
        self._connected()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Log out; errors are ignored because the work is already done or already failed."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect_with_retries()
        return self._client

    def _connect_with_retries(self) -> IMAPClient:
        s = self.settings
        attempts = len(self._retry_delays) + 1
        cause: Exception = InboxError("no connection attempt was made")
        for attempt in range(attempts):
            try:
                return self._connect_once()
            except LoginError as exc:
                if not _temporary_login_failure(exc):
                    reason = " ".join(redact(str(exc), s.password).split())
                    raise InboxLoginRejected(
                        _(
                            "IMAP: login refused by {at} for user {user} ({reason}); "
                            "check the user and password in FOLLOWUP_IMAP_URL"
                        ).format(at=s.where, user=repr(s.user), reason=reason)
                    ) from None
                cause = exc
            except (OSError, IMAPClientAbortError) as exc:  # refused, DNS, TLS, socket.timeout, dropped
                cause = exc
            if attempt + 1 < attempts:
                self._sleep(self._retry_delays[attempt])
        what = (
            _("IMAP: server unavailable ({reason}) at {at}; try again later or check FOLLOWUP_IMAP_URL").format(
                reason=" ".join(redact(str(cause), s.password).split()), at=s.where
            )
            if isinstance(cause, LoginError)
            else "IMAP: " + connect_failure(cause, "imap", s.host, s.port, s.timeout, s.password)
        )
        tries = " " + _("({n} attempts)").format(n=attempts) if attempts > 1 else ""
        raise InboxUnavailable(what + tries) from None

    def _connect_once(self) -> IMAPClient:
        s = self.settings
        client = IMAPClient(
            s.host,
            port=s.port,
            ssl=s.security == "tls",
            ssl_context=self._ssl_context,
            timeout=SocketTimeout(connect=s.timeout, read=max(s.timeout, COMMAND_TIMEOUT)),
        )
        client.normalise_times = False  # INTERNALDATE with the server's offset, not naive local time
        try:
            if s.security == "starttls":
                client.starttls(self._ssl_context)
            client.login(s.user, s.password.get_secret_value())
            try:
                info = client.select_folder(s.folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                raise InboxUnavailable(
                    _(
                        "IMAP server {at}: folder {folder} cannot be opened for user {user} ({reason}); "
                        "check folder= in FOLLOWUP_IMAP_URL"
                    ).format(at=s.where, folder=repr(s.folder), user=repr(s.user), reason=redact(str(exc), s.password))
                ) from None
            permanent = {bytes(flag).lower() for flag in info.get(b"PERMANENTFLAGS", ())}
            if b"\\*" in permanent or KEYWORD.lower().encode() in permanent:
                self._mode = "keyword"
            else:
                self._mode = "move" if client.has_capability("MOVE") else "copy"
                self._processed = self._ensure_processed_folder(client)
            self._uidvalidity = int(info[b"UIDVALIDITY"])
        except BaseException:
            with contextlib.suppress(IMAPClientError, OSError):
                client.shutdown()
            raise
        return client

    def _ensure_processed_folder(self, client: IMAPClient) -> str:
        """Create the processed folder, spelled with the server's delimiter and personal prefix.

        ``Followup/Processed`` is written with '/', but e.g. Dovecot's Maildir++ layout uses '.' and
        Courier/Cyrus put personal folders under ``INBOX.``.
        """
        s = self.settings
        prefix, delimiter = "", "/"
        if client.has_capability("NAMESPACE"):
            personal = client.namespace().personal or ()
            if personal:
                prefix, delimiter = personal[0][0] or "", personal[0][1] or "/"
        else:
            listed = client.list_folders(pattern="INBOX")
            if listed and listed[0][1]:
                delimiter = listed[0][1].decode() if isinstance(listed[0][1], bytes) else str(listed[0][1])
        name = s.processed_folder.replace("/", delimiter)
        if prefix and not name.startswith(prefix):
            name = prefix + name
        try:
            if not client.folder_exists(name):
                client.create_folder(name)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise InboxUnavailable(
                _(
                    "IMAP server {at} does not allow keywords and folder {folder} cannot be created ({reason}); "
                    "create it or set processed_folder= in FOLLOWUP_IMAP_URL"
                ).format(at=s.where, folder=repr(name), reason=redact(str(exc), s.password))
            ) from None
        return name

    @contextlib.contextmanager
    def _talking(self, doing: str) -> Iterator[IMAPClient]:
        """The open connection; a dropped one becomes InboxUnavailable and is reconnected next time."""
        client = self._connected()
        try:
            yield client
        except (OSError, IMAPClientAbortError) as exc:
            self._client = None
            with contextlib.suppress(IMAPClientError, OSError):
                client.shutdown()
            reason = redact(f"{type(exc).__name__}: {exc}", self.settings.password)
            raise InboxUnavailable(
                _("IMAP server {at} failed while {doing} ({reason})").format(
                    at=self.settings.where, doing=doing, reason=reason
                )
            ) from exc
        except IMAPClientError as exc:
            reason = redact(str(exc), self.settings.password)
            raise InboxError(
                _("IMAP server {at} refused {doing}: {reason}").format(
                    at=self.settings.where, doing=doing, reason=reason
                )
            ) from exc

    # -- reading and marking

    def fetch_unprocessed(self, limit: int | None = None) -> Iterator[RawMessage]:
        """Oldest first; BODY.PEEK so the clerk still sees the reply as unread in a mail client."""
        self._connected()  # sets the marking mode
        criteria = ["NOT", "KEYWORD", KEYWORD]
        if self._mode == "copy":  # originals may linger flagged \Deleted (no UIDPLUS)
            criteria += ["NOT", "DELETED"]
        with self._talking(_("searching for unprocessed messages")) as client:
            uids = sorted(client.search(criteria))
        if limit is not None:
            uids = uids[: max(0, limit)]
        for start in range(0, len(uids), self._batch_size):
            batch = uids[start : start + self._batch_size]
            with self._talking(_("fetching {n} messages").format(n=len(batch))) as client:
                response = client.fetch(batch, ["INTERNALDATE", "BODY.PEEK[]"])
            for uid in batch:
                item = response.get(uid, {})
                data = item.get(b"BODY[]")
                if data is not None:  # None: expunged by someone else meanwhile
                    received = _utc(item.get(b"INTERNALDATE"))
                    yield RawMessage(key=f"{self._uidvalidity}:{uid}", data=bytes(data), received=received)

    def mark_processed(self, *keys: str) -> None:
        """Set the keyword, or move the messages to the processed folder, in one command; never delete."""
        if not keys:
            return
        self._connected()
        uids = [self._uid_from_key(key) for key in keys]
        with self._talking(_("marking {n} message(s) processed").format(n=len(uids))) as client:
            if self._mode == "keyword":
                client.add_flags(uids, [KEYWORD], silent=True)
            elif self._mode == "move":
                client.move(uids, self._processed)
            else:
                client.copy(uids, self._processed)
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)  # only these messages; their copies are already safe
                # else: the \Deleted original stays until someone expunges; the copy is in the processed folder.

    def _uid_from_key(self, key: str) -> int:
        validity, _, uid = key.partition(":")
        if not (validity.isdigit() and uid.isdigit()):
            raise InboxError(f"{key!r} is not an IMAP message key (expected UIDVALIDITY:UID)")
        if int(validity) != self._uidvalidity:
            raise InboxError(
                f"message {key} belongs to an earlier incarnation of folder {self.settings.folder!r} "
                f"(UIDVALIDITY is now {self._uidvalidity}); fetch again"
            )
        return int(uid)


# --------------------------------------------------------------------------- Maildir


class MaildirInbox:
    """Replies in a local Maildir (used when no IMAP server is configured).

    A message is processed when its info carries the lowercase flag that the mailbox's
    ``dovecot-keywords`` file assigns to ``$FollowupProcessed``. Why not a standard flag: 'S' is set
    by merely reading, 'P' (passed) by forwarding, 'T' means trashed. Lowercase letters are the
    Maildir convention for keywords (Dovecot, pymap): no client sets them by reading, and by
    registering the keyword in ``dovecot-keywords`` the letter cannot collide with another keyword
    and shows up as ``$FollowupProcessed`` if an IMAP server ever serves this Maildir.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._colon = ":"
        self._known: dict[str, tuple[Path, str]] = {}  # where fetch saw each message: no rescan per mark

    def __repr__(self) -> str:
        return f"MaildirInbox({str(self.path)!r})"

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._colon = mailbox.Maildir(self.path, create=True).colon
        except OSError as exc:
            raise InboxUnavailable(
                _("Maildir {folder} cannot be opened or created: {reason}").format(folder=self.path, reason=exc)
            ) from None

    def fetch_unprocessed(self, limit: int | None = None) -> Iterator[RawMessage]:
        """Oldest delivery first (by file time); reads the files without renaming them.

        The file time is the delivery time (``MaildirMessage.get_date()``: delivery agents and
        ``mailbox.Maildir.add`` set it, renames keep it); it comes from the one stat each file gets here."""
        self._open()
        letter = self._letter(register=False)
        entries: list[tuple[float, str, Path]] = []
        for key, path, flags in self._scan():
            if letter is not None and letter in flags:
                continue
            self._known[key] = (path, flags)
            with contextlib.suppress(FileNotFoundError):
                entries.append((path.stat().st_mtime, key, path))
        entries.sort()
        if limit is not None:
            entries = entries[: max(0, limit)]
        for mtime, key, path in entries:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # a mail client renamed it meanwhile: find it again
                found = self._find(key)
                if found is None:
                    continue
                data = found[0].read_bytes()
            yield RawMessage(key=key, data=data, received=dt.datetime.fromtimestamp(mtime, dt.UTC))

    def mark_processed(self, *keys: str) -> None:
        """Add the flag by renaming into cur/ (what Maildir clients do); content is untouched."""
        if not keys:
            return
        self._open()
        letter = self._letter(register=True)
        assert letter is not None
        for key in keys:
            self._mark(key, letter)

    def _mark(self, key: str, letter: str) -> None:
        for _attempt in range(3):  # a mail client may rename the file (new flags) under us
            found = self._known.pop(key, None) if _attempt == 0 else None
            if found is None or not found[0].exists():
                found = self._find(key)
            if found is None:
                raise InboxError(f"message {key!r} is not in Maildir {self.path}")
            path, flags = found
            if letter in flags and path.parent.name == "cur":
                return
            new_flags = "".join(sorted(set(flags) | {letter}))
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, self.path / "cur" / f"{key}{self._colon}2,{new_flags}")
                return
        raise InboxError(f"message {key!r} in Maildir {self.path} kept moving; try again")

    # -- helpers

    def _scan(self) -> Iterator[tuple[str, Path, str]]:
        """(key, path, flags) for messages in new/ and cur/; the key is what ``mailbox.Maildir`` uses."""
        for subdir in ("new", "cur"):
            with os.scandir(self.path / subdir) as it:
                for entry in it:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    key, _, info = entry.name.partition(self._colon)
                    flags = info[2:] if info.startswith("2,") else ""
                    yield key, Path(entry.path), flags

    def _find(self, key: str) -> tuple[Path, str] | None:
        for found_key, path, flags in self._scan():
            if found_key == key:
                return path, flags
        return None

    def _letter(self, *, register: bool) -> str | None:
        """The keyword's letter from dovecot-keywords, adding it there first if ``register``."""
        keywords_file = self.path / "dovecot-keywords"
        taken: dict[int, str] = {}
        with contextlib.suppress(FileNotFoundError):
            for line in keywords_file.read_text(encoding="utf-8").splitlines():
                index, _, name = line.strip().partition(" ")
                if index.isdigit():
                    taken[int(index)] = name.strip()
        for index, name in taken.items():
            if name == KEYWORD and index < 26:
                return chr(ord("a") + index)
        if not register:
            return None
        free = next((index for index in range(26) if index not in taken), None)
        if free is None:
            raise InboxError(f"{keywords_file} already defines 26 keywords; no letter left for {KEYWORD}")
        taken[free] = KEYWORD
        tmp = keywords_file.with_name(f".dovecot-keywords.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{index} {name}\n" for index, name in sorted(taken.items())), encoding="utf-8")
        os.replace(tmp, keywords_file)
        return chr(ord("a") + free)


# --------------------------------------------------------------------------- choice


def open_inbox(imap_url: SecretStr | str | None, maildir: Path, connect_retries: int | None = None) -> Inbox:
    """IMAP when FOLLOWUP_IMAP_URL is set (non-blank), else the local Maildir; ``connect_retries`` as in ImapInbox."""
    url = imap_url.get_secret_value() if isinstance(imap_url, SecretStr) else imap_url
    if url is not None and url.strip():
        return ImapInbox(url, connect_retries=connect_retries)
    return MaildirInbox(maildir)
