"""What the command-line tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.server import local_server


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefect")


@pytest.fixture(scope="session")
def prefect_api(prefect_home: Path) -> Iterator[str]:
    """A standing Prefect server for the session, as an office names one in PREFECT_API_URL: the commands
    given it run their jobs as flows, recorded in its database (``prefect_home/prefect.db``)."""
    with local_server(prefect_home) as server:
        yield server.api_url
