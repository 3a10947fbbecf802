"""A product-events table in the local PostgreSQL, for the warehouse source's worked example.

    .venv/bin/python bench/warehouse_data.py [--rows 2000000] [--accounts 1000] [--days 90]
        [--schema csbridge_demo] [--read]
    .venv/bin/python bench/warehouse_data.py --rows 100000000 --accounts 100000 --read

Replaces `<schema>.events` (the columns of `csbridge_sandbox.warehouse.events`: account,
day, ts, user_id, insert_id, event) with `--rows` synthetic events spread over
`--accounts` domains (`customer-<n>.example.com`, ten users each) and the last `--days`
UTC days, generated in the database by one set-based `INSERT ... SELECT` over
`generate_series` (nothing passes through Python), then indexes it by day.

It also replaces `<schema>.account_signals` (account, indicator, value, loaded_at): two
indicator values per account as a team computes them in the warehouse (the share of
webinars attended, a community level), read by the signals query `SIGNALS_SQL`.

`--config FILE` writes a csbridge config whose `sources.warehouse` reads both tables
with the example queries, for `csbridge pull --config FILE --source warehouse`.

With `--read` it then pulls the worked example's queries (`USAGE_SQL`: the daily fold
runs in PostgreSQL; `SIGNALS_SQL`) through the warehouse source as `csbridge pull`
does, and prints the rows read, the batches, the time and this process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import yaml
from psycopg import sql
from pydantic import SecretStr

from csbridge.config import WarehouseQuery, WarehouseSettings
from csbridge.connectors.warehouse.indicators import model_transforms
from csbridge.connectors.warehouse.source import WarehouseSource
from csbridge.scoring import load_model
from csbridge_sandbox.warehouse import USAGE_SQL

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIGNALS_SQL = """
SELECT account, indicator, value, loaded_at
FROM account_signals
WHERE loaded_at >= :watermark
ORDER BY loaded_at
"""
QUERIES = {
    "daily_usage": {"watermark": "day", "sql": USAGE_SQL.strip()},
    "health_inputs": {"kind": "signals", "sql": SIGNALS_SQL.strip()},
}
SIGNALS_INSERT = """
INSERT INTO account_signals (account, indicator, value, loaded_at)
SELECT 'customer-' || a || '.example.com', 'engagement.webinar_attendance',
       round((a %% 10) / 10.0, 1)::text, now()
FROM generate_series(0, %(accounts)s - 1) AS a
UNION ALL
SELECT 'customer-' || a || '.example.com', 'engagement.community_activity',
       (ARRAY['none', 'lurker', 'contributor', 'active'])[1 + a %% 4], now()
FROM generate_series(0, %(accounts)s - 1) AS a
"""


def insert_sql(rows: int, accounts: int, start: int, span: int) -> str:
    """The set-based INSERT of `rows` events (integers only are formatted in)."""
    return f"""
INSERT INTO events (account, day, ts, user_id, insert_id, event)
SELECT 'customer-' || (g % {accounts:d}) || '.example.com',
       to_timestamp(t)::date,
       t,
       'user-' || (g % {accounts:d}) || '-' || (g / {accounts:d} % 10),
       g::text,
       (ARRAY['Login', 'Viewed Report', 'Used Feature', 'Exported'])[1 + g % 4]
FROM generate_series(1::bigint, {rows:d}) AS g,
     LATERAL (SELECT {start:d} + (g * 7919) % {span:d} AS t) AS at
"""


def generate(schema: str, rows: int, accounts: int, days: int) -> float:
    """Create `schema.events` with `rows` events; the seconds it took."""
    start = int((datetime.now(UTC) - timedelta(days=days)).timestamp()) // 86_400 * 86_400
    began = time.perf_counter()
    with psycopg.connect(PG_ADMIN, autocommit=True) as db:
        db.execute("SET TIME ZONE 'UTC'")
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        db.execute("DROP TABLE IF EXISTS events")
        db.execute(
            "CREATE TABLE events (account varchar(255) NOT NULL, day date NOT NULL,"
            " ts bigint NOT NULL, user_id varchar(255) NOT NULL,"
            " insert_id varchar(64) NOT NULL, event varchar(255) NOT NULL)"
        )
        db.execute(insert_sql(rows, accounts, start, days * 86_400))
        db.execute("CREATE INDEX events_day ON events (day)")
        db.execute("ANALYZE events")
        db.execute("DROP TABLE IF EXISTS account_signals")
        db.execute(
            "CREATE TABLE account_signals (account varchar(255) NOT NULL,"
            " indicator varchar(128) NOT NULL, value varchar(64) NOT NULL,"
            " loaded_at timestamptz NOT NULL)"
        )
        db.execute(SIGNALS_INSERT, {"accounts": accounts})
    return time.perf_counter() - began


def read(schema: str, batch_size: int, query: str) -> tuple[int, int, float]:
    """Pull one example query through the warehouse source: (rows, batches, seconds)."""
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    settings = WarehouseSettings(
        url=SecretStr(url),
        batch_size=batch_size,
        queries={query: WarehouseQuery.model_validate(QUERIES[query])},
    )
    transforms = model_transforms([load_model("seed-5d")])
    ((_, reader),) = WarehouseSource(settings, "domain", transforms=transforms).streams()
    rows = batches = 0
    began = time.perf_counter()
    for page in reader(None):
        rows += len(page.records)
        batches += 1
    return rows, batches, time.perf_counter() - began


def write_config(path: Path, schema: str) -> None:
    """A config that pulls `schema.events` folded by `USAGE_SQL` into a SQLite store."""
    config = {
        "database_url": f"sqlite:///{path.with_suffix('.db').resolve()}",
        "sources": {
            "warehouse": {
                "url": f"{PG_URL}?options=-csearch_path%3D{schema}",
                "queries": QUERIES,
            }
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=100), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--schema", default="csbridge_demo")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--read", action="store_true", help="then pull the example query")
    parser.add_argument("--config", type=Path, help="write a csbridge config reading the table")
    args = parser.parse_args()
    if args.config:
        write_config(args.config, args.schema)
    seconds = generate(args.schema, args.rows, args.accounts, args.days)
    print(
        f"{args.schema}.events: {args.rows:,} events, {args.accounts:,} accounts, "
        f"{args.days} days in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s)"
    )
    if args.read:
        rows, batches, took = read(args.schema, args.batch_size, "daily_usage")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"warehouse pull: {rows:,} usage days in {batches} batches, {took:.1f} s "
            f"({args.rows / took:,.0f} events folded/s in PostgreSQL), peak memory {peak:.0f} MiB"
        )
        rows, batches, took = read(args.schema, args.batch_size, "health_inputs")
        print(f"warehouse pull: {rows:,} indicator values in {batches} batches, {took:.1f} s")


if __name__ == "__main__":
    main()
