"""Facts in and out: upsert canonical records by natural key on SQLite and PostgreSQL.

A fact row holds the record as JSON plus its indexed columns. An upsert never
replaces a newer version with an older one (compared on `updated_at`), so a
lookback re-read or an out-of-order page is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    Text,
    and_,
    cast,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from csbridge.models import (
    Account,
    Activity,
    Contact,
    Fact,
    IndicatorValue,
    Opportunity,
    Owner,
    Record,
    SurveyResponse,
    Ticket,
    UsageDay,
)
from csbridge.store.id_list import among
from csbridge.store.tables import FACT_TABLES
from csbridge.text_fit import fit_key, fit_prose, storable

R = TypeVar("R", bound=Record)

TABLE_OF: dict[type[Record], str] = {
    Account: "accounts",
    Contact: "contacts",
    Opportunity: "opportunities",
    Ticket: "tickets",
    SurveyResponse: "surveys",
    UsageDay: "usage_days",
    Owner: "owners",
    Activity: "activities",
    IndicatorValue: "indicator_values",
}
TIME_COLUMNS = ("created_at", "responded_at", "day", "occurred_at", "updated_at")
_COMMON = {"source", "id", "account_id", "updated_at", "deleted", "payload", "stored_at"}


@dataclass(frozen=True)
class FactRef:
    """Points at one stored fact, e.g. a record the source reports as deleted."""

    kind: str
    source: str
    id: str


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetimes in and out (SQLite hands back naive UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def table_for(record_type: type[Record]) -> Table:
    """The fact table that stores records of `record_type`."""
    try:
        return FACT_TABLES[TABLE_OF[record_type]]
    except KeyError:
        raise TypeError(f"{record_type.__name__} is not a stored fact type") from None


def fact_row(record: Record, now: datetime) -> dict[str, Any]:
    """The row for one record: common columns, the table's extra columns, the JSON payload."""
    table = table_for(type(record))
    account_id = record.id if isinstance(record, Account) else getattr(record, "account_id", None)
    row: dict[str, Any] = {
        "source": record.source,
        "id": record.id,
        "account_id": account_id,
        "updated_at": as_utc(record.updated_at),
        "deleted": record.deleted,
        "payload": record.model_dump(mode="json"),
        "stored_at": now,
    }
    for column in table.columns:
        if column.name not in _COMMON:
            value = getattr(record, column.name, None)
            row[column.name] = as_utc(value) if isinstance(value, datetime) else value
    return _fitted(table, storable(row))


def storable_record(record: R) -> tuple[R, list[str]]:
    """`record` with NUL and lone surrogates removed from its text, and the fields that had any.

    The store applies the same cleaning to every row it writes; this lets the pull
    report which record of which stream was changed.
    """
    cleaned = {name: storable(value) for name, value in record}
    changed = {name: value for name, value in cleaned.items() if value != getattr(record, name)}
    if not changed:
        return record, []
    return record.model_copy(update=changed), sorted(changed)


def _fitted(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """`row` with each string within its column's length: names cut with an ellipsis,
    ids and other key-like values hashed (`fit_key`), so they stay unique."""
    for column in table.columns:
        value, length = row.get(column.name), getattr(column.type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            fit = fit_prose if column.name == "name" else fit_key
            row[column.name] = fit(value, length)
    return row


def _newest_per_key(records: Iterable[Record]) -> dict[type[Record], list[Record]]:
    """Group by type; within a page keep one version per key (the newest, else the last)."""
    chosen: dict[tuple[type[Record], str, str], Record] = {}
    for record in records:
        key = (type(record), record.source, record.id)
        old = chosen.get(key)
        if old is None or _not_older(record.updated_at, old.updated_at):
            chosen[key] = record
    grouped: dict[type[Record], list[Record]] = {}
    for (record_type, _, _), record in chosen.items():
        grouped.setdefault(record_type, []).append(record)
    return grouped


def _not_older(new: datetime | None, old: datetime | None) -> bool:
    return new is None or old is None or new >= old


def upsert_facts(connection: Connection, facts: Iterable[Fact], now: datetime) -> int:
    """Insert or update facts by (source, id) in the caller's transaction; return rows sent."""
    sent = 0
    for record_type, records in _newest_per_key(facts).items():
        table = table_for(record_type)
        rows = [fact_row(record, now) for record in records]
        connection.execute(_upsert_statement(connection, table), rows)
        sent += len(rows)
    return sent


def _upsert_statement(connection: Connection, table: Table) -> Any:
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    changed = {c.name: excluded[c.name] for c in table.columns if not c.primary_key}
    newer = or_(
        table.c.updated_at.is_(None),
        excluded.updated_at.is_(None),
        excluded.updated_at >= table.c.updated_at,
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.source, table.c.id], set_=changed, where=newer
    )


def mark_deleted(connection: Connection, refs: Iterable[FactRef], now: datetime) -> int:
    """Flag stored facts as deleted in the source (tombstones, so history stays explainable)."""
    count = 0
    for ref in refs:
        table = FACT_TABLES[ref.kind]
        result = connection.execute(
            update(table)
            .where(and_(table.c.source == ref.source, table.c.id == ref.id))
            .values(deleted=True, stored_at=now)
        )
        count += result.rowcount
    return count


def load_facts(
    connection: Connection,
    record_type: type[R],
    *,
    source: str | None = None,
    account_ids: Sequence[str] | None = None,
    since: date | datetime | None = None,
    include_deleted: bool = False,
) -> list[R]:
    """Stored facts of one type as records, oldest key first (filters: `fact_select`).

    The payload is read as JSON text and parsed straight into the record by pydantic
    (no intermediate dicts)."""
    query = fact_select(
        record_type,
        source=source,
        account_ids=account_ids,
        since=since,
        include_deleted=include_deleted,
    )
    payloads = connection.execute(query).scalars().all()  # fetched at once: faster
    return [record_type.model_validate_json(payload) for payload in payloads]


def fact_select(
    record_type: type[Record],
    columns: Sequence[str] = (),
    *,
    source: str | None = None,
    account_ids: Sequence[str] | None = None,
    since: date | datetime | None = None,
    include_deleted: bool = False,
) -> Select[Any]:
    """The query of stored facts of one type, ordered by key: `columns` (default: the
    payload as JSON text).

    `since` filters on the type's own time column: tickets by `created_at`, surveys
    by `responded_at`, usage by `day`, activities by `occurred_at`, everything else by
    `updated_at`.
    """
    table = table_for(record_type)
    chosen: list[ColumnElement[Any]] = [table.c[name] for name in columns]
    chosen = chosen or [cast(table.c.payload, Text)]
    query = select(*chosen).order_by(table.c.source, table.c.id)
    if source is not None:
        query = query.where(table.c.source == source)
    if account_ids is not None:
        query = query.where(among(table.c.account_id, account_ids))
    if not include_deleted:
        query = query.where(table.c.deleted.is_(False))
    if since is not None:
        name = next(n for n in TIME_COLUMNS if n in table.c)
        query = query.where(table.c[name] >= _bound(since, as_date=name == "day"))
    return query


def _bound(since: date | datetime, *, as_date: bool) -> date | datetime:
    if isinstance(since, datetime):
        return since.astimezone(UTC).date() if as_date else as_utc(since) or since
    return since if as_date else datetime(since.year, since.month, since.day, tzinfo=UTC)
