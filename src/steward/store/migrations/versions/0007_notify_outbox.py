"""notify: the outbox lease on deliveries

Revision ID: 0007b_notify_outbox
Revises: 0007_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007b_notify_outbox"
down_revision = "0007_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notify_deliveries", sa.Column("claimed_by", sa.String(length=128), nullable=True))
    op.add_column("notify_deliveries", sa.Column("claimed_until", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_notify_deliveries_status_created_at", "notify_deliveries", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_notify_deliveries_status_created_at", table_name="notify_deliveries")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of the table would drop
    # the old one, and with foreign keys on that cascades to every logged attempt.
    op.drop_column("notify_deliveries", "claimed_until")
    op.drop_column("notify_deliveries", "claimed_by")
