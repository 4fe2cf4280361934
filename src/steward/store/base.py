"""Declarative base shared by every capability's tables."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def load_all_tables() -> MetaData:
    """Import every capability's tables so the metadata is complete (migrations, tests)."""
    import steward.artifacts.tables
    import steward.auth.tables
    import steward.datasets.tables
    import steward.deployments.tables
    import steward.monitoring.tables
    import steward.notify.tables
    import steward.registry.promotion_tables
    import steward.registry.tables
    import steward.tracking.tables  # noqa: F401

    return Base.metadata
