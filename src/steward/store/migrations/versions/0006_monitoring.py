"""monitoring: monitors, runs, feature drift, alerts, counter snapshots, leases

Revision ID: 0006_monitoring
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_monitoring"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_monitors",
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("reference_sha256", sa.String(length=64), nullable=True),
        sa.Column("metrics_url", sa.String(length=2048), nullable=True),
        sa.Column("schedule", sa.String(length=32), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("last_run_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("deployment", name=op.f("pk_monitoring_monitors")),
    )
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("labelled_rows", sa.Integer(), nullable=False),
        sa.Column("drift_detected", sa.Boolean(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("reference", sa.String(length=512), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=True),
        sa.Column("report_html_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_runs")),
    )
    op.create_index(
        "ix_monitoring_runs_deployment_created_at", "monitoring_runs", ["deployment", "created_at"], unique=False
    )
    op.create_table(
        "monitoring_feature_drift",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("column", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("p_value_adjusted", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("calibrated_threshold", sa.Float(), nullable=True),
        sa.Column("effect_size", sa.Float(), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitoring_runs.id"],
            name=op.f("fk_monitoring_feature_drift_run_id_monitoring_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "column", name=op.f("pk_monitoring_feature_drift")),
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("dedup_key", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
        sa.Column("last_notified_at", sa.BigInteger(), nullable=True),
        sa.Column("last_evaluated_at", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("ok_streak", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("retrain", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
    )
    op.create_index("ix_monitoring_alerts_deployment_state", "monitoring_alerts", ["deployment", "state"], unique=False)
    op.create_index(
        "uq_monitoring_alerts_firing_dedup_key",
        "monitoring_alerts",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text("state = 'firing'"),
        postgresql_where=sa.text("state = 'firing'"),
    )
    op.create_table(
        "monitoring_alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["monitoring_alerts.id"],
            name=op.f("fk_monitoring_alert_events_alert_id_monitoring_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alert_events")),
    )
    op.create_index(op.f("ix_monitoring_alert_events_alert_id"), "monitoring_alert_events", ["alert_id"], unique=False)
    op.create_table(
        "monitoring_counter_snapshots",
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("taken_at", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Float(), nullable=False),
        sa.Column("invalid", sa.Float(), nullable=False),
        sa.Column("error", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("deployment", "taken_at", name=op.f("pk_monitoring_counter_snapshots")),
    )
    op.create_table(
        "monitoring_leases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("last_run_at", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitoring_leases")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_leases")
    op.drop_table("monitoring_counter_snapshots")
    op.drop_index(op.f("ix_monitoring_alert_events_alert_id"), table_name="monitoring_alert_events")
    op.drop_table("monitoring_alert_events")
    op.drop_index("uq_monitoring_alerts_firing_dedup_key", table_name="monitoring_alerts")
    op.drop_index("ix_monitoring_alerts_deployment_state", table_name="monitoring_alerts")
    op.drop_table("monitoring_alerts")
    op.drop_table("monitoring_feature_drift")
    op.drop_index("ix_monitoring_runs_deployment_created_at", table_name="monitoring_runs")
    op.drop_table("monitoring_runs")
    op.drop_table("monitoring_monitors")
