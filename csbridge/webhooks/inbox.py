"""The webhook inbox: insert once per (source, event id), claim, finish, list, replay.

A row is the event and its job at once, so "stored" and "enqueued" are one commit.
Lifecycle: pending → claimed (a lease, `claimed_at`) → processed | parked |
dead_lettered, each with its reason in `error`. A worker that dies holding a row
leaves it `claimed`; once the lease is older than `lease_seconds` any worker takes
it again. A claim is one UPDATE of the oldest claimable row (picked `FOR UPDATE
SKIP LOCKED` on PostgreSQL; SQLite has one writer), so two workers never hold the
same row; `finish` only ends a row whose claim (attempt number) is still ours.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from csbridge.store.facts import as_utc
from csbridge.store.tables import dead_letters, webhook_inbox
from csbridge.text_fit import storable_text

TERMINAL = ("processed", "parked", "dead_lettered")
STATUSES = ("pending", "claimed", *TERMINAL)
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "svix-id",
    "svix-timestamp",
    "x-hubspot-request-timestamp",
    "x-zendesk-webhook-id",
    "x-zendesk-webhook-signature-timestamp",
)


Delivery = tuple[str, Sequence[tuple[str, bytes]], Mapping[str, str]]
"""One request's (source, [(event id, body)], kept headers)."""


