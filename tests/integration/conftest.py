"""The servers the integration tests share, one of each per test module: IMAP (pymap) and SMTP (aiosmtpd)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # imap_server.py lives beside this file
from imap_server import ImapServer, running_imap_server  # noqa: E402
from smtp_server import Sink, smtp_sink  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[ImapServer]:
    with running_imap_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Sink, str]]:
    with smtp_sink() as (sink, url):
        yield sink, url
