"""Persistence plumbing: SQLAlchemy base, engine, unit of work, migrations."""

from steward.store.base import Base
from steward.store.engine import make_engine
from steward.store.migrate import upgrade
from steward.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["Base", "UnitOfWork", "UnitOfWorkFactory", "make_engine", "upgrade"]
