"""Shared fixtures: an isolated data folder per test, the built-in configuration, the databases."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from followup.domain.config import Config, load_config
from followup.settings import DEFAULTS

DEFAULT_PG = "postgresql://postgres:postgres@127.0.0.1:5432/followup_test"
_pg_skipped: list[str] = []


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder and the built-in configuration; no real server is reachable.

    The clerk's texts are asserted in English (FOLLOWUP_LANGUAGE=en; Vietnamese is the default, which
    tests/e2e/test_language.py asserts)."""
    home = tmp_path / "home"
    monkeypatch.setenv("FOLLOWUP_LANGUAGE", "en")
    monkeypatch.setenv("FOLLOWUP_HOME", str(home))
    monkeypatch.setenv("FOLLOWUP_CONFIG", str(DEFAULTS))
    for var in ("FOLLOWUP_SMTP_URL", "FOLLOWUP_IMAP_URL", "FOLLOWUP_DATABASE_URL", "FOLLOWUP_NOW"):
        monkeypatch.delenv(var, raising=False)
    for var in ("PREFECT_API_URL", "PREFECT_HOME"):  # no standing server of the machine's records a test's run
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(DEFAULTS)


def _postgres_url() -> str | None:
    url = os.environ.get("FOLLOWUP_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        import psycopg

        parsed = make_url(url)
        admin = parsed.set(database="postgres")
        with psycopg.connect(
            admin.set(drivername="postgresql").render_as_string(hide_password=False), connect_timeout=3, autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
    except Exception as exc:  # no server: the suite says so loudly at the end
        _pg_skipped.append(f"{make_url(url).render_as_string(hide_password=True)}: {type(exc).__name__}: {exc}")
        return None
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    return _postgres_url()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in the test's folder, or a new schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'followup.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    if base is None:
        pytest.skip("PostgreSQL is not reachable (see the warning at the end of the run)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if _pg_skipped:
        terminalreporter.write_sep("!", "PostgreSQL tests SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"No PostgreSQL server for the storage tests: {_pg_skipped[0]}", red=True)
        terminalreporter.write_line(
            "Start one (pg_ctlcluster 15 main start) or set FOLLOWUP_TEST_POSTGRES_URL; .ci/run does both.", red=True
        )


sys.path.insert(0, str(Path(__file__).resolve().parent))  # test helpers: smtp_server, integration.imap_server
