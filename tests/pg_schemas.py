"""PostgreSQL helpers for the tests: a schema per test, and killing a run's lock.

Imported by conftest.py (fixtures `database_url`, `postgres_url`) and by tests that
need them directly (`from pg_schemas import ...`: tests/ is on sys.path).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from csbridge.store.lock import advisory_key
from csbridge.store.store import open_store

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the local PostgreSQL, unique to the caller (pid + random suffix),
    selected with `search_path` in the URL it yields, and dropped afterwards."""
    schema = f"csb_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def lock_holders(url: str, name: str = "run") -> int:
    """How many PostgreSQL backends hold lock `name` of the store at `url` right now."""
    store = open_store(url, apply_migrations=False)
    try:
        with store.engine.connect() as conn:
            key = advisory_key(conn, name)
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                    ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
                ).scalar_one()
            )
    finally:
        store.close()


def terminate_lock_holder(url: str, name: str = "run") -> int:
    """Kill the PostgreSQL backend holding the run lock of the store at `url` (as a
    failover or a proxy's idle timeout would); return how many backends were killed."""
    store = open_store(url, apply_migrations=False)
    try:
        with store.engine.connect() as conn:
            key = advisory_key(conn, name)
            pids = conn.exec_driver_sql(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
            ).scalars()
            killed = [
                conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,)).scalar_one()
                for pid in list(pids)
            ]
    finally:
        store.close()
    return sum(1 for ok in killed if ok)
