"""A counting SMTP sink for the benchmarks: aiosmtpd on loopback, accepts everything, keeps nothing.

Run as a separate process (``python bench/smtp_sink.py``) so that its parsing does not compete for the
client's GIL. It prints ``PORT <n>`` once listening, then answers each line on stdin:
``count`` -> ``<messages> <bytes>``; ``quit`` (or EOF) stops it.
"""

from __future__ import annotations

import socket
import sys

from aiosmtpd.controller import Controller


class CountingHandler:
    """Counts messages and bytes and discards them; RCPT uses aiosmtpd's default (accept)."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages += 1
        self.bytes += len(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=50 * 1024 * 1024)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "count":
                print(f"{handler.messages} {handler.bytes}", flush=True)
            elif command == "quit":
                break
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
