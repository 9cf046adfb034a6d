"""Alembic environment: run on the engine the caller passes (see bot.adapters.store.db)."""

from __future__ import annotations

from alembic import context

from bot.adapters.store.db import unbounded
from bot.adapters.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection, unbounded(connection):
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
