"""A real SMTP server on loopback (aiosmtpd) that records what it receives and can misbehave on cue."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Sink:
    """The handler: accepts everything unless told to refuse some recipients or defer some messages."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered 550 at RCPT
    defer_data: int = 0  # answer the next N DATA commands with 451
    defer_once: set[str] = field(default_factory=set)  # the first message to these addresses gets 451
    deferred: int = 0
    delay: float = 0.0  # seconds to wait before answering DATA (to catch a run in the middle)
    drop_data: set[int] = field(default_factory=set)  # drop the connection at these DATA commands (1-based)
    data_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.data_seen += 1
            if self.data_seen in self.drop_data:
                server.transport.close()  # the connection drops before the server answers
                return "421 4.4.2 connection dropped"
            once = self.defer_once.intersection(envelope.rcpt_tos)
            if self.defer_data > 0 or once:
                self.defer_data = max(0, self.defer_data - 1)
                self.defer_once -= once
                self.deferred += 1
                return "451 4.3.0 try again later"
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def by_recipient(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        for item in self.received:
            for rcpt in item.rcpt_tos:
                out.setdefault(rcpt, []).append(item)
        return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink(sink: Sink | None = None) -> Iterator[tuple[Sink, str]]:
    """Start the server on a free loopback port; yield the sink and its smtp:// URL."""
    sink = sink or Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=50 * 1024 * 1024)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
