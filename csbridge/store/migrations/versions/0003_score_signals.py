"""Score history keeps the raw signals of each scored account (for `csbridge history export`).

Nullable: rows stored before this revision have no signals and are not exported.

Revision ID: 0003_score_signals
Revises: 0002_rule_episodes
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_score_signals"
down_revision: str | None = "0002_rule_episodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("score_history", sa.Column("signals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_history") as batch:
        batch.drop_column("signals")
