"""Transport-level helpers: which exceptions are retryable, SDK errors as responses.

A failure *before the request was sent* (connection refused, connect timeout) is
always safe to retry. A read timeout or a connection dropped mid-flight may have
reached the server, so a non-idempotent write is not resent after one.
"""

from __future__ import annotations

import socket
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
    """A call that got no HTTP answer; `kind` goes into the call accounting.

    `fatal`: retrying cannot help; `setup`: the config is the likely cause (a host that does
    not resolve, a connection refused, a certificate not trusted), so giving up stops the
    command instead of the stream.
    """

    def __init__(
        self, kind: str, reason: str, before_send: bool, fatal: bool = False, setup: bool = False
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.before_send = before_send
        self.fatal = fatal
        self.setup = setup


def _no_connection(exc: u3.NewConnectionError) -> TransportFailure:
    """A refused connection or an unknown host, named with the host (and port) tried."""
    host = getattr(exc.conn, "host", None) or "?"
    cause = exc.__cause__
    if isinstance(exc, u3.NameResolutionError):
        temporary = isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_AGAIN
        reason = f"unknown host {host}; check the host name in base_url"
        return TransportFailure("unknown_host", reason, True, fatal=not temporary, setup=True)
    where = f"{host}:{getattr(exc.conn, 'port', None) or '?'}"
    if isinstance(cause, ConnectionRefusedError):
        reason = f"connection refused by {where} — is the service running / is base_url right?"
    else:  # no route, network down: retried like a refusal, named for what it is
        reason = f"cannot connect to {where} ({type(cause).__name__}) — is base_url right?"
    return TransportFailure("connect_error", reason, before_send=True, setup=True)


def transport_failure(exc: BaseException) -> TransportFailure | None:
    """Classify a requests / urllib3 exception; None if it is not a transport problem."""
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return transport_failure(exc.reason)
    if isinstance(exc, requests.exceptions.SSLError | u3.SSLError):
        reason = "TLS handshake failed; check ca_bundle"
        return TransportFailure("tls_error", reason, True, fatal=True, setup=True)
    if isinstance(exc, u3.NewConnectionError):  # before ConnectTimeoutError, its base class
        return _no_connection(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout | u3.ConnectTimeoutError):
        return TransportFailure("connect_timeout", "connect timeout", before_send=True)
    if isinstance(exc, requests.exceptions.ReadTimeout | u3.ReadTimeoutError | TimeoutError):
        return TransportFailure("timeout", "read timeout", before_send=False)
    if isinstance(exc, ConnectionRefusedError):
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
