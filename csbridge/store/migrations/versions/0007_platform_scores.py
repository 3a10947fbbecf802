"""A CS platform's latest health-score alert per customer, read by the rules while fresh.

Revision ID: 0007_platform_scores
Revises: 0006_usage_users
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_platform_scores"
down_revision: str | None = "0006_usage_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_scores",
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("previous_score", sa.Float(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "platform", name=op.f("pk_platform_scores")),
    )


def downgrade() -> None:
    op.drop_table("platform_scores")
