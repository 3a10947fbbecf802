"""Group commit: concurrent deliveries share one inbox statement, each acked after it.

Each request's events are inserted by one `INSERT ... ON CONFLICT DO NOTHING
RETURNING` together with those of the requests that arrived meanwhile, and the
request is answered only after that statement committed, with its count of new rows
(or `InboxUnavailable`, which the app answers with 503). Durability per request is
unchanged (nothing is acknowledged before its commit); the cost of a commit is
shared.

`open_committer` picks the implementation: on PostgreSQL the statement is awaited on
the event loop through psycopg's async connection (`committer_pg`); on SQLite, whose
driver has no async API, `ThreadCommitter` runs it on one writer thread (SQLite has
one writer anyway), so the event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine

from csbridge.webhooks import inbox

MAX_ROWS = 1000  # rows per statement (SQLAlchemy's insertmanyvalues page): 7,000 parameters


class InboxUnavailable(Exception):
    """The inbox could not store a delivery (database down or refusing): answer 503."""


class Committer(Protocol):
    """Stores deliveries in the inbox, sharing commits between concurrent requests."""

    async def submit(
        self, source: str, events: Sequence[tuple[str, bytes]], headers: dict[str, str]
    ) -> int:
        """Store `events`; how many were new, once committed. Raises InboxUnavailable."""
        ...

    async def close(self) -> None:
        """Finish what was submitted and release the connection."""
        ...


def open_committer(engine: Engine, clock: Callable[[], datetime]) -> Committer:
    """The committer for `engine`'s database."""
    if engine.dialect.name == "postgresql":
        from csbridge.webhooks.committer_pg import AsyncCommitter

        return AsyncCommitter(engine, clock)
    return ThreadCommitter(engine, clock)


@dataclass
class _Job:
    source: str
    events: Sequence[tuple[str, bytes]]
    headers: dict[str, str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int] = field(repr=False)


def _resolve(answers: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    for future, value in answers:
        if future.done():
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)


def _answer(batch: list[_Job], values: Sequence[int | BaseException]) -> None:
    """Resolve the batch's futures with one wake-up per event loop (not one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]]
    by_loop = {}
    for job, value in zip(batch, values, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, value))
    for loop, answers in by_loop.items():
        loop.call_soon_threadsafe(_resolve, answers)


class ThreadCommitter:
    """One writer thread batching inbox inserts from many concurrent requests (SQLite)."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, max_batch: int = 256
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    async def submit(
        self, source: str, events: Sequence[tuple[str, bytes]], headers: dict[str, str]
    ) -> int:
        """Store `events`; returns how many were new once their transaction committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        job = _Job(source, events, headers, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    async def close(self) -> None:
        """Stop the writer thread after the jobs already queued."""
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, 10)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="csbridge-inbox-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                rows = len(first.events)
                stop = False
                # bounded by requests and by rows (one INSERT statement per batch)
                while len(batch) < self._max_batch and rows < MAX_ROWS:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                    rows += len(job.events)
                self._commit(batch)
                if stop:
                    return
        finally:
            self._drop_connection()

    def _commit(self, batch: list[_Job]) -> None:
        deliveries = [(job.source, job.events, job.headers) for job in batch]
        try:
            if self._connection is None:
                # One statement per batch, committed by itself: one round trip, where
                # BEGIN + INSERT + COMMIT took three.
                self._connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            new = inbox.insert_many(self._connection, deliveries, self._clock())
        except Exception as exc:  # answered 503 by the app; the senders retry
            self._drop_connection()  # the next batch starts on a fresh connection
            error = InboxUnavailable(exc.__class__.__name__)
            _answer(batch, [error] * len(batch))
            return
        _answer(batch, new)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                self._connection.close()
            self._connection = None
