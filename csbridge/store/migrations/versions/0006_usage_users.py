"""Usage days carry their users (a distinct-users sketch) and the time events lasted.

Both live in the usage row's JSON payload, so no column changes. Rows stored before
this revision have no users sketch, and monthly-active users would fall back to the
busiest day for up to 90 days: forgetting the Mixpanel cursor makes the next pull read
the whole initial window again, and its upserts replace those rows.

Revision ID: 0006_usage_users
Revises: 0005_task_queue
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_usage_users"
down_revision: str | None = "0005_task_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USAGE_STREAM = "mixpanel.usage_days"


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM cursors WHERE stream = :s").bindparams(s=USAGE_STREAM))


def downgrade() -> None:
    # the older code rejects payloads with the new keys: drop them, the next pull refills
    op.execute(sa.text("DELETE FROM usage_days WHERE source = 'mixpanel'"))
    op.execute(sa.text("DELETE FROM cursors WHERE stream = :s").bindparams(s=USAGE_STREAM))
