"""Engine and schema: SQLite in the data folder by default, PostgreSQL through a URL.

The schema is owned by Alembic; every command brings the database to the newest revision first, so a
clerk never runs a migration by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: The newest migration; a test keeps it equal to Alembic's head. Checking it spares every command the
#: import of Alembic (a quarter of a second) when the schema is already current.
SCHEMA_REVISION = "0005"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL with synchronous=NORMAL keeps a commit per sent message cheap and still durable across a crash
    # of the process; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # pysqlite opens a transaction only before a write, so a SAVEPOINT that comes first is its own transaction
    # and its RELEASE commits: a number of the register could be kept although the issue that took it rolled
    # back. SQLAlchemy then begins every transaction itself (below), which makes savepoints nest as they should;
    # IMMEDIATE takes the write lock at the start (one writer at a time, the others wait up to busy_timeout),
    # since a deferred transaction of one process cannot become a writer after another has written.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def configure_sqlite(engine: Engine) -> Engine:
    """The product's SQLite: WAL, foreign keys, a busy timeout, and transactions that savepoints nest in."""
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        return configure_sqlite(engine)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; two processes at once migrate once)."""
    if current_revision(engine) == SCHEMA_REVISION:
        return
    from alembic import command

    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")  # reads the revision again, under the lock


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """PostgreSQL: the env takes an advisory lock in the migration's transaction. SQLite: a lock file."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_database(url: SecretStr | str) -> sessionmaker[Session]:
    """Migrate and open the database; the URL may be a SecretStr, unwrapped only here where it connects."""
    engine = make_engine(url.get_secret_value() if isinstance(url, SecretStr) else url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
