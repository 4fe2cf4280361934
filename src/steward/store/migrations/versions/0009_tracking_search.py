"""tracking: search indexes (start from a param, tag or metric; first page by start time)

Revision ID: 0009_tracking_search
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0009_tracking_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.create_index(
        "ix_latest_metrics_key_value_run_id", "latest_metrics", ["key", "value", "is_nan", "run_id"], unique=False
    )
    op.drop_index("ix_runs_experiment_id", table_name="runs")
    op.create_index("ix_runs_experiment_id_start_time", "runs", ["experiment_id", "start_time"], unique=False)
    if _sqlite():  # PostgreSQL's btree rejects values over ~2.7 kB; params and tags may be longer
        op.create_index("ix_params_key_value_run_id", "params", ["key", "value", "run_id"], unique=False)
        op.create_index("ix_run_tags_key_value_run_id", "run_tags", ["key", "value", "run_id"], unique=False)


def downgrade() -> None:
    if _sqlite():
        op.drop_index("ix_run_tags_key_value_run_id", table_name="run_tags")
        op.drop_index("ix_params_key_value_run_id", table_name="params")
    op.drop_index("ix_runs_experiment_id_start_time", table_name="runs")
    op.create_index("ix_runs_experiment_id", "runs", ["experiment_id"], unique=False)
    op.drop_index("ix_latest_metrics_key_value_run_id", table_name="latest_metrics")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"], unique=False)
