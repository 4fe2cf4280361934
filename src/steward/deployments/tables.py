"""Deployments as persisted state: the deployment (what routes now), its rollouts (canary, shadow,
A/B: one row each, from start to promotion or rollback), its history (one row per transition:
who, when, why) and the per-unit outcomes of A/B tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from steward.store.base import Base


class DeploymentRow(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    model_name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(16))
    stable_version: Mapped[int] = mapped_column(Integer)
    previous_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    candidate_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rollout_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    stage_index: Mapped[int] = mapped_column(Integer)
    traffic: Mapped[float] = mapped_column(Float)
    # Bumped by every change that affects routing: model servers poll it and use it as a
    # compare-and-set token for the transitions they decide themselves.
    generation: Mapped[int] = mapped_column(Integer)
    stage_started_at: Mapped[int] = mapped_column(BigInteger)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    health_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    description: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class RolloutRow(Base):
    __tablename__ = "deployment_rollouts"
    __table_args__ = (Index("ix_deployment_rollouts_deployment_started", "deployment_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(Integer, ForeignKey("deployments.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(16))
    stable_version: Mapped[int] = mapped_column(Integer)
    candidate_version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(256))
    started_at: Mapped[int] = mapped_column(BigInteger)
    ended_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeploymentEventRow(Base):
    __tablename__ = "deployment_events"
    __table_args__ = (Index("ix_deployment_events_deployment_id_id", "deployment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(Integer, ForeignKey("deployments.id", ondelete="CASCADE"))
    rollout_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    stable_version: Mapped[int] = mapped_column(Integer)
    candidate_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage_index: Mapped[int] = mapped_column(Integer)
    traffic: Mapped[float] = mapped_column(Float)
    generation: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[int] = mapped_column(BigInteger)


class OutcomeRow(Base):
    """One unit's outcome in an A/B test (recording it again replaces it)."""

    __tablename__ = "deployment_outcomes"

    rollout_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("deployment_rollouts.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    variant: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    covariate: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
