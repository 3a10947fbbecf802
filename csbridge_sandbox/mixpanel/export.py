"""Mixpanel raw event export: `GET /api/2.0/export` (reference Part B1).

One streamed JSON Lines body per request (no pagination): `from_date`/`to_date` inclusive
(UTC days), `event` as a JSON array, `where`, `limit` <= 100000, `time_in_ms`; gzip when the
client sends `Accept-Encoding: gzip` and the body is over 1400 bytes.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from csbridge_sandbox.mixpanel.where import Predicate, WhereError, compile_where
from csbridge_sandbox.world.model import World
from csbridge_sandbox.world.usage import events_for_plan

MAX_LIMIT = 100_000
GZIP_THRESHOLD = 1400


class MixpanelError(Exception):
    """Rendered as `{"request": ..., "error": ...}` with `status`."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _day(params: dict[str, str], name: str) -> date:
    raw = params.get(name)
    if not raw:
        raise MixpanelError(400, f"'{name}' is a required parameter")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise MixpanelError(400, f"'{name}' is not a valid date (expected yyyy-mm-dd)") from None


def export_lines(world: World, params: dict[str, str]) -> Iterator[bytes]:
    """Validate the parameters, then return the (lazy) JSON Lines of the matching events."""
    first, last = _day(params, "from_date"), _day(params, "to_date")
    if last > datetime.now(UTC).date():
        raise MixpanelError(400, "to_date cannot be later than today")
    if first > last:
        raise MixpanelError(400, "from_date cannot be later than to_date")
    names: set[str] | None = None
    if params.get("event"):
        try:
            parsed = json.loads(params["event"])
        except json.JSONDecodeError:
            raise MixpanelError(400, "'event' must be a JSON array of event names") from None
        if not isinstance(parsed, list) or not all(isinstance(n, str) for n in parsed):
            raise MixpanelError(400, "'event' must be a JSON array of event names")
        names = set(parsed)
    where: Predicate | None = None
    if params.get("where"):
        try:
            where = compile_where(params["where"])
        except WhereError as exc:
            raise MixpanelError(400, f"invalid 'where' expression: {exc}") from None
    limit: int | None = None  # no cap unless asked: the export returns every event in range
    if params.get("limit"):
        try:
            limit = int(params["limit"])
        except ValueError:
            raise MixpanelError(400, "'limit' must be an integer") from None
        if not 0 < limit <= MAX_LIMIT:
            raise MixpanelError(400, f"'limit' cannot be over {MAX_LIMIT}")
    in_ms = params.get("time_in_ms", "").lower() == "true"
    return _lines(world, first, last, names, where, limit, in_ms)


def _lines(
    world: World,
    first: date,
    last: date,
    names: set[str] | None,
    where: Predicate | None,
    limit: int | None,
    in_ms: bool,
) -> Iterator[bytes]:
    sent = 0
    batch: list[bytes] = []
    day = first
    while day <= last and (limit is None or sent < limit):
        for plan in world.usage_plans:
            for event in events_for_plan(world, plan, day):
                if names is not None and event["event"] not in names:
                    continue
                props: dict[str, Any] = event["properties"]
                if where is not None and not where(
                    {**props, "$time": props["time"], "event": event["event"]}
                ):
                    continue
                if in_ms:
                    props = {**props, "time": props["time"] * 1000}
                    event = {"event": event["event"], "properties": props}
                batch.append(json.dumps(event, separators=(",", ":")).encode() + b"\n")
                sent += 1
                if limit is not None and sent >= limit:
                    break
            if limit is not None and sent >= limit:
                break
            if len(batch) >= 500:
                yield b"".join(batch)
                batch = []
        day += timedelta(days=1)
    if batch:
        yield b"".join(batch)


class JsonLinesResponse:
    """Streams chunks (generated on a worker thread, so other emulators keep serving);
    gzip-compressed when asked for and the body exceeds 1400 bytes."""

    def __init__(self, chunks: Iterator[bytes], gzip: bool) -> None:
        self.chunks = chunks
        self.gzip = gzip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = b""
        finished = False
        while len(head) <= GZIP_THRESHOLD:
            chunk = await run_in_threadpool(next, self.chunks, None)
            if chunk is None:
                finished = True
                break
            head += chunk
        compress = self.gzip and len(head) > GZIP_THRESHOLD
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        if compress:
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        if finished and not compress:
            headers.append((b"content-length", str(len(head)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        packer = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None

        async def emit(data: bytes, more: bool) -> None:
            if packer is not None:
                data = packer.compress(data) + (b"" if more else packer.flush())
            await send({"type": "http.response.body", "body": data, "more_body": more})

        await emit(head, not finished)
        if not finished:
            while (chunk := await run_in_threadpool(next, self.chunks, None)) is not None:
                await emit(chunk, True)
            await emit(b"", False)
