"""Indicator values: a model indicator's raw value per account, read from a warehouse.

Revision ID: 0010_warehouse_signals
Revises: 0009_playbook_outcomes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_warehouse_signals"
down_revision: str | None = "0009_playbook_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_values",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("indicator", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_indicator_values")),
    )
    op.create_index(
        op.f("ix_indicator_values_account_id"), "indicator_values", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_indicator_values_account_id"), table_name="indicator_values")
    op.drop_table("indicator_values")
