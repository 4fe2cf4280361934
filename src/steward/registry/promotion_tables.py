"""Promotion tables: each model's promotion policy and the append-only record of every
promotion request, approval, block and alias move made through the gates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from steward.store.base import Base


class PromotionPolicyRow(Base):
    """How a model's versions reach a protected alias (default: gates must pass, no approval)."""

    __tablename__ = "model_promotion_policies"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True)
    require_gates: Mapped[bool] = mapped_column(Boolean, default=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    min_approvals: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[int] = mapped_column(BigInteger)


class PromotionEventRow(Base):
    """One promotion step: ``approved``, ``promoted``, ``blocked`` or ``policy``. Append-only."""

    __tablename__ = "model_promotion_events"
    __table_args__ = (Index("ix_model_promotion_events_model_version", "model_id", "version", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    alias: Mapped[str] = mapped_column(String(256), default="")
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(256), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[int] = mapped_column(BigInteger)
