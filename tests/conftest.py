"""Shared pytest fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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
