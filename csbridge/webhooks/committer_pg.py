"""Group commit on PostgreSQL, on the event loop: psycopg's async connection, no thread.

Same contract as `committer.ThreadCommitter` (used for SQLite): each request's
events are stored by one `INSERT ... ON CONFLICT DO NOTHING RETURNING` shared with
the requests that arrived meanwhile, and its future is resolved only after that
statement committed. Here the statement is awaited on the event loop itself: the
requests that arrive while one batch is in flight form the next. A thread would
wait for the GIL at every round trip while the loop is busy (measured: batches took
three times as long inside the service as alone), and every hand-over costs
syscalls on both sides.

The statement text never changes (arrays through `unnest`, rows ordered by key so
two writers lock overlapping keys in one order), so psycopg prepares it once; the
arrays go in binary (`%b`): the text format escaped every 2 kB body in Python. The
connection is autocommit (one round trip per batch); when the database drops it,
the batch is retried once on a new connection. A batch that takes longer than
BATCH_TIMEOUT (a database that stopped answering) is answered 503 and the
connection replaced: if its insert did commit, the sender's retry is a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Engine

from csbridge.webhooks import inbox
from csbridge.webhooks.committer import MAX_ROWS, InboxUnavailable

INSERT = """
INSERT INTO webhook_inbox (source, event_id, received_at, headers, body, status, attempts)
SELECT source, event_id, %(now)s, CAST(headers AS json), body, 'pending', 0
FROM unnest(%(sources)b::text[], %(event_ids)b::text[], %(headers)b::text[], %(bodies)b::bytea[])
    AS delivered(source, event_id, headers, body)
ORDER BY source, event_id
ON CONFLICT (source, event_id) DO NOTHING
RETURNING source, event_id
"""

BATCH_TIMEOUT = 10.0  # seconds; a database that stops answering gets 503s, not hung requests

_Pending = tuple[inbox.Delivery, "asyncio.Future[int]"]


class AsyncCommitter:
    """Batches inbox inserts from concurrent requests on the event loop (PostgreSQL)."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, timeout: float = BATCH_TIMEOUT
    ) -> None:
        _args, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters: not needed for plain types
        self._params: dict[str, Any] = dict(params)
        self._clock = clock
        self._timeout = timeout
        self._pending: deque[_Pending] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(
        self, source: str, events: Sequence[tuple[str, bytes]], headers: dict[str, str]
    ) -> int:
        """Store `events`; returns how many were new once their statement committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append(((source, events, headers), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def close(self) -> None:
        """Finish the batches already queued, then close the connection."""
        if self._flusher is not None:
            await self._flusher
        await self._drop_connection()

    async def _flush(self) -> None:
        while self._pending:
            batch: list[_Pending] = []
            rows = 0
            while self._pending and (not batch or rows + len(self._pending[0][0][1]) <= MAX_ROWS):
                item = self._pending.popleft()
                batch.append(item)
                rows += len(item[0][1])
            deliveries = [delivery for delivery, _future in batch]
            try:
                counts = await asyncio.wait_for(self._insert_retrying(deliveries), self._timeout)
            except Exception as exc:  # answered 503; the senders retry (never left hanging)
                await self._drop_connection()
                for _delivery, future in batch:
                    if not future.done():
                        future.set_exception(InboxUnavailable(exc.__class__.__name__))
                continue
            for (_delivery, future), count in zip(batch, counts, strict=True):
                if not future.done():
                    future.set_result(count)

    async def _insert_retrying(self, deliveries: Sequence[inbox.Delivery]) -> list[int]:
        try:
            return await self._insert(deliveries)
        except psycopg.OperationalError:
            if self._connection is None or not self._connection.broken:
                raise
            await self._drop_connection()
            return await self._insert(deliveries)  # the database dropped us: once more

    async def _insert(self, deliveries: Sequence[inbox.Delivery]) -> list[int]:
        loop = asyncio.get_running_loop()
        if self._connection is None or self._loop is not loop:
            await self._drop_connection()
            self._connection = await psycopg.AsyncConnection.connect(
                **self._params, autocommit=True
            )
            self._loop = loop
        sources, event_ids, headers, bodies = [], [], [], []
        for source, events, kept in deliveries:
            kept_json = json.dumps(dict(kept))
            for event_id, body in events:
                sources.append(source)
                event_ids.append(event_id)
                headers.append(kept_json)
                bodies.append(body)
        cursor = await self._connection.execute(
            INSERT,
            {
                "now": self._clock(),
                "sources": sources,
                "event_ids": event_ids,
                "headers": headers,
                "bodies": bodies,
            },
        )
        inserted = {(source, event_id) for source, event_id in await cursor.fetchall()}
        return inbox.count_new(deliveries, inserted)

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # broken already, or its event loop is gone (a test's asyncio.run)
            with contextlib.suppress(psycopg.Error, OSError, RuntimeError):
                await connection.close()
