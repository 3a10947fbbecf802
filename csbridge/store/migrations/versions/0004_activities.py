"""CRM activities (calls, emails, meetings, notes, tasks, campaign memberships) as facts.

Revision ID: 0004_activities
Revises: 0003_score_signals
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_activities"
down_revision: str | None = "0003_score_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_activities")),
    )
    op.create_index(op.f("ix_activities_account_id"), "activities", ["account_id"], unique=False)
    op.create_index(
        "ix_activities_account_occurred", "activities", ["account_id", "occurred_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_activities_account_occurred", table_name="activities")
    op.drop_index(op.f("ix_activities_account_id"), table_name="activities")
    op.drop_table("activities")
