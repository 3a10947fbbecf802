"""Indicator values keep their history: an `as_of` column, and dated values keyed by date.

Before this revision a value's id was "<account>:<indicator>", so a later read replaced
the value and scoring at an earlier moment lost it. From now on a dated value's id ends
with "@<as_of, ISO UTC>" (`IndicatorValue.value_id`), so each date's value is kept, and
the `as_of` column lets the loaders pick the latest value as of a moment in SQL. The
rows stored before get the column filled from their payload and, when dated, the new
id (column and payload), so the next pull's re-read of the same row updates them
rather than adding a twin; an undated row keeps its id. The format is written out
here rather than imported, so this revision stays what it was when the code moves on.

Revision ID: 0011_indicator_history
Revises: 0010_warehouse_signals
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_indicator_history"
down_revision: str | None = "0010_warehouse_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_MAX, HASH_CHARS = 255, 16  # the id column's length; csbridge.text_fit.fit_key
BATCH = 5_000

values = sa.table(
    "indicator_values",
    sa.column("source", sa.String),
    sa.column("id", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("as_of", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.add_column("indicator_values", sa.Column("as_of", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    # before this revision a table holds one row per account and indicator: read at once
    rows = connection.execute(sa.select(values.c.source, values.c.id, values.c.payload)).all()
    changes = [change for row in rows if (change := _dated(*row)) is not None]
    for start in range(0, len(changes), BATCH):
        connection.execute(
            values.update()
            .where(values.c.source == sa.bindparam("b_source"), values.c.id == sa.bindparam("b_id"))
            .values(
                id=sa.bindparam("new_id"),
                payload=sa.bindparam("new_payload"),
                as_of=sa.bindparam("new_as_of"),
            ),
            changes[start : start + BATCH],
        )


def _dated(source: str, old_id: str, payload: Any) -> dict[str, Any] | None:
    """The new id, payload and as_of of a dated row stored before; None for an undated one."""
    record = payload if isinstance(payload, dict) else None
    if record is None or not record.get("as_of"):
        return None
    as_of = datetime.fromisoformat(str(record["as_of"]).replace("Z", "+00:00")).astimezone(UTC)
    new_id = f"{record['account_id']}:{record['indicator']}@{as_of.isoformat()}"
    return {
        "b_source": source,
        "b_id": old_id,
        "new_id": _fit_key(new_id),
        "new_payload": {**record, "id": new_id},
        "new_as_of": as_of,
    }


def _fit_key(text: str) -> str:
    if len(text) <= KEY_MAX:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{text[: KEY_MAX - HASH_CHARS - 1]}~{digest}"


def downgrade() -> None:
    # the older code keys a value by account and indicator: keep the latest dated row of
    # each under its old id (unless an undated row holds that id), delete the others
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(values.c.source, values.c.id, values.c.payload, values.c.as_of)
    ).all()
    taken = {(source, row_id) for source, row_id, _, as_of in rows if as_of is None}
    latest: dict[tuple[str, str], tuple[datetime, str, dict[str, Any]]] = {}
    for source, row_id, payload, as_of in rows:
        if as_of is None:
            continue
        old_id = f"{payload['account_id']}:{payload['indicator']}"
        key = (source, _fit_key(old_id))
        if key not in taken and (key not in latest or latest[key][0] < as_of):
            latest[key] = (as_of, row_id, {**payload, "id": old_id})
    kept = {(source, row_id) for (source, _), (_, row_id, _) in latest.items()}
    gone = [
        {"b_source": source, "b_id": row_id}
        for source, row_id, _, as_of in rows
        if as_of is not None and (source, row_id) not in kept
    ]
    where = sa.and_(
        values.c.source == sa.bindparam("b_source"), values.c.id == sa.bindparam("b_id")
    )
    if gone:
        connection.execute(values.delete().where(where), gone)
    renamed = [
        {"b_source": source, "b_id": row_id, "new_id": old_id, "new_payload": payload}
        for (source, old_id), (_, row_id, payload) in latest.items()
    ]
    if renamed:
        connection.execute(
            values.update()
            .where(where)
            .values(id=sa.bindparam("new_id"), payload=sa.bindparam("new_payload")),
            renamed,
        )
    op.drop_column("indicator_values", "as_of")
