"""The one place that talks HTTP: timeouts, retries, rate limits, call accounting, safe logs.

`ApiClient` is one vendor API. Every call, whether made by us through
`request()`, by simple-salesforce through `client.session`, or by
hubspot-api-client through `call_sdk()`, goes through the same steps:

1. stop if the quota guard says our share is spent (Salesforce daily quota);
2. take a token from the client-side rate limiter (vendor defaults, configurable);
3. send with connect and read timeouts;
4. count it in `CallAccounting` (system, endpoint label, status);
5. ask the vendor classifier what the answer means, and retry with one tenacity
   policy on 429 / 5xx / connection errors / timeouts: `Retry-After` honoured and
   capped, otherwise jittered exponential backoff; bounded attempts and total time.

A write that is not idempotent (POST / PATCH unless marked) is never resent after a
timeout or a broken connection: `UnknownOutcomeError` tells the caller to look the
object up by its deterministic key. Logs carry system, endpoint label, method,
status and attempt; never a URL's query, a header or a body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import requests
import structlog
import tenacity

from csbridge.http.accounting import CallAccounting, endpoint_label
from csbridge.http.errors import (
    Classifier,
    FatalHttpError,
    QuotaExhaustedError,
    RateLimited,
    ResponseLike,
    RetriesExhaustedError,
    Retry,
    SetupError,
    UnknownOutcomeError,
    Verdict,
    check_api_answer,
    default_classify,
)
from csbridge.http.limits import UNLIMITED, RateLimit, RateLimiter
from csbridge.http.policy import (
    BUCKET_HEADER,
    DEFAULT_POLICY,
    DEFAULT_TIMEOUTS,
    ENDPOINT_HEADER,
    IDEMPOTENT_HEADER,
    IDEMPOTENT_METHODS,
    PolicyAdapter,
    RetryPolicy,
    Timeouts,
    verdict_error,
)
from csbridge.http.transport import QuotaGuard, TransportFailure, sdk_response, transport_failure

__all__ = ["ApiClient", "CallAccounting", "RetryPolicy", "Timeouts"]

T = TypeVar("T")
log = structlog.get_logger("csbridge.http")


class _Again(Exception):
    """A retryable answer; carries the result so the last one can be returned."""

    def __init__(self, result: Any, wait: float | None, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.wait = wait
        self.reason = reason


class _SdkFailure:
    """An SDK exception kept as a value so it can be classified like a response."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.response = sdk_response(exc)


