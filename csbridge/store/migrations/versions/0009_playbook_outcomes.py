"""Playbook outcomes: who closed a task (a CSM or csbridge), and every episode's span.

Revision ID: 0009_playbook_outcomes
Revises: 0008_task_outcomes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_playbook_outcomes"
down_revision: str | None = "0008_task_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_outcomes") as batch:
        batch.add_column(
            sa.Column("outcome", sa.String(length=16), nullable=False, server_default="completed")
        )
    op.create_table(
        "episode_log",
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("account_key", "rule", "started_on", name=op.f("pk_episode_log")),
    )
    # the episodes running now begin the log (those that ended before were not kept)
    op.execute(
        "INSERT INTO episode_log (account_key, rule, started_on) "
        "SELECT account_key, rule, started_on FROM rule_episodes"
    )


def downgrade() -> None:
    op.drop_table("episode_log")
    with op.batch_alter_table("task_outcomes") as batch:
        batch.drop_column("outcome")
