"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
import structlog
from pg_schemas import postgres_schema
from responses.registries import OrderedRegistry

from csbridge_sandbox.runner import Sandbox

# What a config for a sandbox served with rate_limits="off" adds unless a test sets it: those
# emulators enforce no limits and have no search lag, so the client's proactive limits and
# lookup delay would only make the tests wait (a sleeping test leaves a core idle). The
# limiter is tested on its own (tests/connectors/test_vendor_clients.py) and against
# emulators with realistic limits (tests/sandbox).
UNTHROTTLED = {
    "zendesk": {"requests_per_minute": 100_000, "incremental_exports_per_minute": 100_000},
    "mixpanel": {"queries_per_second": 1000, "queries_per_hour": 100_000},
    "salesforce": {"requests_per_second": 1000},
    "hubspot": {"requests_per_10s": 100_000, "search_requests_per_second": 1000},
}


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


@pytest.fixture(autouse=True, scope="session")
def _unthrottled_sandbox_configs() -> Iterator[None]:
    """`Sandbox.config()` (and so `write_config`) of an emulator set without rate limits
    lifts the client's limits and HubSpot's task lookup delay (see UNTHROTTLED)."""
    plain = Sandbox.config

    def config(self: Sandbox, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = plain(self, *args, **kwargs)
        if getattr(self, "rate_limits", None) != "off":  # a bare Sandbox.__new__ has none
            return data
        for vendor, limits in UNTHROTTLED.items():
            if vendor in data["sources"]:
                data["sources"][vendor] = {**limits, **data["sources"][vendor]}
        if "hubspot" in data["crm"]["targets"]:
            data["crm"].setdefault("hubspot", {"task_lookup_delay": 0})
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sandbox, "config", config)
        yield


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