@dataclass(frozen=True)
class InboxRow:
    """One stored event as the worker sees it."""

    id: int
    source: str
    event_id: str
    body: bytes
    claimed_at: datetime
    attempts: int


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping with an event; never secrets or signatures."""
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def insert_events(
    connection: Connection,
    source: str,
    events: Sequence[tuple[str, bytes]],
    headers: Mapping[str, str],
    now: datetime,
) -> int:
    """Insert new events as `pending`; an existing (source, event id) is left alone.

    Returns how many rows were new. Runs in the caller's transaction.
    """
    return insert_many(connection, [(source, events, headers)], now)[0]


def insert_many(
    connection: Connection,
    deliveries: Sequence[Delivery],
    now: datetime,
) -> list[int]:
    """Insert several deliveries' events in one statement; new rows per delivery.

    A (source, event id) seen twice (already stored, or twice in this call) is
    stored once and counted as new for the first delivery that carried it only.
    """
    rows = []
    for source, events, headers in deliveries:
        for event_id, body in events:
            rows.append(
                {
                    "source": source,
                    "event_id": event_id,
                    "received_at": now,
                    "headers": dict(headers),
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                }
            )
    if not rows:
        return [0] * len(deliveries)
    # Key order: two processes inserting overlapping keys lock them in the same order,
    # so concurrent batches wait for each other instead of deadlocking.
    rows.sort(key=lambda row: (row["source"], row["event_id"]))
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    # executemany of one cached statement ("insertmanyvalues" batches it with RETURNING):
    # a multi-VALUES statement would be compiled afresh for every batch size.
    statement = (
        dialect_insert(webhook_inbox)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(webhook_inbox.c.source, webhook_inbox.c.event_id)
    )
    inserted = {(row.source, row.event_id) for row in connection.execute(statement, rows)}
    return count_new(deliveries, inserted)


def count_new(deliveries: Sequence[Delivery], inserted: set[tuple[str, str]]) -> list[int]:
    """New rows per delivery, given the (source, event id) pairs the insert returned;
    an id carried twice counts for the first delivery only."""
    remaining = set(inserted)
    counts = []
    for source, events, _headers in deliveries:
        count = 0
        for event_id, _body in events:
            if (source, event_id) in remaining:
                remaining.discard((source, event_id))
                count += 1
        counts.append(count)
    return counts


def claim(engine: Engine, now: datetime, lease_seconds: float) -> InboxRow | None:
    """Take the oldest pending row (or one whose lease expired); None when there is none."""
    expired = now - timedelta(seconds=lease_seconds)
    claimable = or_(
        webhook_inbox.c.status == "pending",
        and_(webhook_inbox.c.status == "claimed", webhook_inbox.c.claimed_at < expired),
    )
    candidate = select(webhook_inbox.c.id).where(claimable).order_by(webhook_inbox.c.id).limit(1)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        # One statement: SQLite takes the write lock at once (no read-then-upgrade
        # deadlock between workers); PostgreSQL locks the candidate and skips locked ones.
        row = connection.execute(
            update(webhook_inbox)
            .where(webhook_inbox.c.id == candidate.scalar_subquery(), claimable)
            .values(status="claimed", claimed_at=now, attempts=webhook_inbox.c.attempts + 1)
            .returning(
                webhook_inbox.c.id,
                webhook_inbox.c.source,
                webhook_inbox.c.event_id,
                webhook_inbox.c.body,
                webhook_inbox.c.attempts,
            )
        ).first()
    if row is None:
        return None
    return InboxRow(row.id, row.source, row.event_id, bytes(row.body), now, row.attempts)


def defer(engine: Engine, row: InboxRow) -> bool:
    """Give a claimed row's attempt back: it stays claimed and is taken again once its
    lease expires, without counting towards the attempts that dead-letter it (used while
    a scheduled run holds the store's lock). False if the lease was lost."""
    with engine.begin() as connection:
        done = connection.execute(
            update(webhook_inbox)
            .where(
                webhook_inbox.c.id == row.id,
                webhook_inbox.c.status == "claimed",
                webhook_inbox.c.attempts == row.attempts,
            )
            .values(attempts=webhook_inbox.c.attempts - 1)
        ).rowcount
    return bool(done)


def finish(engine: Engine, row: InboxRow, status: str, reason: str, now: datetime) -> bool:
    """End a claimed row as processed / parked / dead_lettered, with its reason.

    A dead-lettered row also gets a `dead_letters` record holding the raw bytes
    (base64). Returns False if the lease was lost (another worker reclaimed it).
    """
    assert status in TERMINAL
    with engine.begin() as connection:
        done = connection.execute(
            update(webhook_inbox)
            .where(
                webhook_inbox.c.id == row.id,
                webhook_inbox.c.status == "claimed",
                webhook_inbox.c.attempts == row.attempts,
            )
            .values(status=status, error=storable_text(reason[:2000]), processed_at=now)
        ).rowcount
        if done and status == "dead_lettered":
            connection.execute(
                insert(dead_letters).values(
                    kind="webhook",
                    ref=f"inbox:{row.id}",
                    reason=storable_text(reason[:2000]),
                    payload={
                        "inbox_id": row.id,
                        "source": row.source,
                        "event_id": row.event_id,
                        "body_base64": base64.b64encode(row.body).decode("ascii"),
                    },
                    created_at=now,
                )
            )
    return bool(done)


def list_rows(engine: Engine, status: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Inbox rows (newest first) without their bodies, for `csbridge inbox list`."""
    columns = [c for c in webhook_inbox.c if c.name not in ("body", "headers")]
    query = select(*columns).order_by(webhook_inbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(webhook_inbox.c.status == status)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    result = []
    for row in rows:
        item = dict(row)
        for key in ("received_at", "claimed_at", "processed_at"):
            value = as_utc(item[key])
            item[key] = value.isoformat() if value is not None else None
        result.append(item)
    return result


def replay(engine: Engine, row_id: int) -> str | None:
    """Put a finished row back to `pending`; returns its previous status (None if absent).

    A pending or claimed row is left as is (its status is returned unchanged).
    """
    with engine.begin() as connection:
        status = connection.execute(
            select(webhook_inbox.c.status).where(webhook_inbox.c.id == row_id)
        ).scalar_one_or_none()
        if status in TERMINAL:
            connection.execute(
                update(webhook_inbox)
                .where(webhook_inbox.c.id == row_id)
                .values(status="pending", claimed_at=None, processed_at=None, error=None)
            )
    return status


def status_counts(engine: Engine) -> dict[str, int]:
    """Rows per status (for /metrics)."""
    query = select(webhook_inbox.c.status, func.count()).group_by(webhook_inbox.c.status)
    with engine.connect() as connection:
        return {status: int(count) for status, count in connection.execute(query).all()}


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached (for /readyz)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
