"""The webhook HTTP service (FastAPI): intake, health, readiness, metrics.

Order of checks on `POST /webhooks/{source}`: body size (413) and time to arrive
(408) → enabled sender (404, never 410: 410 tells senders to disable the endpoint)
→ signature and timestamp on the raw bytes (401, never 500) → insert into the inbox, unique on
(source, event id), committed before answering → 200. A duplicate is a 200 with
no new row; a validly signed body that does not parse is stored all the same and
dead-lettered by the worker with its raw bytes. A database failure is a 503 with
`Retry-After`, so nothing is acknowledged without a commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect

from csbridge.config import WebhookSettings
from csbridge.webhooks import inbox
from csbridge.webhooks.adapters import ADAPTERS
from csbridge.webhooks.adapters.platforms import EVENTS
from csbridge.webhooks.adapters.standard import KINDS
from csbridge.webhooks.committer import InboxUnavailable, open_committer
from csbridge.webhooks.metrics import Metrics
from csbridge.webhooks.senders import Sender, check_signature, enabled_senders
from csbridge.webhooks.verify import VerificationError

log = structlog.get_logger("csbridge.webhooks")


class BodyTooLarge(Exception):
    """The body passed the configured limit while being read."""


async def read_limited(request: Request, limit: int, timeout: float) -> bytes:
    """The raw body, refusing (before buffering it) anything over `limit` bytes.

    The whole body must arrive within `timeout` seconds (`TimeoutError` otherwise):
    Starlette waits forever, so a client trickling a byte at a time would hold a
    connection and its buffer open for as long as it likes.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout):
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    return b"".join(chunks)


