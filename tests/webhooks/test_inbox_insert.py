"""Concurrent inbox inserts: overlapping batches never deadlock and never lose a row."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from csbridge.store.store import open_store
from csbridge.store.tables import webhook_inbox
from csbridge.webhooks import inbox
from csbridge.webhooks.committer import InboxUnavailable, open_committer
from csbridge.webhooks.committer_pg import AsyncCommitter

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_overlapping_batches_in_opposite_orders_all_land(database_url: str) -> None:
    # Two service processes (two replicas, or a sender retrying a batch while the first
    # try is in flight) insert the same keys in opposite orders. Unsorted, PostgreSQL
    # detects a deadlock and one batch fails (a 503 for every request in it).
    store = open_store(database_url)
    keys = [f"evt-{n:03d}" for n in range(200)]
    rounds = 20
    errors: list[BaseException] = []
    new_rows = [0, 0]
    start = threading.Barrier(2)

    def writer(slot: int, order: list[str]) -> None:
        try:
            with store.engine.connect() as connection:
                for round_ in range(rounds):
                    start.wait(timeout=60)  # both batches of a round in flight together
                    deliveries = [
                        ("standard", [(f"{round_}:{key}", b"{}")], {"webhook-id": key})
                        for key in order
                    ]
                    with connection.begin():
                        new_rows[slot] += sum(inbox.insert_many(connection, deliveries, NOW))
        except BaseException as exc:  # reported below with the other thread's result
            errors.append(exc)
            start.abort()  # the other writer stops waiting for this one

    threads = [
        threading.Thread(target=writer, args=(0, keys)),
        threading.Thread(target=writer, args=(1, keys[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with store.engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(webhook_inbox)).scalar_one()
    store.close()
    assert [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] == []
    assert errors == []
    # nothing lost, nothing twice: every key of every round stored once, counted new once
    assert stored == len(keys) * rounds
    assert sum(new_rows) == len(keys) * rounds


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_committer_reconnects_when_the_database_drops_its_connection(database_url: str) -> None:
    # A PostgreSQL restart or failover ends the intake's connection between two batches:
    # the next delivery is still stored and acknowledged (no 503 for the senders).
    # a name of its own, so only this test's intake connection is ended (other test runs
    # may be inserting into their own inboxes on the same server)
    name = f"csb_intake_{uuid.uuid4().hex[:8]}"
    store = open_store(f"{database_url}&application_name={name}")
    committer = open_committer(store.engine, lambda: NOW)

    def end_intake_connection() -> list[tuple[bool]]:
        with store.engine.connect() as other:
            return [
                tuple(row)
                for row in other.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "pid <> pg_backend_pid() AND application_name = :name "
                        "AND query LIKE '%INSERT INTO webhook_inbox%'"
                    ),
                    {"name": name},
                )
            ]

    async def scenario() -> list[int | list[tuple[bool]]]:
        try:
            return [
                await committer.submit("standard", [("before", b"{}")], {}),
                end_intake_connection(),
                await committer.submit("standard", [("after", b"{}")], {}),
                await committer.submit("standard", [("after", b"{}")], {}),  # deduplicated
            ]
        finally:
            await committer.close()

    assert asyncio.run(scenario()) == [1, [(True,)], 1, 0]
    with store.engine.connect() as connection:
        stored = connection.execute(select(webhook_inbox.c.event_id)).scalars().all()
    store.close()
    assert sorted(stored) == ["after", "before"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_that_stops_answering_gets_503s_not_hung_requests(database_url: str) -> None:
    # A "PostgreSQL" that accepts the connection and then says nothing (a network
    # partition): each batch gives up after the committer's timeout with
    # InboxUnavailable (the app's 503 + Retry-After), and a later batch starts over.
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(silent.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    store = open_store(database_url)
    url = store.engine.url.set(port=silent.getsockname()[1], query={})
    committer = AsyncCommitter(create_engine(url), lambda: NOW, timeout=0.5)

    async def scenario() -> list[float]:
        waits = []
        for event_id in ("first", "second"):
            started = asyncio.get_running_loop().time()
            with pytest.raises(InboxUnavailable):
                await committer.submit("standard", [(event_id, b"{}")], {})
            waits.append(asyncio.get_running_loop().time() - started)
        await committer.close()
        return waits

    try:
        waits = asyncio.run(scenario())
        assert all(0.4 < wait < 5 for wait in waits), waits  # the timeout, never hung
        assert len(held) == 2  # the second batch opened a new connection
    finally:
        silent.close()
        for connection in held:
            connection.close()
        store.close()
