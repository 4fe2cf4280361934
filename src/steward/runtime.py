"""The process-wide wiring an entry point builds once from Settings: engine, units of work,
blob store. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from steward.artifacts.blobs import BlobStore, open_blob_store
from steward.core.config import Settings
from steward.store.engine import make_engine
from steward.store.migrate import upgrade
from steward.store.uow import UnitOfWorkFactory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    blobs: BlobStore

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        if migrate:
            upgrade(engine)
        from steward.notify.sealing import SecretBox  # lazily: the notify package pulls in httpx

        uow = UnitOfWorkFactory(engine, SecretBox.from_settings(settings))
        return cls(settings, engine, uow, open_blob_store(settings.artifact_root))

    def close(self) -> None:
        self.engine.dispose()
