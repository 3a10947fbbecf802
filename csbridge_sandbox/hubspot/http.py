"""HTTP plumbing for the HubSpot emulator: error bodies with `correlationId`, the private-app
bearer check, `x-hubspot-ratelimit-*` headers and the TEN_SECONDLY_ROLLING / search limits.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from csbridge_sandbox.common import SlidingWindow, bearer_token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
DATED_PREFIX = "/crm/objects/2026-03/"
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def dated_alias(path: str) -> str:
    """The v3 path the SDK uses for a date-versioned (2026-03) path; others unchanged."""
    if path.startswith(DATED_PREFIX):
        return "/crm/v3/objects/" + path[len(DATED_PREFIX) :]
    return path


def correlation_id() -> str:
    """A UUID-shaped correlation id (deterministic sequence, unique per process)."""
    with _ids_lock:
        n = next(_ids)
    return str(uuid.UUID(int=(0xC5B0 << 112) | n))


class HsError(Exception):
    """Raised by handlers; rendered as `{"status": "error", "message", "correlationId", ...}`."""

    def __init__(
        self, status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra


def hs_json(data: Any, status: int = 200) -> Response:
    """A JSON response like HubSpot's (`application/json;charset=utf-8`)."""
    return Response(json.dumps(data), status, media_type="application/json;charset=utf-8")


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """The standard HubSpot error object."""
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }


async def read_json(request: Request) -> Any:
    """The JSON body, or HubSpot's 400 for an unparsable one."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise HsError(400, f"Invalid input JSON on line 1: {exc}") from exc


def not_found(object_id: str) -> HsError:
    """404 for an object id that does not exist."""
    return HsError(404, "resource not found", "OBJECT_NOT_FOUND", context={"id": [object_id]})


@dataclass
class Limits:
    """Per-token request counters; enforced only in realistic mode."""

    enforce: bool
    ten_second_max: int = 190
    daily_max: int = 1_000_000
    search_per_second: int = 5
    retry_after: int | None = None
    windows: dict[str, SlidingWindow] = field(default_factory=dict)
    search_windows: dict[str, SlidingWindow] = field(default_factory=dict)
    daily_used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def window(self, token: str, search: bool) -> SlidingWindow:
        """The rolling window for a token (10 s, or 1 s for search)."""
        with self.lock:
            table = self.search_windows if search else self.windows
            if token not in table:
                table[token] = (
                    SlidingWindow(self.search_per_second, 1.0)
                    if search
                    else SlidingWindow(self.ten_second_max, 10.0)
                )
            return table[token]


class HubSpotGate:
    """ASGI middleware: 401 without a bearer token, rate-limit headers on every response,
    and in realistic mode the TEN_SECONDLY_ROLLING (and per-second search) 429s."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith(DATED_PREFIX):
            scope = {**scope, "path": dated_alias(path)}
        header = next(
            (
                bytes(v).decode("latin-1")
                for k, v in scope.get("headers", [])
                if k == b"authorization"
            ),
            None,
        )
        token = bearer_token(header)
        if token is None:
            body = error_body(AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            await hs_json(body, 401)(scope, receive, send)
            return
        limits = self.limits
        window = limits.window(token, search=False)
        if limits.enforce and limits.daily_used >= limits.daily_max:
            await self._limited(scope, receive, send, window, "DAILY", 1.0)
            return
        wait = window.take() if limits.enforce else 0.0
        if wait == 0.0 and limits.enforce and scope["path"].endswith("/search"):
            search_wait = limits.window(token, search=True).take()
            if search_wait:
                await self._limited(scope, receive, send, window, "SECONDLY", search_wait)
                return
        if wait:
            await self._limited(scope, receive, send, window, "TEN_SECONDLY_ROLLING", wait)
            return
        if not limits.enforce:
            window.take()
        with limits.lock:
            limits.daily_used += 1
        headers = self._headers(window)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, window: SlidingWindow) -> list[tuple[bytes, bytes]]:
        return rate_headers(self.limits, window.remaining())

    async def _limited(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        window: SlidingWindow,
        policy: str,
        wait: float,
    ) -> None:
        await limited_response(self.limits, policy, window.remaining())(scope, receive, send)


def rate_headers(limits: Limits, remaining: int) -> list[tuple[bytes, bytes]]:
    """The `x-hubspot-ratelimit-*` and correlation-id headers HubSpot sends on every answer."""
    values = {
        "x-hubspot-ratelimit-daily": limits.daily_max,
        "x-hubspot-ratelimit-daily-remaining": max(limits.daily_max - limits.daily_used, 0),
        "x-hubspot-ratelimit-interval-milliseconds": 10000,
        "x-hubspot-ratelimit-max": limits.ten_second_max,
        "x-hubspot-ratelimit-remaining": remaining,
        "x-hubspot-ratelimit-secondly": limits.ten_second_max // 10,
        "x-hubspot-ratelimit-secondly-remaining": max(remaining // 10 - 1, 0),
        "x-hubspot-correlation-id": correlation_id(),
    }
    return [(k.encode(), str(v).encode()) for k, v in values.items()]


def limited_response(
    limits: Limits, policy: str, remaining: int, retry_after: int | None = None
) -> Response:
    """HubSpot's 429 for a rate-limit policy (TEN_SECONDLY_ROLLING, DAILY, SECONDLY), with
    `Retry-After` only when configured (its presence makes the SDK retry GETs silently)."""
    group = {
        "TEN_SECONDLY_ROLLING": "publicapi:hapikey-api-calls-ten-secondly:6748263",
        "DAILY": "publicapi:hapikey-api-calls-daily:6748263",
        "SECONDLY": "publicapi:search-api-calls-secondly:6748263",
    }[policy]
    body = {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": group,
    }
    response = hs_json(body, 429)
    for key, value in rate_headers(limits, remaining):
        response.headers[key.decode()] = value.decode()
    retry_after = retry_after if retry_after is not None else limits.retry_after
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def fault_response(limits: Limits, status: int, retry_after: int | None) -> Response:
    """What an armed status fault answers: a TEN_SECONDLY_ROLLING 429 as the gate sends it,
    or for other statuses HubSpot's standard error object (5xx bodies are unverified)."""
    if status == 429:
        return limited_response(limits, "TEN_SECONDLY_ROLLING", 0, retry_after)
    message, category = {
        401: ("Authentication credentials not found.", "INVALID_AUTHENTICATION"),
        403: ("This oauth-token does not have proper permissions!", "MISSING_SCOPES"),
    }.get(status, ("internal error", "INTERNAL_ERROR"))
    response = hs_json(error_body(message, category), status)
    for key, value in rate_headers(limits, limits.ten_second_max):
        response.headers[key.decode()] = value.decode()
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
