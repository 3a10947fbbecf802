"""The warehouse as a pull source: one stream per named query, read in streamed batches.

The aggregation runs in the warehouse; csbridge executes each query once with the
stream's cursor bound to `:watermark`, reads the result through a server-side cursor
(`stream_results`, `yield_per(batch_size)`) and yields one page per batch, whose
cursor is the largest watermark read so far. Rows must come ordered by the watermark
(the query says `ORDER BY`), so a page's cursor covers every row before it; the query
compares with `>=`, so rows that share the last watermark are read again on the next
run and upserted idempotently rather than skipped. A `usage` query's rows become
UsageDays (`rows.py`), a `signals` query's IndicatorValues checked against the
models' transforms (`indicators.py`).

Everything the user must fix (the URL, a query that fails, a missing column, a key
that is not the identity key, unordered rows) raises `SetupError`: the pull stops,
one line names the query and the fix, the command exits 2. The URL's password never
appears in a message or a log (`render_as_string(hide_password=True)`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from csbridge.config import WarehouseQuery, WarehouseSettings
from csbridge.connectors.protocol import Read, SourceContext
from csbridge.connectors.warehouse.indicators import (
    SIGNAL_COLUMNS,
    Transforms,
    indicator_value,
    model_transforms,
)
from csbridge.connectors.warehouse.rows import (
    SOURCE,
    USAGE_COLUMNS,
    QueryError,
    as_time,
    decode,
    encode,
    missing_columns,
    usage_day,
)
from csbridge.http.accounting import CallAccounting
from csbridge.http.errors import SetupError
from csbridge.http.paginate import Page
from csbridge.mappings.identity import IdentityKey
from csbridge.models import IndicatorValue, UsageDay
from csbridge.scoring.segment_models import load_segment_models

PARAMETER = "watermark"
log = structlog.get_logger("csbridge.connectors.warehouse")


class WarehouseSource:
    """One stream per configured query, in the config's order."""

    def __init__(
        self,
        settings: WarehouseSettings,
        key: IdentityKey,
        accounting: CallAccounting | None = None,
        transforms: Transforms | None = None,
    ) -> None:
        self.settings = settings
        self.key = key
        self.transforms = transforms or {}  # the models' indicators, for signals queries
        self.accounting = accounting or CallAccounting()
        self.engine = warehouse_engine(settings)
        self.safe_url = self.engine.url.render_as_string(hide_password=True)

    def streams(self) -> Iterator[tuple[str, Read]]:
        for name, query in self.settings.queries.items():
            yield name, self._reader(name, query)

    def watermark(self, stream: str, token: str) -> datetime | None:
        """A timestamp or date watermark is a moment; an integer one is opaque."""
        return as_time(token)

    def _reader(self, name: str, query: WarehouseQuery) -> Read:
        def read(cursor: str | None) -> Iterator[Page[UsageDay | IndicatorValue]]:
            try:
                yield from self._read(name, query, cursor)
            except QueryError as exc:
                raise SetupError(SOURCE, f"query {name}", str(exc)) from None
            finally:
                self.engine.dispose()

        return read

    def _read(
        self, name: str, query: WarehouseQuery, cursor: str | None
    ) -> Iterator[Page[UsageDay | IndicatorValue]]:
        """Run the query once (counted as one call) and yield a page per batch."""
        statement = text(query.sql)
        if PARAMETER not in statement.compile().params:
            raise QueryError(
                f"the SQL does not use :{PARAMETER}; add "
                f"WHERE {query.watermark} >= :{PARAMETER} so each run reads only what is new"
            )
        since = decode(cursor if cursor is not None else query.start)
        column = query.watermark.lower()
        log.info("warehouse.query", url=self.safe_url, since=str(since))
        with self._connect() as connection:
            try:
                result = connection.execution_options(
                    stream_results=True, yield_per=self.settings.batch_size
                ).execute(statement, {PARAMETER: since})
                self.accounting.record(SOURCE, f"query {name}", "ok")
                required = SIGNAL_COLUMNS if query.kind == "signals" else USAGE_COLUMNS
                missing_columns(result.keys(), (*required, column))
                mark: Any = None
                for batch in result.mappings().partitions(self.settings.batch_size):
                    records: list[UsageDay | IndicatorValue] = []
                    for raw in batch:
                        row = {str(k).lower(): v for k, v in raw.items()}
                        value = row[column]
                        if value is None or (mark is not None and value < mark):
                            raise QueryError(
                                f"rows are not ordered by {query.watermark} (or it is NULL); "
                                f"add ORDER BY {query.watermark} and filter out NULLs"
                            )
                        mark = value
                        records.append(self._record(query, row, column))
                    yield Page(records, encode(mark, query.watermark))
            except DBAPIError as exc:
                self.accounting.record(SOURCE, f"query {name}", exc.__class__.__name__)
                raise QueryError(
                    f"the warehouse refused it: {_first_line(exc)}; fix its SQL"
                ) from None

    def _record(
        self, query: WarehouseQuery, row: Mapping[str, Any], column: str
    ) -> UsageDay | IndicatorValue:
        if query.kind == "signals":
            return indicator_value(row, self.key, column, self.transforms)
        return usage_day(row, self.key, column)

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise SetupError(
                SOURCE,
                "connect",
                f"cannot connect to {self.safe_url} ({exc.__class__.__name__}); "
                "check sources.warehouse.url",
            ) from None


def warehouse_engine(settings: WarehouseSettings) -> Engine:
    """An engine for the configured URL, or a SetupError naming the fix (never the password)."""
    raw = settings.url.get_secret_value()
    try:
        url = make_url(raw)
        return create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise SetupError(
            SOURCE,
            "url",
            f"no driver for this URL ({exc.__class__.__name__}); install the dialect's extra, "
            "e.g. pip install 'csbridge[warehouse]' for duckdb:///",
        ) from None
    except (ArgumentError, ValueError):
        raise SetupError(
            SOURCE,
            "url",
            "sources.warehouse.url is not a SQLAlchemy URL; write dialect://user@host/db",
        ) from None


def warehouse_source(context: SourceContext) -> WarehouseSource | None:
    """The warehouse source when `sources.warehouse` is configured."""
    settings = context.settings.sources.warehouse
    if settings is None:
        return None
    transforms: Transforms = {}
    if any(q.kind == "signals" for q in settings.queries.values()):
        models = load_segment_models(context.settings.model, context.settings.model_per_segment)
        transforms = model_transforms(e.model for e in models.engines())
    return WarehouseSource(settings, context.settings.identity.key, context.accounting, transforms)


def _first_line(exc: DBAPIError) -> str:
    lines = str(exc.orig).strip().splitlines() if exc.orig is not None else []
    return (lines[0] if lines else exc.__class__.__name__)[:200]
