"""Shared pytest fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import responses
import structlog
from responses.registries import OrderedRegistry

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per test: a SQLite file, or a fresh schema on the local PostgreSQL.

    The PostgreSQL schema is unique to this test (pid + random suffix), selected with
    `search_path` in the URL, and dropped afterwards, so concurrent runs never collide.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'csbridge.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A store URL on a fresh schema of the local PostgreSQL (for PostgreSQL-only tests)."""
    with postgres_schema() as url:
        yield url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the local PostgreSQL, unique to the caller (pid + random suffix),
    selected with `search_path` in the URL it yields, and dropped afterwards."""
    import psycopg

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


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """`csbridge.cli.main` configures logging globally; give every test the defaults back."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Patch time.sleep: backoff is instant and every wait is recorded."""
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """`responses` that fails on an unused stub and answers stubs in registration order."""
    with responses.RequestsMock(
        assert_all_requests_are_fired=True, registry=OrderedRegistry
    ) as mock:
        yield mock


def terminate_lock_holder(url: str, name: str = "run") -> int:
    """Kill the PostgreSQL backend holding the run lock of the store at `url` (as a
    failover or a proxy's idle timeout would); return how many backends were killed."""
    from csbridge.store.lock import advisory_key
    from csbridge.store.store import open_store

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
