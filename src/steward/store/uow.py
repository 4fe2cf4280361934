"""Unit of work: one transaction per use case.

Services receive a ``UnitOfWork`` and never commit; the entry point that opened it commits
when the use case completed, otherwise everything rolls back. Repositories are created
lazily, one per capability, on the unit's session.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from steward.artifacts.repository import ArtifactIndex
    from steward.auth.repository import AuthRepository
    from steward.deployments.repository import DeploymentRepository
    from steward.monitoring.repository import MonitoringRepository
    from steward.notify.repository import NotifyRepository
    from steward.notify.sealing import SecretBox
    from steward.registry.repository import RegistryRepository
    from steward.tracking.repository import TrackingRepository


class UnitOfWork:
    def __init__(self, session: Session, secret_box: SecretBox | None = None) -> None:
        self.session = session
        self._secret_box = secret_box
        self._committed = False

    @property
    def tracking(self) -> TrackingRepository:
        from steward.tracking.repository import TrackingRepository

        return TrackingRepository(self.session)

    @property
    def auth(self) -> AuthRepository:
        from steward.auth.repository import AuthRepository

        return AuthRepository(self.session)

    @property
    def registry(self) -> RegistryRepository:
        from steward.registry.repository import RegistryRepository

        return RegistryRepository(self.session)

    @property
    def artifacts(self) -> ArtifactIndex:
        from steward.artifacts.repository import ArtifactIndex

        return ArtifactIndex(self.session)

    @property
    def deployments(self) -> DeploymentRepository:
        from steward.deployments.repository import DeploymentRepository

        return DeploymentRepository(self.session)

    @property
    def notify(self) -> NotifyRepository:
        from steward.notify.repository import NotifyRepository

        return NotifyRepository(self.session, self._secret_box)

    @property
    def monitoring(self) -> MonitoringRepository:
        from steward.monitoring.repository import MonitoringRepository

        return MonitoringRepository(self.session)

    def commit(self) -> None:
        self.session.commit()
        self._committed = True

    def rollback(self) -> None:
        self.session.rollback()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None or not self._committed:
                self.session.rollback()
        finally:
            self.session.close()


class UnitOfWorkFactory:
    """Opens units of work on one engine; built once per process by the entry point.
    ``secret_box`` encrypts notification channel secrets at rest."""

    def __init__(self, engine: Engine, secret_box: SecretBox | None = None) -> None:
        self.engine = engine
        self.secret_box = secret_box
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions(), self.secret_box)
