"""csbridge's tasks completed in a CRM, read back by key on each run (issue 18 part 3).

Revision ID: 0008_task_outcomes
Revises: 0007_platform_scores
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_task_outcomes"
down_revision: str | None = "0007_platform_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_outcomes",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=False),
        sa.Column("completed_by", sa.String(length=255), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", "key", name=op.f("pk_task_outcomes")),
    )


def downgrade() -> None:
    op.drop_table("task_outcomes")