class ApiClient:
    """One vendor API with its session, limiter, retry policy, classifier and accounting."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth: requests.auth.AuthBase | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        policy: RetryPolicy = DEFAULT_POLICY,
        limits: Mapping[str, Iterable[RateLimit]] | None = None,
        classify: Classifier = default_classify,
        accounting: CallAccounting | None = None,
        quota: QuotaGuard | None = None,
        verify: bool | str = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.policy = policy
        self.classify = classify
        self.accounting = accounting if accounting is not None else CallAccounting()
        self.quota = quota
        self._clock = clock
        self.limiter = RateLimiter(limits, clock, _sleep) if limits else UNLIMITED
        self.session = requests.Session()
        adapter = PolicyAdapter(self.execute, self.timeouts)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.auth = auth
        self.session.verify = verify
        self.session.headers.update(headers or {})

    def url(self, path: str) -> str:
        """An absolute URL for `path` (returned unchanged if already absolute)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        bucket: str | None = None,
        idempotent: bool | None = None,
        must_exist: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one call under the policy; return the response or raise a typed `HttpError`.

        `endpoint` is the label used in logs and accounting (default: the path with ids
        masked); `bucket` a named rate-limit bucket; `idempotent` overrides the method's
        default (e.g. True for HubSpot search, which is a POST). `must_exist` marks a
        listing or login endpoint: a 404 or an HTML page there means the configured base URL
        is wrong (`WrongUrlError`), not an empty answer. Other keyword arguments go to
        `requests` (params, json, data, headers, stream, timeout).
        """
        method = method.upper()
        label = endpoint or endpoint_label(path)
        headers = dict(kwargs.pop("headers", None) or {})
        headers[ENDPOINT_HEADER] = label
        if bucket:
            headers[BUCKET_HEADER] = bucket
        if idempotent is not None:
            headers[IDEMPOTENT_HEADER] = "1" if idempotent else "0"
        response = self.session.request(method, self.url(path), headers=headers, **kwargs)
        safe = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        self.raise_for_verdict(self.classify(response), label, response.status_code, safe)
        if must_exist:
            check_api_answer(self.system, label, response, response.url)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """`request("GET", ...)`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """`request("POST", ...)`; not retried after a timeout unless `idempotent=True`."""
        return self.request("POST", path, **kwargs)

    def call_sdk(
        self,
        endpoint: str,
        fn: Callable[..., T],
        *args: Any,
        idempotent: bool,
        bucket: str | None = None,
        timeout_kwarg: str | None = "_request_timeout",
        **kwargs: Any,
    ) -> T:
        """Run an SDK call (e.g. hubspot-api-client `batch_api.update`) under the policy.

        Non-2xx SDK exceptions (anything with `.status`) are classified like responses;
        urllib3 transport errors like ours. Build the SDK with its own retries off
        (e.g. `connectors.hubspot.client.hubspot_sdk_retry()`), so calls are not retried twice.
        """
        if timeout_kwarg:
            kwargs.setdefault(timeout_kwarg, (self.timeouts.connect, self.timeouts.read))

        def attempt() -> T | _SdkFailure:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if getattr(exc, "status", None) is None:
                    raise
                return _SdkFailure(exc)

        result: T | _SdkFailure = self.execute(
            attempt, endpoint, idempotent, bucket, _result_response
        )
        if isinstance(result, _SdkFailure):
            status = result.response.status_code
            self.raise_for_verdict(self.classify(result.response), endpoint, status, idempotent)
            raise result.exc
        return result

    def execute(
        self,
        attempt: Callable[[], T],
        endpoint: str,
        idempotent: bool,
        bucket: str | None,
        response_of: Callable[[T], ResponseLike | None],
    ) -> T:
        """The retry loop shared by every path; returns the last result (maybe a failure)."""
        start = self._clock()
        policy = self.policy
        jitter = tenacity.wait_random_exponential(
            multiplier=policy.backoff_initial, max=policy.backoff_max
        )

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Again) and exc.wait is not None:
                return min(exc.wait, policy.retry_after_cap)
            return float(jitter(state))

        def stop(state: tenacity.RetryCallState) -> bool:
            spent = max(self._clock() - start, state.idle_for)
            return (
                state.attempt_number >= policy.max_attempts
                or spent + state.upcoming_sleep > policy.max_seconds
            )

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = exc.reason if isinstance(exc, _Again | TransportFailure) else "error"
            if isinstance(exc, _Again) and isinstance(exc.result, requests.Response):
                exc.result.close()  # a streamed answer we will not read: free its connection
            log.warning(
                "http.retry",
                system=self.system,
                endpoint=endpoint,
                attempt=state.attempt_number,
                reason=reason,
                wait=round(state.upcoming_sleep, 3),
            )

        def one() -> T:
            return self._attempt(attempt, endpoint, idempotent, bucket, response_of)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_Again, TransportFailure)),
            wait=wait,
            stop=stop,
            sleep=_sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(one)
        except _Again as exc:
            log.error("http.give_up", system=self.system, endpoint=endpoint, reason=exc.reason)
            result: T = exc.result
            return result
        except TransportFailure as exc:
            log.error("http.give_up", system=self.system, endpoint=endpoint, reason=exc.reason)
            if exc.setup:
                raise SetupError(self.system, endpoint, exc.reason) from None
            raise RetriesExhaustedError(
                self.system, endpoint, f"{exc.reason} after retries; is the service reachable?"
            ) from None

    def _attempt(
        self,
        attempt: Callable[[], T],
        endpoint: str,
        idempotent: bool,
        bucket: str | None,
        response_of: Callable[[T], ResponseLike | None],
    ) -> T:
        if self.quota is not None and self.quota.exhausted():
            raise QuotaExhaustedError(
                self.system, endpoint, "configured share of the daily API quota is used up"
            )
        self.limiter.acquire(bucket)
        began = self._clock()
        try:
            result = attempt()
        except Exception as exc:
            failure = transport_failure(exc)
            if failure is None:
                raise
            self.accounting.record(self.system, endpoint, failure.kind)
            log.debug("http.call", system=self.system, endpoint=endpoint, status=failure.kind)
            if failure.fatal:
                error = SetupError if failure.setup else FatalHttpError
                raise error(self.system, endpoint, failure.reason) from None
            if not idempotent and not failure.before_send:
                raise UnknownOutcomeError(
                    self.system,
                    endpoint,
                    f"{failure.reason} on a write: outcome unknown, look it up by its key",
                ) from None
            raise failure from None
        response = response_of(result)
        if response is None:
            self.accounting.record(self.system, endpoint, 200)
            return result
        status = response.status_code
        self.accounting.record(self.system, endpoint, status)
        elapsed_ms = round((self._clock() - began) * 1000, 1)
        log.debug("http.call", system=self.system, endpoint=endpoint, status=status, ms=elapsed_ms)
        if self.quota is not None:
            self.quota.observe(response)
        verdict = self.classify(response)
        if isinstance(verdict, RateLimited):
            raise _Again(result, verdict.wait, f"rate limited (HTTP {status})")
        if isinstance(verdict, Retry) and (idempotent or status == 503):
            raise _Again(result, None, verdict.reason)
        return result

    def raise_for_verdict(self, verdict: Verdict, endpoint: str, status: int, safe: bool) -> None:
        """Turn a final verdict into the matching `HttpError` (no-op for Ok)."""
        error = verdict_error(self.system, verdict, endpoint, status, safe)
        if error is not None:
            raise error

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def _sleep(seconds: float) -> None:
    # Looked up at call time so tests can patch `time.sleep`.
    time.sleep(seconds)


def _result_response(result: object) -> ResponseLike | None:
    return result.response if isinstance(result, _SdkFailure) else None
