"""Monitoring metadata: monitors (per-deployment configuration), monitoring runs with their
per-feature drift, alerts and their events, request-counter snapshots, and scheduler leases.

The high-volume data (predictions, labels, summaries) is not here but in Parquet
(:mod:`steward.monitoring.store`); drift reports are artifacts (content-addressed blobs).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from steward.store.base import Base


class MonitorRow(Base):
    __tablename__ = "monitoring_monitors"

    deployment: Mapped[str] = mapped_column(String(128), primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metrics_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    schedule: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channels: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    last_run_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RunRow(Base):
    __tablename__ = "monitoring_runs"
    __table_args__ = (Index("ix_monitoring_runs_deployment_created_at", "deployment", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    deployment: Mapped[str] = mapped_column(String(128))
    window: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    labelled_rows: Mapped[int] = mapped_column(Integer)
    drift_detected: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[list[str]] = mapped_column(JSON)
    reference: Mapped[str] = mapped_column(String(512))
    report_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report_html_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FeatureDriftRow(Base):
    __tablename__ = "monitoring_feature_drift"

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("monitoring_runs.id", ondelete="CASCADE"), primary_key=True
    )
    column: Mapped[str] = mapped_column(String(256), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    statistic: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value_adjusted: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    calibrated_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    effect_size: Mapped[float | None] = mapped_column(Float, nullable=True)
    drifted: Mapped[bool] = mapped_column(Boolean)


class AlertRow(Base):
    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        Index("ix_monitoring_alerts_deployment_state", "deployment", "state"),
        # At most one firing alert per deployment and rule, even with several replicas.
        Index(
            "uq_monitoring_alerts_firing_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text("state = 'firing'"),
            postgresql_where=text("state = 'firing'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    deployment: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    fired_at: Mapped[int] = mapped_column(BigInteger)
    last_notified_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_evaluated_at: Mapped[int] = mapped_column(BigInteger)
    resolved_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ok_streak: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retrain: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str] = mapped_column(Text)


class AlertEventRow(Base):
    __tablename__ = "monitoring_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("monitoring_alerts.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class CounterSnapshotRow(Base):
    """The model server's request counters, as scraped at ``taken_at`` (cumulative)."""

    __tablename__ = "monitoring_counter_snapshots"

    deployment: Mapped[str] = mapped_column(String(128), primary_key=True)
    taken_at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ok: Mapped[float] = mapped_column(Float)
    invalid: Mapped[float] = mapped_column(Float)
    error: Mapped[float] = mapped_column(Float)


class LeaseRow(Base):
    """A job's lease: the replica that holds it runs the job until ``expires_at``."""

    __tablename__ = "monitoring_leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    last_run_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(256), nullable=True)
