"""The task queue of the daily task budget (deferred tasks are created on later days).

Revision ID: 0005_task_queue
Revises: 0004_activities
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_task_queue"
down_revision: str | None = "0004_activities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_queue",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("owner_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task", sa.JSON(), nullable=False),
        sa.Column("queued_on", sa.Date(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("target", "key", name=op.f("pk_task_queue")),
    )
    op.create_index(
        op.f("ix_task_queue_target_status"), "task_queue", ["target", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_task_queue_target_status"), table_name="task_queue")
    op.drop_table("task_queue")
