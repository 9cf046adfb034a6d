"""Alembic environment: run on the engine the caller passes (see bot.adapters.store.db)."""

from __future__ import annotations

from alembic import context

from bot.adapters.store.db import unbounded
from bot.adapters.store.models import Base

MIGRATING = 7_310_001  # the advisory lock every PostgreSQL migrator takes (any fixed key)

engine = context.config.attributes["engine"]
with engine.begin() as connection, unbounded(connection):
    if connection.dialect.name == "postgresql":  # one migrator at a time; the rest wait,
        # then find the schema up to date (held until this transaction ends)
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATING})")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
