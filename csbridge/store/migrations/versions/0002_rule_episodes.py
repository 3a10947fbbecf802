"""Rule episodes kept between runs; task keys unique per (target, key), with an error.

task_keys is recreated: no release wrote to it before this revision (apply came with it).

Revision ID: 0002_rule_episodes
Revises: 0001_initial
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_rule_episodes"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_episodes",
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "rule", name=op.f("pk_rule_episodes")),
    )
    op.drop_table("task_keys")
    _task_keys(error=True)


def downgrade() -> None:
    op.drop_table("task_keys")
    _task_keys(error=False)
    op.drop_table("rule_episodes")


def _task_keys(*, error: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]
    if error:
        columns.append(sa.Column("error", sa.Text(), nullable=True))
        columns.append(sa.PrimaryKeyConstraint("key", "target", name=op.f("pk_task_keys")))
    else:
        columns.append(sa.PrimaryKeyConstraint("key", name=op.f("pk_task_keys")))
    op.create_table("task_keys", *columns)
