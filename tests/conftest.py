"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
import structlog
from pg_schemas import postgres_schema
from responses.registries import OrderedRegistry


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
