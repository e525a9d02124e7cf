"""Alembic environment: runs against the engine the application hands over."""

from alembic import context

from followup.storage.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":  # two processes at once: the second waits, then finds it done
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(20231)")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
