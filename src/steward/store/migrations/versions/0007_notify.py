"""notify: channels and the delivery log

Revision ID: 0007_notify
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_notify"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_notify_channels_name")),
    )
    op.create_table(
        "notify_notifications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_notifications")),
    )
    op.create_index(op.f("ix_notify_notifications_dedup_key"), "notify_notifications", ["dedup_key"], unique=False)
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("channel_type", sa.String(length=64), nullable=False),
        sa.Column("dedup_key", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notify_notifications.id"],
            name=op.f("fk_notify_deliveries_notification_id_notify_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
    )
    op.create_index(
        "ix_notify_deliveries_channel_dedup_key_created_at",
        "notify_deliveries",
        ["channel", "dedup_key", "created_at"],
        unique=False,
    )
    op.create_index("ix_notify_deliveries_created_at_id", "notify_deliveries", ["created_at", "id"], unique=False)
    op.create_index(
        op.f("ix_notify_deliveries_notification_id"), "notify_deliveries", ["notification_id"], unique=False
    )
    op.create_table(
        "notify_attempts",
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notify_deliveries.id"],
            name=op.f("fk_notify_attempts_delivery_id_notify_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "number", name=op.f("pk_notify_attempts")),
    )


def downgrade() -> None:
    op.drop_table("notify_attempts")
    op.drop_index("ix_notify_deliveries_created_at_id", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_channel_dedup_key_created_at", table_name="notify_deliveries")
    op.drop_index(op.f("ix_notify_deliveries_notification_id"), table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_index(op.f("ix_notify_notifications_dedup_key"), table_name="notify_notifications")
    op.drop_table("notify_notifications")
    op.drop_table("notify_channels")
