"""Indicator history: the latest value as of a moment chosen in SQL, vs every row in Python.

    .venv/bin/python bench/indicator_history.py [--accounts 2000] [--dates 90]

A PostgreSQL store holds, for one batch of customers (`--accounts`, the batch `health`
reads at a time), 3 warehouse indicators each dated on `--dates` days (set-based SQL
into `indicator_values`). Scoring 28 days before the last date needs each account's
latest value per indicator no later than then. Read twice, in one run: as `health`
reads it (`Store.latest_values`: the database ranks the rows and returns one per
account and indicator) and the naive way (every row of the accounts loaded as records,
`given_values` picking in Python). Both give the same values; prints rows read, wall
and CPU seconds and the peak of Python's allocations (tracemalloc) of each, and the
ratios naive / SQL.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from csbridge.models import IndicatorValue
from csbridge.scoring.signals import given_values
from csbridge.store.store import Store, open_store

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LAST = datetime(2026, 11, 29, tzinfo=UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
INDICATORS = ("satisfaction.nps", "growth.referrals", "usage.dau_mau")
Values = dict[str, dict[str, float | str]]


def fill(schema: str, accounts: int, dates: int) -> None:
    """`accounts` x INDICATORS x `dates` rows, as the warehouse source stores them."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        names = ", ".join(f"('{name}')" for name in INDICATORS)
        db.execute(
            f"""
            INSERT INTO indicator_values (source, id, account_id, updated_at, deleted,
                                          payload, stored_at, indicator, as_of)
            SELECT 'warehouse', key, acc, d, false,
                   json_build_object('source', 'warehouse', 'id', key, 'account_id', acc,
                                     'indicator', ind, 'value', (a + s) % 50, 'as_of', iso),
                   now(), ind, d
            FROM generate_series(0, {accounts - 1:d}) AS a,
                 generate_series(0, {dates - 1:d}) AS s,
                 (VALUES {names}) AS i(ind),
                 LATERAL (SELECT 'c' || a || '.example.com' AS acc,
                                 timestamptz '{LAST.isoformat()}' - s * interval '1 day' AS d) x,
                 LATERAL (SELECT to_char(d AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                                 AS iso) y,
                 LATERAL (SELECT acc || ':' || ind || '@' || iso AS key) z
            """
        )
        db.execute("ANALYZE indicator_values")


def picked(values: list[IndicatorValue]) -> Values:
    """Each account's given values as `compute_signals` picks them."""
    by_account: dict[str, list[IndicatorValue]] = defaultdict(list)
    for value in values:
        by_account[value.account_id].append(value)
    return {
        account: {key: v.value for key, v in given_values(rows, NOW).items()}
        for account, rows in by_account.items()
    }


def timed(read: Callable[[], list[IndicatorValue]]) -> tuple[Values, list[float]]:
    """The values picked, and rows read, wall s, CPU s, peak MiB of Python allocations."""
    tracemalloc.start()
    began, cpu = time.perf_counter(), cpu_seconds()
    rows = read()
    values = picked(rows)
    figures = [len(rows), time.perf_counter() - began, cpu_seconds() - cpu]
    figures.append(tracemalloc.get_traced_memory()[1] / 2**20)
    tracemalloc.stop()
    return values, figures


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(store: Store, ids: list[str]) -> None:
    ways: dict[str, Callable[[], list[IndicatorValue]]] = {
        "sql": lambda: store.latest_values(NOW, source="warehouse", account_ids=ids),
        "python": lambda: store.load(IndicatorValue, source="warehouse", account_ids=ids),
    }
    got: dict[str, tuple[Values, list[float]]] = {}
    print(f"{'way':<7} {'rows read':>10} {'wall s':>7} {'cpu s':>6} {'peak MiB':>9}")
    for name, read in ways.items():
        got[name] = timed(read)
        rows, wall, cpu, peak = got[name][1]
        print(f"{name:<7} {rows:>10,.0f} {wall:>7.2f} {cpu:>6.2f} {peak:>9.1f}")
    assert got["sql"][0] == got["python"][0], "the two ways picked different values"
    sql_way, naive = got["sql"][1], got["python"][1]
    print(
        f"same values for {len(got['sql'][0]):,} accounts; python / sql: rows "
        f"{naive[0] / sql_way[0]:.0f}x, wall {naive[1] / sql_way[1]:.1f}x, "
        f"cpu {naive[2] / sql_way[2]:.1f}x, peak memory {naive[3] / sql_way[3]:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--dates", type=int, default=90)
    args = parser.parse_args()
    schema = f"csb_history_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        store = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")
        try:
            fill(schema, args.accounts, args.dates)
            print(
                f"{args.accounts:,} accounts x {len(INDICATORS)} indicators x {args.dates} "
                f"dates = {store.count('indicator_values'):,} rows; as of {NOW.date()}:"
            )
            measure(store, [f"c{a}.example.com" for a in range(args.accounts)])
        finally:
            store.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
