"""The write ledger: what csbridge last wrote into each CRM, and which keys it created.

- `write_ledger`: one row per (target, object, record, field) with the value written.
  The tags field holds the whole value written (owned and foreign tags, `;`-joined).
- `task_keys`: one row per task key and target. `pending` is written and committed
  *before* the create request; `created` (with the CRM's id) after it. A `pending` row
  left by a crash or a timeout means "may exist": apply looks it up by key before any
  retry. `failed` carries the CRM's reason; the task is planned again next run.
- Notifications use the target `notify` (one per key whatever the number of CRMs):
  `sent`, `skipped` (no channel configured) or `failed`.

Every write commits on its own, so a crash loses at most the batch in flight, and that
batch is re-planned (fields) or looked up (tasks) on the next run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from csbridge.models import FieldValue
from csbridge.store.id_list import among
from csbridge.store.store import Store
from csbridge.store.tables import task_keys, write_ledger
from csbridge.sync.changes import LedgerState
from csbridge.text_fit import storable_text

TAG_SEPARATOR = ";"
NOTIFY_TARGET = "notify"
DONE_TASK = "created"
DONE_NOTES = ("sent", "skipped")
RECORDS = 5000  # record ids a ledger query binds


def split_tags(value: object) -> list[str]:
    """The tags of a multi-select value ("A;B"), in order, without blanks."""
    return [t.strip() for t in str(value or "").split(TAG_SEPARATOR) if t.strip()]


def read_ledger(
    store: Store,
    target: str,
    object_type: str,
    tag_field: str | None,
    records: Sequence[str] | None = None,
) -> tuple[dict[str, LedgerState], frozenset[str], frozenset[str]]:
    """Fields and tags per CRM record id (only `records`' when given: the ones planned,
    read `RECORDS` ids a query), the task keys created in `target`, and the notification
    keys already handled (global: each key names its account)."""
    fields: dict[str, dict[str, Any]] = defaultdict(dict)
    c = write_ledger.c
    query = select(c.record_id, c.field, c.value).where(
        c.target == target, c.object_type == object_type
    )
    queries = [query]
    if records is not None:
        ids = sorted(set(records))
        parts = [ids[start : start + RECORDS] for start in range(0, len(ids), RECORDS)]
        queries = [query.where(among(c.record_id, part)) for part in parts]
    with store.engine.connect() as conn:
        for part_query in queries:
            for record_id, field, value in conn.execute(part_query):
                fields[record_id][field] = value
        done = _keys(conn, target, (DONE_TASK,))
        notified = _keys(conn, NOTIFY_TARGET, DONE_NOTES)
    ledger = {}
    for record_id, values in fields.items():
        raw = values.pop(tag_field, None) if tag_field else None
        ledger[record_id] = LedgerState(values, frozenset(split_tags(raw)))
    return ledger, done, notified


def done_keys(store: Store, target: str) -> frozenset[str]:
    """The keys created in `target` (report notes use `<crm>:notes`)."""
    with store.engine.connect() as conn:
        return _keys(conn, target, (DONE_TASK,))


def _keys(conn: Connection, target: str, statuses: tuple[str, ...]) -> frozenset[str]:
    query = select(task_keys.c.key).where(
        task_keys.c.target == target, task_keys.c.status.in_(statuses)
    )
    return frozenset(key for (key,) in conn.execute(query))


def record_fields(
    store: Store,
    target: str,
    object_type: str,
    written: Mapping[str, Mapping[str, FieldValue]],
    now: datetime,
    run_id: str | None = None,
) -> None:
    """Upsert the values written per record id, in one transaction."""
    rows = [
        {
            "target": target,
            "object_type": object_type,
            "record_id": record_id,
            "field": field,
            "value": value,
            "written_at": now,
            "run_id": run_id,
        }
        for record_id, values in written.items()
        for field, value in values.items()
    ]
    if not rows:
        return
    with store.engine.begin() as conn:
        # executemany: SQLAlchemy batches the rows into statements within the driver's
        # bound-variable limits (SQLite, PostgreSQL), however many values a Bulk job wrote
        statement = dialect_insert(conn, write_ledger)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["target", "object_type", "record_id", "field"],
                set_={
                    "value": statement.excluded.value,
                    "written_at": statement.excluded.written_at,
                    "run_id": statement.excluded.run_id,
                },
            ),
            rows,
        )


def key_states(store: Store, target: str, keys: Iterable[str]) -> dict[str, tuple[str, datetime]]:
    """The stored status and last update of each of `keys` that has a row."""
    wanted = list(keys)
    found: dict[str, tuple[str, datetime]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(task_keys.c.key, task_keys.c.status, task_keys.c.updated_at).where(
                task_keys.c.target == target, task_keys.c.key.in_(chunk)
            )
            for key, status, updated in conn.execute(query):
                found[key] = (status, updated)
    return found


def set_keys(
    store: Store,
    target: str,
    states: Mapping[str, tuple[str, str | None, str | None]],
    now: datetime,
) -> None:
    """Upsert key → (status, CRM id, error) in one transaction."""
    if not states:
        return
    rows = [
        {
            "key": key,
            "target": target,
            "status": status,
            "task_id": task_id,
            "error": storable_text(error) if error else error,
            "created_at": now,
            "updated_at": now,
        }
        for key, (status, task_id, error) in states.items()
    ]
    with store.engine.begin() as conn:
        statement = dialect_insert(conn, task_keys).values(rows)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["target", "key"],
                set_={
                    "status": statement.excluded.status,
                    "task_id": statement.excluded.task_id,
                    "error": statement.excluded.error,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


def dialect_insert(conn: Connection, table: Any) -> Any:
    """The database's own INSERT of `table` (with its ON CONFLICT clauses)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
