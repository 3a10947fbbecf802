"""Transport-level helpers: which exceptions are retryable, SDK errors as responses.

A failure *before the request was sent* (connection refused, connect timeout) is
always safe to retry. A read timeout or a connection dropped mid-flight may have
reached the server, so a non-idempotent write is not resent after one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import requests
import urllib3.exceptions as u3

from csbridge.http.errors import ResponseLike, SimpleResponse


class QuotaGuard(Protocol):
    """Watches responses for a quota (e.g. Salesforce daily API usage) and says when to stop."""

    def observe(self, response: ResponseLike) -> None: ...

    def exhausted(self) -> bool: ...


class TransportFailure(Exception):
    """A call that got no HTTP answer; `kind` goes into the call accounting."""

    def __init__(self, kind: str, reason: str, before_send: bool, fatal: bool = False) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.before_send = before_send
        self.fatal = fatal


def transport_failure(exc: BaseException) -> TransportFailure | None:
    """Classify a requests / urllib3 exception; None if it is not a transport problem."""
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return transport_failure(exc.reason)
    if isinstance(exc, requests.exceptions.SSLError | u3.SSLError):
        return TransportFailure("tls_error", "TLS handshake failed; check ca_bundle", True, True)
    if isinstance(exc, requests.exceptions.ConnectTimeout | u3.ConnectTimeoutError):
        return TransportFailure("connect_timeout", "connect timeout", before_send=True)
    if isinstance(exc, requests.exceptions.ReadTimeout | u3.ReadTimeoutError | TimeoutError):
        return TransportFailure("timeout", "read timeout", before_send=False)
    if isinstance(exc, u3.NewConnectionError | ConnectionRefusedError):
        return TransportFailure("connect_error", "connection refused", before_send=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, BaseException) and inner is not exc:
            nested = transport_failure(inner)
            if nested is not None:
                return nested
        return TransportFailure("connection_error", "connection dropped", before_send=False)
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError | u3.ProtocolError | ConnectionError,
    ):
        return TransportFailure("connection_error", "connection dropped", before_send=False)
    return None


def sdk_response(exc: Exception) -> ResponseLike:
    """An SDK exception with `.status`, `.headers`, `.body` (hubspot-api-client) as a response."""
    headers: Mapping[str, Any] = getattr(exc, "headers", None) or {}
    body = getattr(exc, "body", None) or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return SimpleResponse(
        status_code=int(getattr(exc, "status", 0) or 0),
        headers={str(k): str(v) for k, v in dict(headers).items()},
        text=str(body),
    )
