"""HTTP plumbing shared by the Salesforce emulator's routes: JSON responses, the error
shape (`[{"message", "errorCode", "fields"}]`), bearer auth and the daily API quota.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSON_TYPE = "application/json;charset=UTF-8"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SfHttpError(Exception):
    """Raised by handlers; rendered as Salesforce's top-level error array."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def sf_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Salesforce's content type."""
    return Response(json.dumps(data), status, headers=headers, media_type=JSON_TYPE)


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """`[{"message": ..., "errorCode": ...(, "fields": [...])}]` with the given status."""
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return sf_json([body], status)


def not_found() -> SfHttpError:
    """The generic 404 body."""
    return SfHttpError(404, "NOT_FOUND", "The requested resource does not exist")


async def read_json(request: Request) -> Any:
    """The request body as JSON, or a 400 JSON_PARSER_ERROR like Salesforce's."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise SfHttpError(
            400, "JSON_PARSER_ERROR", f"Unexpected character: {exc} at [line:1, column:1]"
        ) from exc


@dataclass
class ApiUsage:
    """The org's daily API request counter (`Sforce-Limit-Info: api-usage=N/M`)."""

    limit: int
    enforce: bool
    used: int = 0
    # fault injection: sessions answered 401 INVALID_SESSION_ID (an expired token)
    revoked_tokens: set[str] = field(default_factory=set)
    _started_with: tuple[int, bool] | None = None

    def header(self) -> str:
        """The `Sforce-Limit-Info` header value."""
        return f"api-usage={self.used}/{self.limit}"

    def override(self, used: int, limit: int) -> None:
        """The `api_usage` fault: the counter reads used/limit from now on, and is enforced."""
        if self._started_with is None:
            self._started_with = (self.limit, self.enforce)
        self.used, self.limit, self.enforce = used, limit, True

    def restore(self) -> None:
        """Back to the limit and enforcement the app started with (the counter counts on)."""
        if self._started_with is not None:
            self.limit, self.enforce = self._started_with
            self._started_with = None


# status fault -> (errorCode, message). The reference lists 500 and 503 without bodies:
# these are the shapes Salesforce is known to send; a 429 is not in its REST status table
# (it refuses with 403 REQUEST_LIMIT_EXCEEDED), so the emulator sends that body with 429.
FAULT_BODIES = {
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1984012343-12345 (-1207496537)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable"),
    504: ("SERVER_UNAVAILABLE", "Gateway timeout"),
}


def fault_response(status: int, retry_after: int | None) -> Response:
    """What an armed status fault answers: Salesforce's error array for that status."""
    code, message = FAULT_BODIES[status]
    response = sf_error(status, code, message)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer|OAuth <token>` header, else None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() in {"bearer", "oauth"} and token.strip():
                return token.strip()
            return None
    return None


class SalesforceGate:
    """ASGI middleware for `/services/data/v*`: 401 INVALID_SESSION_ID without a bearer
    token, 403 REQUEST_LIMIT_EXCEEDED once the daily quota is spent, and the
    `Sforce-Limit-Info` header on every response but the versions list."""

    def __init__(self, app: ASGIApp, usage: ApiUsage) -> None:
        self.app = app
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/services/data/v"):
            await self.app(scope, receive, send)
            return
        if bearer_token(scope) in (None, *self.usage.revoked_tokens):
            await self._reply(scope, receive, send, sf_error(
                401, "INVALID_SESSION_ID", "Session expired or invalid"))  # fmt: skip
            return
        if self.usage.enforce and self.usage.used >= self.usage.limit:
            await self._reply(scope, receive, send, sf_error(
                403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))  # fmt: skip
            return
        self.usage.used += 1
        header = self.usage.header().encode()

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"sforce-limit-info", header)]
            await send(message)

        await self.app(scope, receive, send_with_usage)

    async def _reply(self, scope: Scope, receive: Receive, send: Send, resp: Response) -> None:
        resp.headers["Sforce-Limit-Info"] = self.usage.header()
        await resp(scope, receive, send)