_NUMBER = {"type": "number"}
# The handler reads the raw bytes (signatures are over them), so FastAPI cannot infer
# the body; this describes what senders post, for readers and for schemathesis.
_INTAKE_DOC: dict[str, Any] = {
    "parameters": [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
        for name in (
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "x-hubspot-signature-v3",
            "x-hubspot-request-timestamp",
            "x-zendesk-webhook-signature",
            "x-zendesk-webhook-signature-timestamp",
            "x-csbridge-token",
            "x-csbridge-signature",
        )
    ],
    "requestBody": {
        "required": True,
        "description": "The sender's JSON, signed as-is; one event, or a HubSpot array.",
        "content": {
            "application/json": {
                "example": {
                    "type": "account.score_dropped",
                    "timestamp": "2026-11-23T10:00:00Z",
                    "data": {"account": "acme.com", "score": 42, "previous_score": 71},
                },
                "schema": {
                    "anyOf": [
                        {
                            "title": "Standard Webhooks event",
                            "type": "object",
                            "required": ["type", "timestamp", "data"],
                            "properties": {
                                "type": {"enum": sorted(KINDS)},
                                "timestamp": {"type": "string", "format": "date-time"},
                                "data": {
                                    "type": "object",
                                    "required": ["account"],
                                    "properties": {
                                        "account": {"type": "string", "minLength": 1},
                                        "score": _NUMBER,
                                        "previous_score": _NUMBER,
                                        "threshold": _NUMBER,
                                    },
                                },
                            },
                        },
                        {
                            "title": "CS platform alert",
                            "type": "object",
                            "required": ["event", "account"],
                            "properties": {
                                "event_id": {"type": "string"},
                                "event": {"enum": list(EVENTS)},
                                "account": {"type": "string", "minLength": 1},
                                "score": _NUMBER,
                                "previous_score": _NUMBER,
                                "threshold": _NUMBER,
                                "occurred_at": {"type": "string", "format": "date-time"},
                            },
                        },
                        {"title": "Zendesk event", "type": "object"},
                        {"title": "HubSpot events", "type": "array", "items": {"type": "object"}},
                    ]
                },
            }
        },
    },
}


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def create_app(
    settings: WebhookSettings,
    engine: Engine,
    *,
    senders: dict[str, Sender] | None = None,
    clock: Callable[[], datetime] | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """The ASGI app for `settings` on `engine` (already migrated)."""
    clock = clock or (lambda: datetime.now(UTC))
    enabled = enabled_senders(settings) if senders is None else senders
    counters = metrics or Metrics()
    committer = open_committer(engine, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What startup allocated (modules, app, settings: ~120,000 objects) lives as long
        # as the process; frozen, the collector never rescans it. Unfrozen, each full
        # collection paused every request for up to 125 ms (bench/webhooks.py's p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await committer.close()

    app = FastAPI(title="csbridge webhooks", version="1", lifespan=lifespan)
    app.state.metrics = counters
    app.state.senders = enabled

    @app.post(
        "/webhooks/{source}",
        responses={401: {}, 404: {}, 408: {}, 413: {}, 503: {}},
        openapi_extra=_INTAKE_DOC,
    )
    async def receive(
        source: Annotated[str, Path(json_schema_extra={"enum": sorted(ADAPTERS)})],
        request: Request,
    ) -> Response:
        """Verify and durably store one delivery; 200 once committed."""
        started = time.perf_counter()
        # Metric labels come from a fixed set, never from the path: one series per sender.
        label = source if source in ADAPTERS else "unknown"
        bound = log.bind(source=label)
        try:
            body = await read_limited(
                request, settings.max_body_bytes, settings.body_timeout_seconds
            )
        except BodyTooLarge:
            counters.inc("csbridge_webhook_requests_total", source=label, outcome="too_large")
            bound.warning("webhook_rejected", reason="body too large")
            return _error(413, f"body larger than {settings.max_body_bytes} bytes")
        except ClientDisconnect:  # nobody is left to answer; nothing was stored
            counters.inc("csbridge_webhook_requests_total", source=label, outcome="disconnected")
            return _error(400, "client disconnected before the body was complete")
        except TimeoutError:
            counters.inc("csbridge_webhook_requests_total", source=label, outcome="timeout")
            bound.warning("webhook_rejected", reason="body too slow")
            limit = settings.body_timeout_seconds
            return _error(408, f"body not received within {limit:g} s", Connection="close")
        sender = enabled.get(source)
        if sender is None:
            counters.inc("csbridge_webhook_requests_total", source=label, outcome="unknown")
            return _error(404, "unknown webhook source")
        headers = {k.lower(): v for k, v in request.headers.items()}
        base = settings.public_url.rstrip("/") if settings.public_url else None
        url = f"{base}{request.url.path}" if base else str(request.url)
        if base and request.url.query:
            url += f"?{request.url.query}"
        try:
            header_id = check_signature(
                sender,
                method=request.method,
                url=url,
                headers=headers,
                body=body,
                now=clock(),
                tolerance=settings.tolerance_seconds,
            )
        except VerificationError as exc:
            counters.inc("csbridge_webhook_requests_total", source=source, outcome="unauthorized")
            bound.warning("webhook_rejected", reason=exc.reason)
            return _error(401, "signature verification failed")
        events = ADAPTERS[source].events(body, headers, header_id)
        try:
            new = await committer.submit(source, events, inbox.kept_headers(headers))
        except InboxUnavailable as exc:
            counters.inc("csbridge_webhook_requests_total", source=source, outcome="unavailable")
            bound.error("webhook_store_failed", error=str(exc))
            return _error(503, "inbox unavailable; retry later", **{"Retry-After": "30"})
        counters.inc("csbridge_webhook_requests_total", source=source, outcome="accepted")
        counters.inc("csbridge_webhook_events_total", new, source=source, result="new")
        counters.inc(
            "csbridge_webhook_events_total", len(events) - new, source=source, result="duplicate"
        )
        counters.observe_ack(time.perf_counter() - started)
        bound.info("webhook_accepted", events=len(events), new=new, event_id=events[0][0][:80])
        return JSONResponse({"accepted": len(events), "new": new})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {}})
    def readyz() -> Response:
        """The database answers."""
        try:
            inbox.ping(engine)
        except SQLAlchemyError:
            return _error(503, "database unreachable")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics_text() -> PlainTextResponse:
        """Prometheus text format."""
        try:
            counts: dict[str, int] | None = inbox.status_counts(engine)
        except SQLAlchemyError:
            counts = None
        return PlainTextResponse(
            counters.render(counts), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return app
