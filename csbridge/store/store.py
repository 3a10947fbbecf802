"""The `Store`: facts and their cursor committed together, so a crash re-reads, never skips.

    store = open_store(settings.database_url)
    cursor = store.get_cursor("zendesk.tickets")
    for page in connector.pages(cursor):
        store.save_page(page.records, Cursor("zendesk.tickets", page.cursor, page.watermark))

`save_page` writes the facts and the advanced cursor in ONE transaction; the
cursor's watermark never moves backwards (`CursorRegressionError`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from csbridge.errors import CsbridgeError
from csbridge.models import Fact, IndicatorValue, Record
from csbridge.store import migrate
from csbridge.store.engine import connect_and_migrate, safe_url
from csbridge.store.facts import (
    FactRef,
    as_utc,
    load_facts,
    mark_deleted,
    table_for,
    upsert_facts,
)
from csbridge.store.indicators import load_latest_values
from csbridge.store.tables import FACT_TABLES, cursors, runs
from csbridge.text_fit import storable

R = TypeVar("R", bound=Record)


class CursorRegressionError(CsbridgeError):
    """A page tried to move a stream's cursor back in time (a connector bug, or another
    process advanced it meanwhile): the page is never saved."""


@dataclass(frozen=True)
class Cursor:
    """Where a stream resumes: an opaque `token` and/or a comparable `watermark` time."""

    stream: str
    token: str | None = None
    watermark: datetime | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Durable state on one database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self._clock = clock

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return safe_url(self.engine.url)

    def save_page(
        self,
        facts: Iterable[Fact],
        cursor: Cursor | None = None,
        *,
        deleted: Iterable[FactRef] = (),
        run_id: str | None = None,
    ) -> int:
        """Upsert one page of facts and advance its cursor in a single transaction.

        Returns the number of fact rows sent. Raises `CursorRegressionError` (and
        stores nothing) if the cursor's watermark is older than the stored one.
        """
        now = self._clock()
        with self.engine.begin() as connection:
            sent = upsert_facts(connection, facts, now)
            mark_deleted(connection, deleted, now)
            if cursor is not None:
                write_cursor(connection, cursor, now, run_id)
        return sent

    def upsert(self, facts: Iterable[Fact]) -> int:
        """Upsert facts that no cursor covers (e.g. a full-refresh list of owners)."""
        return self.save_page(facts)

    def get_cursor(self, stream: str) -> Cursor | None:
        """The stored cursor of `stream`, or None on a first run."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(cursors.c.token, cursors.c.watermark).where(cursors.c.stream == stream)
            ).first()
        if row is None:
            return None
        return Cursor(stream, row.token, as_utc(row.watermark))

    def load(
        self,
        record_type: type[R],
        *,
        source: str | None = None,
        account_ids: Sequence[str] | None = None,
        since: date | datetime | None = None,
        include_deleted: bool = False,
    ) -> list[R]:
        """Stored facts of one type (see `csbridge.store.facts.load_facts`)."""
        with self.engine.connect() as connection:
            return load_facts(
                connection,
                record_type,
                source=source,
                account_ids=account_ids,
                since=since,
                include_deleted=include_deleted,
            )

    def latest_values(
        self,
        now: datetime | None,
        *,
        source: str | None = None,
        account_ids: Sequence[str] | None = None,
    ) -> list[IndicatorValue]:
        """Each account's latest value of each indicator as of `now` (see
        `csbridge.store.indicators`): what scoring at `now` reads of their history."""
        with self.engine.connect() as connection:
            return load_latest_values(connection, now, source=source, account_ids=account_ids)

    def analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the fact tables after a pull stored rows, so
        the batched reads (`account_id = ANY(...)`) are planned on the index, not from the
        estimates of an empty table (autovacuum catches up only later); no-op on SQLite."""
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.begin() as connection:
            for table in FACT_TABLES.values():
                connection.exec_driver_sql(f'ANALYZE "{table.name}"')

    def account_ids(self, record_type: type[Record], source: str) -> list[str]:
        """The distinct account ids that stored facts of one type from `source` carry."""
        table = table_for(record_type)
        query = (
            select(table.c.account_id)
            .where(table.c.source == source, table.c.account_id.is_not(None))
            .distinct()
        )
        with self.engine.connect() as connection:
            return sorted(connection.execute(query).scalars())

    def count(self, kind: str, *, include_deleted: bool = True) -> int:
        """Rows in a fact table ("accounts", "tickets", ...)."""
        table = FACT_TABLES[kind]
        query = select(func.count()).select_from(table)
        if not include_deleted:
            query = query.where(table.c.deleted.is_(False))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def start_run(self, command: str) -> str:
        """Record the start of a run; return its id."""
        run_id = uuid.uuid4().hex
        with self.engine.begin() as connection:
            connection.execute(
                insert(runs).values(
                    id=run_id, command=command, started_at=self._clock(), status="running"
                )
            )
        return run_id

    def finish_run(self, run_id: str, status: str, report: dict[str, Any] | None = None) -> None:
        """Record how a run ended and its report (JSON)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(finished_at=self._clock(), status=status, report=storable(report))
            )

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        return migrate.current_revision(self.engine)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def write_cursor(
    connection: Connection, cursor: Cursor, now: datetime, run_id: str | None = None
) -> None:
    """Store `cursor` in the caller's transaction, refusing to move its watermark backwards.

    The check is part of the upsert itself (`ON CONFLICT ... DO UPDATE ... WHERE`), so it
    holds against a concurrent writer on both dialects; a refused move raises, and the
    caller's transaction (with the page's facts) rolls back.
    """
    watermark = as_utc(cursor.watermark)
    values = {
        "stream": cursor.stream,
        "token": cursor.token,
        "watermark": watermark,
        "run_id": run_id,
        "updated_at": now,
    }
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(cursors).values(**values)
    excluded = statement.excluded
    forward = or_(
        cursors.c.watermark.is_(None),
        and_(excluded.watermark.is_not(None), excluded.watermark >= cursors.c.watermark),
    )
    result = connection.execute(
        statement.on_conflict_do_update(
            index_elements=[cursors.c.stream],
            set_={k: excluded[k] for k in values if k != "stream"},
            where=forward,
        ).returning(cursors.c.stream)
    )
    if result.first() is None:  # the conflict's WHERE refused the update
        old = connection.execute(
            select(cursors.c.watermark).where(cursors.c.stream == cursor.stream)
        ).scalar_one_or_none()
        raise CursorRegressionError(
            f"cursor {cursor.stream} would move back from {as_utc(old)} to {watermark}; "
            "nothing of this page was stored. Another process advanced it meanwhile, or "
            "the source sent older data; the next pull resumes from the stored cursor"
        )


def open_store(url: str, *, apply_migrations: bool = True) -> Store:
    """Connect to `url`, apply the packaged migrations, and return the `Store`."""
    return Store(connect_and_migrate(url, apply_migrations=apply_migrations))
