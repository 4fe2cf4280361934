"""registry promotion: policies and promotion events

Revision ID: 0005_serving
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_serving"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_promotion_policies",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("require_gates", sa.Boolean(), nullable=False),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("min_approvals", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name=op.f("fk_model_promotion_policies_model_id_registered_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_model_promotion_policies")),
    )
    op.create_table(
        "model_promotion_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("alias", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name=op.f("fk_model_promotion_events_model_id_registered_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_promotion_events")),
    )
    with op.batch_alter_table("model_promotion_events", schema=None) as batch_op:
        batch_op.create_index("ix_model_promotion_events_model_version", ["model_id", "version", "alias"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_promotion_events", schema=None) as batch_op:
        batch_op.drop_index("ix_model_promotion_events_model_version")
    op.drop_table("model_promotion_events")
    op.drop_table("model_promotion_policies")
