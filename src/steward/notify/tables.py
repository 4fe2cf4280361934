"""Notification channels and the delivery log.

One row per configured channel (secret fields apart from the rest of the configuration), per
notification, per delivery (a notification to a channel), and per attempt of a delivery. The
pending deliveries are the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from steward.store.base import Base


class ChannelRow(Base):
    __tablename__ = "notify_channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Secret fields, kept out of ``config`` so that nothing showing a channel can leak them, each
    # value a Fernet token ``{"fernet": "..."}`` (or, written before encryption, a plain string).
    # Read and write them through the repository, which holds the key (steward.notify.sealing).
    secrets: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    min_severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NotificationRow(Base):
    __tablename__ = "notify_notifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(256), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class DeliveryRow(Base):
    __tablename__ = "notify_deliveries"
    __table_args__ = (
        Index("ix_notify_deliveries_channel_dedup_key_created_at", "channel", "dedup_key", "created_at"),
        Index("ix_notify_deliveries_created_at_id", "created_at", "id"),
        Index("ix_notify_deliveries_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    notification_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("notify_notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(128))
    channel_type: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The outbox lease: the dispatcher sending a pending delivery, and until when. A lease that
    # runs out (its dispatcher died mid-delivery) lets another dispatcher take the delivery over.
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AttemptRow(Base):
    __tablename__ = "notify_attempts"

    delivery_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("notify_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    started_at: Mapped[int] = mapped_column(BigInteger)
