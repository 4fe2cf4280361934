"""Persistence of deployments, their rollouts, history and A/B outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exc, func, select, update
from sqlalchemy.orm import Session

from steward.core.errors import AlreadyExists
from steward.deployments.models import DeploymentState, RolloutConfig, State
from steward.deployments.tables import DeploymentEventRow, DeploymentRow, OutcomeRow, RolloutRow


def to_state(row: DeploymentRow, rollout: RolloutRow | None) -> DeploymentState:
    config = RolloutConfig.from_dict(rollout.config) if rollout is not None else None
    return DeploymentState(
        name=row.name,
        model=row.model_name,
        state=State(row.state),
        stable_version=row.stable_version,
        previous_version=row.previous_version,
        candidate_version=row.candidate_version,
        stage_index=row.stage_index,
        traffic=row.traffic,
        generation=row.generation,
        rollout_id=row.rollout_id,
        config=config,
        stage_started_at=row.stage_started_at,
    )


class DeploymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # deployments -----------------------------------------------------------------------------
    def row(self, name: str, *, for_update: bool = False) -> DeploymentRow | None:
        query = select(DeploymentRow).where(DeploymentRow.name == name)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def rows(self, names: Sequence[str] | None = None) -> list[DeploymentRow]:
        query = select(DeploymentRow).order_by(DeploymentRow.name)
        if names is not None:
            query = query.where(DeploymentRow.name.in_(list(names)))
        return list(self.session.scalars(query))

    def add(self, row: DeploymentRow) -> DeploymentRow:
        """Insert a new deployment; AlreadyExists if a concurrent writer took the name first."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except exc.IntegrityError:
            raise AlreadyExists("deployment", row.name) from None
        return row

    def write_state(self, row: DeploymentRow, s: DeploymentState, expected_generation: int, now: int) -> bool:
        """Store ``s`` if the row is still at ``expected_generation`` (False: someone else moved it)."""
        result = self.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == row.id, DeploymentRow.generation == expected_generation)
            .values(
                state=s.state.value,
                stable_version=s.stable_version,
                previous_version=s.previous_version,
                candidate_version=s.candidate_version,
                rollout_id=s.rollout_id,
                stage_index=s.stage_index,
                traffic=s.traffic,
                generation=s.generation,
                stage_started_at=s.stage_started_at,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        self.session.expire(row)
        return bool(getattr(result, "rowcount", 0) == 1)

    def set_health(self, row: DeploymentRow, health: dict[str, Any], now: int) -> None:
        self.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == row.id)
            .values(health=health, health_at=now)
            .execution_options(synchronize_session=False)
        )
        self.session.expire(row)

    # rollouts --------------------------------------------------------------------------------
    def rollout(self, rollout_id: str) -> RolloutRow | None:
        return self.session.get(RolloutRow, rollout_id)

    def rollouts(self, deployment_id: int, limit: int = 100) -> list[RolloutRow]:
        query = (
            select(RolloutRow)
            .where(RolloutRow.deployment_id == deployment_id)
            .order_by(RolloutRow.started_at.desc(), RolloutRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def add_rollout(self, row: RolloutRow) -> RolloutRow:
        self.session.add(row)
        self.session.flush()
        return row

    # history ---------------------------------------------------------------------------------
    def add_event(self, row: DeploymentEventRow) -> DeploymentEventRow:
        self.session.add(row)
        self.session.flush()
        return row

    def events(
        self, deployment_id: int, *, limit: int = 1000, before_id: int | None = None
    ) -> list[DeploymentEventRow]:
        """Newest first."""
        query = select(DeploymentEventRow).where(DeploymentEventRow.deployment_id == deployment_id)
        if before_id is not None:
            query = query.where(DeploymentEventRow.id < before_id)
        return list(self.session.scalars(query.order_by(DeploymentEventRow.id.desc()).limit(limit)))

    # outcomes --------------------------------------------------------------------------------
    def put_outcomes(self, rollout_id: str, rows: Sequence[OutcomeRow]) -> None:
        """Insert or replace the outcomes of these units."""
        units = [r.unit_id for r in rows]
        for start in range(0, len(units), 500):
            chunk = units[start : start + 500]
            self.session.execute(
                delete(OutcomeRow).where(OutcomeRow.rollout_id == rollout_id, OutcomeRow.unit_id.in_(chunk))
            )
        self.session.add_all(rows)
        self.session.flush()

    def outcomes(self, rollout_id: str) -> list[tuple[str, str, float, float | None]]:
        query = select(OutcomeRow.unit_id, OutcomeRow.variant, OutcomeRow.value, OutcomeRow.covariate).where(
            OutcomeRow.rollout_id == rollout_id
        )
        return [(u, v, x, c) for u, v, x, c in self.session.execute(query)]

    def outcome_count(self, rollout_id: str) -> int:
        query = select(func.count()).select_from(OutcomeRow).where(OutcomeRow.rollout_id == rollout_id)
        return int(self.session.scalar(query) or 0)
