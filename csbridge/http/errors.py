"""What a response means (the verdicts a vendor classifier returns) and the errors we raise.

A classifier is one function per vendor, `classify(response) -> Verdict`, the single
seam where a vendor's status codes and error bodies become decisions: go on, retry,
wait, stop the run for quota, or fail. Error messages name the system, the endpoint
label and the status; never a URL, a header or a body, which may carry secrets.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from csbridge.errors import CsbridgeError


class ResponseLike(Protocol):
    """The part of a response a classifier reads (a `requests.Response` fits)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class SimpleResponse:
    """A response rebuilt from an SDK exception (status, headers, body) for classification."""

    status_code: int
    headers: Mapping[str, str]
    text: str = ""


@dataclass(frozen=True)
class Ok:
    """The call succeeded (or failed in a way the caller handles, e.g. 404 on a lookup)."""


@dataclass(frozen=True)
class Retry:
    """A transient failure (5xx, lock contention): retry with backoff."""

    reason: str = "server error"


@dataclass(frozen=True)
class RateLimited:
    """The vendor said slow down; `wait` is its Retry-After in seconds, if it gave one."""

    wait: float | None = None


@dataclass(frozen=True)
class Fatal:
    """A request that will never succeed as sent (bad query, unknown field)."""

    reason: str = "request refused"


@dataclass(frozen=True)
class QuotaExhausted:
    """The daily or hourly quota is spent: stop this system for the run, do not retry."""

    reason: str = "API quota exhausted"


@dataclass(frozen=True)
class Auth:
    """Credentials are missing, wrong or expired."""

    reason: str = "credentials rejected"


Verdict = Ok | Retry | RateLimited | Fatal | QuotaExhausted | Auth
Classifier = Callable[[ResponseLike], Verdict]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def json_body(response: ResponseLike) -> Any:
    """The response body as JSON, or None when it is not JSON (classifiers read error bodies)."""
    try:
        return json.loads(response.text)
    except (ValueError, TypeError):
        return None


def default_classify(response: ResponseLike) -> Verdict:
    """HTTP semantics only: 429 waits, 408/5xx retry, 401 auth, other 4xx fatal, rest ok."""
    status = response.status_code
    if status == 429:
        return RateLimited(parse_retry_after(response.headers.get("Retry-After")))
    if status in (408, 500, 502, 503, 504) or status >= 520:
        return Retry(f"HTTP {status}")
    if status == 401:
        return Auth()
    if status in (400, 403, 405, 409, 410, 413, 415, 422):
        return Fatal(f"HTTP {status}")
    return Ok()


class HttpError(CsbridgeError):
    """A call that did not succeed; the message is safe to print and log."""

    def __init__(self, system: str, endpoint: str, detail: str, status: int | None = None) -> None:
        self.system = system
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"{system} {endpoint}: {detail}")


class FatalHttpError(HttpError):
    """The vendor refused the request and will refuse it again."""


def json_object(system: str, endpoint: str, response: ResponseLike) -> dict[str, Any]:
    """The body of a 2xx answer as a JSON object; anything else is a `FatalHttpError`."""
    body = json_body(response)
    if not isinstance(body, dict):
        raise FatalHttpError(system, endpoint, "the answer is not a JSON object")
    return body


class SetupError(HttpError):
    """Nothing will work until the config is fixed: stop the command (exit 2), do not go on
    with the next stream or batch."""


class AuthError(SetupError):
    """Credentials rejected (401) or lacking a permission (403): fix them in the config."""


class MissingFieldError(SetupError):
    """The CRM lacks a field csbridge reads or writes: `csbridge init-crm` was not run (or
    the field mapping names a field the CRM does not have)."""


class WrongUrlError(SetupError):
    """The configured URL does not lead to the API: a 404 or a web page where a listing was
    expected, a host that does not resolve, a connection refused on every attempt."""


class QuotaExhaustedError(HttpError):
    """The vendor's (or our configured share of its) quota is spent; resume on a later run."""


class RetriesExhaustedError(HttpError):
    """Still failing after the policy's bound on attempts or total time."""


class UnknownOutcomeError(HttpError):
    """A non-idempotent write timed out or died mid-flight: it may or may not have happened.

    Do not resend it; look the object up by its deterministic key first.
    """


def check_api_answer(system: str, endpoint: str, response: ResponseLike, url: str) -> None:
    """Raise `WrongUrlError` when an endpoint that must exist answers 404 or an HTML page.

    A base URL with a wrong path would otherwise read as an empty listing ("ok, 0 records").
    The message names the URL without its query or credentials, so it is safe to print.
    """
    status = response.status_code
    html = "html" in response.headers.get("Content-Type", "").lower()
    if status == 404 or (status < 300 and html):
        what = "an HTML page" if html else "not found"
        raise WrongUrlError(
            system,
            endpoint,
            f"HTTP {status}, {what} at {safe_url(url)}; check the configured base URL",
            status,
        )


def safe_url(url: str) -> str:
    """`url` without its query, fragment and credentials (safe to print and log)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
