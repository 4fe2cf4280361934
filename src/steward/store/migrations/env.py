"""Alembic environment: the engine comes from the caller (``steward.store.migrate``)."""

from __future__ import annotations

from alembic import context

from steward.store.base import load_all_tables

target_metadata = load_all_tables()
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
