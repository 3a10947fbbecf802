"""Group commit: concurrent deliveries share one inbox transaction, each acked after it.

Every request hands its events to one writer thread and awaits a future; the
thread takes everything queued (up to `max_batch` requests), inserts it in ONE
transaction (`INSERT ... ON CONFLICT DO NOTHING RETURNING`), commits, and only then
resolves each request's future with its count of new rows (or the error, which
the app answers with 503). Durability per request is unchanged (nothing is acked
before its commit); the cost of a commit is shared, and the event loop never
waits on the database or on worker threads fighting for the GIL.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from csbridge.webhooks import inbox

MAX_ROWS = 2000  # x 7 columns stays far below PostgreSQL's 65,535 bind parameters


@dataclass
class _Job:
    source: str
    events: Sequence[tuple[str, bytes]]
    headers: dict[str, str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int] = field(repr=False)


def _resolve(future: asyncio.Future[int], value: int | BaseException) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class GroupCommitter:
    """One writer thread batching inbox inserts from many concurrent requests."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, max_batch: int = 256
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(
        self, source: str, events: Sequence[tuple[str, bytes]], headers: dict[str, str]
    ) -> int:
        """Store `events`; returns how many were new once their transaction committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        job = _Job(source, events, headers, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        """Stop the writer thread after the jobs already queued."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="csbridge-inbox-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            rows = len(first.events)
            stop = False
            # bounded by requests and by rows (PostgreSQL allows 65,535 parameters)
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

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with self._engine.begin() as connection:
                new = inbox.insert_many(
                    connection,
                    [(job.source, job.events, job.headers) for job in batch],
                    self._clock(),
                )
        except Exception as exc:  # answered 503 by the app; the senders retry
            for job in batch:
                job.loop.call_soon_threadsafe(_resolve, job.future, exc)
            return
        for job, count in zip(batch, new, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, count)
