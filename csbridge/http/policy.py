"""The policy's parts that are not the retry loop: bounds, the session adapter, final errors.

`PolicyAdapter` is mounted on an `ApiClient`'s `requests.Session`, so any library
handed that session (simple-salesforce) runs every request through the client's
retry loop, limiter, timeouts and accounting. Private `X-Csbridge-*` headers carry
the endpoint label, rate-limit bucket and idempotency from `ApiClient.request` to
the adapter and are removed before the request leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from csbridge.http.accounting import endpoint_label
from csbridge.http.errors import (
    Auth,
    AuthError,
    Fatal,
    FatalHttpError,
    HttpError,
    QuotaExhausted,
    QuotaExhaustedError,
    RateLimited,
    ResponseLike,
    RetriesExhaustedError,
    Retry,
    UnknownOutcomeError,
    Verdict,
)

ENDPOINT_HEADER = "X-Csbridge-Endpoint"
IDEMPOTENT_HEADER = "X-Csbridge-Idempotent"
BUCKET_HEADER = "X-Csbridge-Bucket"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and for each read."""

    connect: float = 10.0
    read: float = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry policy."""

    max_attempts: int = 6
    max_seconds: float = 300.0
    retry_after_cap: float = 120.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_POLICY = RetryPolicy()


def verdict_error(
    system: str, verdict: Verdict, endpoint: str, status: int, safe: bool
) -> HttpError | None:
    """The `HttpError` a final (after retries) verdict stands for; None for Ok.

    A retryable failure of a write that is not idempotent is an unknown outcome. A 403 the
    vendor judged fatal is a permission the credentials lack: a credentials error too.
    """
    detail = f"HTTP {status}"
    if isinstance(verdict, RateLimited):
        return RetriesExhaustedError(system, endpoint, f"{detail}: still rate limited")
    if isinstance(verdict, Retry):
        if not safe:
            return UnknownOutcomeError(system, endpoint, f"{detail} on a write: outcome unknown")
        return RetriesExhaustedError(system, endpoint, f"{detail}: {verdict.reason}")
    if isinstance(verdict, QuotaExhausted):
        return QuotaExhaustedError(system, endpoint, verdict.reason, status)
    if isinstance(verdict, Auth) or (isinstance(verdict, Fatal) and status == 403):
        return AuthError(
            system,
            endpoint,
            f"{detail}: {verdict.reason}; check the credentials under sources.{system}",
            status,
        )
    if isinstance(verdict, Fatal):
        return FatalHttpError(system, endpoint, f"{detail}: {verdict.reason}", status)
    return None


Execute = Callable[
    [
        Callable[[], requests.Response],
        str,
        bool,
        str | None,
        Callable[[requests.Response], ResponseLike],
    ],
    requests.Response,
]
"""`ApiClient.execute`: run one call (attempt, endpoint label, idempotent, bucket, to
response) through the retry loop, limiter and accounting."""


class PolicyAdapter(HTTPAdapter):
    """Runs every request of the client's session (ours or a library's) through the policy.

    It is handed the client's `execute` and timeouts rather than the client itself, so
    this module does not import the client.
    """

    def __init__(self, execute: Execute, timeouts: Timeouts) -> None:
        super().__init__(pool_connections=4, pool_maxsize=16)
        self.execute = execute
        self.timeouts = timeouts

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        **kw: Any,
    ) -> requests.Response:
        headers = request.headers
        label = headers.pop(ENDPOINT_HEADER, None) or endpoint_label(request.path_url)
        bucket = headers.pop(BUCKET_HEADER, None)
        flag = headers.pop(IDEMPOTENT_HEADER, None)
        method = (request.method or "GET").upper()
        idempotent = flag == "1" if flag is not None else method in IDEMPOTENT_METHODS
        if timeout is None:
            timeout = (self.timeouts.connect, self.timeouts.read)

        def attempt() -> requests.Response:
            response = super(PolicyAdapter, self).send(request, stream, timeout, **kw)
            if not stream:
                _ = response.content  # read the body here, so a broken body is retried too
            return response

        return self.execute(attempt, label, idempotent, bucket, _identity)


def _identity(response: requests.Response) -> ResponseLike:
    return response
