"""Store throughput: facts saved per second in pages, SQLite file vs local PostgreSQL.

    .venv/bin/python bench/store.py [--facts 20000] [--page 500]

Prints records/s for a first load (inserts) and a re-load of the same facts with newer
timestamps (upserts that update), each page committed with its cursor, plus the
ratio against a plain executemany INSERT of the same rows (the floor we pay for
upsert + cursor + one transaction per page).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert

from csbridge.models import Ticket
from csbridge.store import Cursor, open_store
from csbridge.store.facts import fact_row
from csbridge.store.tables import tickets

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def facts(count: int, shift: int) -> list[Ticket]:
    at = T0 + timedelta(hours=shift)
    return [
        Ticket(
            source="zendesk",
            id=str(i),
            account_id=str(i % 500),
            status="open",
            priority="normal",
            created_at=T0,
            updated_at=at,
        )
        for i in range(count)
    ]


def run(url: str, total: int, page: int) -> dict[str, float]:
    store = open_store(url)
    figures: dict[str, float] = {}
    for label, shift in (("insert", 0), ("update", 1)):
        records = facts(total, shift)
        began = time.perf_counter()
        for n, start in enumerate(range(0, total, page)):
            mark = Cursor("bench", str(n), T0 + timedelta(hours=shift, seconds=n))
            store.save_page(records[start : start + page], mark)
        figures[label] = total / (time.perf_counter() - began)
    rows = [fact_row(r, T0) for r in facts(total, 2)]
    for row in rows:
        row["id"] = "raw-" + row["id"]
    began = time.perf_counter()
    with store.engine.begin() as connection:
        connection.execute(insert(tickets), rows)
    figures["raw"] = total / (time.perf_counter() - began)
    assert store.count("tickets") == 2 * total
    store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facts", type=int, default=20000)
    parser.add_argument("--page", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.facts, args.page)
    schema = f"csb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        pg = run(url, args.facts, args.page)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"{args.facts} tickets in pages of {args.page}, each page + cursor in one transaction")
    for name, fig in (("sqlite", sqlite), ("postgresql", pg)):
        print(
            f"{name:>10}: insert {fig['insert']:8.0f} rec/s, update {fig['update']:8.0f} rec/s,"
            f" one-shot raw INSERT {fig['raw']:8.0f} rec/s"
            f" (paged upsert = {fig['insert'] / fig['raw']:.2f}x raw)"
        )


if __name__ == "__main__":
    main()
