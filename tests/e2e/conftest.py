"""What the command-line tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the session: Prefect creates its database once (tens of seconds on a busy
    machine), every later command's temporary server starts on it warm."""
    return tmp_path_factory.mktemp("prefect")
