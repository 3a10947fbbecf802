"""Fixtures: one running sandbox (Zendesk + Mixpanel) shared by the emulator tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import World, build_world


@pytest.fixture(scope="session")
def small_world() -> World:
    """120 accounts anchored at today's midnight (the emulators hide the last minute)."""
    today = datetime.now(UTC).date()
    return build_world(
        accounts=120, seed=3, now=datetime(today.year, today.month, today.day, tzinfo=UTC)
    )


@pytest.fixture(scope="session")
def sandbox(small_world: World) -> Iterator[Sandbox]:
    """Zendesk and Mixpanel emulators on ephemeral ports, rate limits off."""
    with run_sandbox(world=small_world, vendors=("zendesk", "mixpanel")) as running:
        yield running


@pytest.fixture
def realistic(small_world: World) -> Iterator[Sandbox]:
    """A fresh pair of emulators with realistic rate limits (fresh buckets per test)."""
    with run_sandbox(
        world=small_world, vendors=("zendesk", "mixpanel"), rate_limits="realistic"
    ) as running:
        yield running


@pytest.fixture
def port_base() -> int:
    """A port P such that P..P+3 are free right now (for tests of fixed port layouts)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + 3 > 65535:
            continue
        holders: list[socket.socket] = []
        try:
            for port in range(base, base + 4):
                holder = socket.socket()
                holders.append(holder)
                holder.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for holder in holders:
                holder.close()
        return base
    raise RuntimeError("no four consecutive free ports")
