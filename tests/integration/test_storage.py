"""The store on SQLite and PostgreSQL: migrations, the register of numbers, copies of the configuration."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, select

from followup.storage.db import make_engine, migrate, open_database
from followup.storage.models import DirectiveRow, UnitRow
from followup.storage.repository import Repository

NOW = dt.datetime(2023, 2, 6, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_migrations_create_the_schema_and_run_twice(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # idempotent: every command runs it
    tables = set(inspect(engine).get_table_names())
    assert {"units", "directives", "issued_numbers", "dispatches", "outgoing_messages", "alembic_version"} <= tables
    engine.dispose()


def test_numbers_restart_each_year_are_per_symbol_and_never_reused(db_url, config):
    Session = open_database(db_url)
    directive = config.directive("2023-child-protection")
    with Session() as session:
        Repository(session).sync_directive(directive, NOW)
        session.commit()

        def take(year: int, symbol: str = "UBND-LĐTBXH") -> int:
            entry = Repository(session).issue_number(
                year=year, symbol=symbol, directive_code=directive.code, purpose="directive", at=NOW
            )
            session.commit()
            return entry.number

        assert [take(2023), take(2023), take(2023)] == [1, 2, 3]
        assert take(2023, "UBND-VP") == 1
        assert take(2024) == 1
        assert take(2023) == 4
    with Session() as session:  # a new session (another clerk, a rerun) continues the register
        entry = Repository(session).issue_number(
            year=2023, symbol="UBND-LĐTBXH", directive_code=directive.code, purpose="directive", at=NOW
        )
        session.commit()
        assert entry.label == "5/UBND-LĐTBXH"
        assert entry.issued_at == NOW


def test_configuration_is_copied_and_removed_units_become_inactive(db_url, config):
    Session = open_database(db_url)
    with Session() as session:
        Repository(session).sync_recipients(config.recipients, NOW)
        Repository(session).sync_directive(config.directive("2023-child-protection"), NOW)
        session.commit()
        assert (
            session.scalar(select(UnitRow).where(UnitRow.code == "XA-CAMGIANG")).name == "Ủy ban nhân dân xã Cẩm Giàng"
        )
        smaller = config.recipients.model_copy(update={"units": config.recipients.units[1:]})
        Repository(session).sync_recipients(smaller, NOW)
        session.commit()
        first = session.get(UnitRow, config.recipients.units[0].code)
        assert first is not None and first.active is False
        assert session.get(DirectiveRow, "2023-child-protection").definition["symbol"] == "UBND-LĐTBXH"


def test_schema_revision_constant_is_alembic_head():
    from alembic.script import ScriptDirectory

    from followup.storage.db import MIGRATIONS, SCHEMA_REVISION, alembic_config, make_engine

    engine = make_engine("sqlite://")
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_current_head() == SCHEMA_REVISION, (
        f"update SCHEMA_REVISION in followup/storage/db.py ({MIGRATIONS})"
    )


def test_downgrade_and_upgrade_again(db_url):
    from alembic import command

    from followup.storage.db import alembic_config

    engine = make_engine(db_url)
    migrate(engine)
    command.downgrade(alembic_config(engine), "base")
    assert "units" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "submissions" in inspect(engine).get_table_names()
    engine.dispose()
