"""Helpers the emulators share: credential parsing, sliding-window limits, absolute URLs.

Engineer B's Salesforce and HubSpot emulators may use these too; nothing here knows a vendor.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request

# What a handler raises when a body or parameter has the wrong shape (`{"inputs": [1]}`,
# `limit=abc`, bytes that are not UTF-8). Each emulator maps these to its vendor's 400
# error body, as the real APIs answer malformed input: never a 500, which clients retry.
MALFORMED_INPUT: tuple[type[Exception], ...] = (
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,  # a number past what a float or a date holds
    RecursionError,  # JSON nested thousands deep
)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, secret) from an `Authorization: Basic` header, or None if absent or malformed.

    Accepts base64 of `user:secret`, base64 of a bare `secret` (no colon, as some Mixpanel
    clients send), and the plain-text `user:secret` form Mixpanel documents as accepted.
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = value if ":" in value else ""
    if not decoded:
        return None
    user, _, secret = decoded.partition(":")
    return user, secret


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer` header, or None if absent, empty or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def base_url(request: Request) -> str:
    """`scheme://host[:port]` as the client addressed us, so returned URLs point back here."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


def absolute(request: Request, path: str, params: dict[str, str | int] | None = None) -> str:
    """An absolute URL on this server for `path` with `params` encoded (brackets kept readable)."""
    url = base_url(request) + path
    if params:
        url += "?" + urlencode(params, safe="[]")
    return url


@dataclass
class SlidingWindow:
    """At most `limit` calls per `window` seconds (a rolling window, thread-safe).

    `take()` records a call and returns 0.0 if it is allowed, else the seconds until a slot
    frees up (the call is then not recorded).
    """

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _calls: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()

    def take(self) -> float:
        """Record one call if allowed; return 0.0, or the wait in seconds if over the limit."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if len(self._calls) >= self.limit:
                return max(0.001, self._calls[0] + self.window - now)
            self._calls.append(now)
            return 0.0

    def remaining(self) -> int:
        """Calls still allowed in the current window."""
        with self._lock:
            self._expire(self.clock())
            return max(0, self.limit - len(self._calls))

    def resets_in(self) -> int:
        """Whole seconds until the oldest call in the window expires (0 when empty)."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if not self._calls:
                return 0
            return max(1, int(self._calls[0] + self.window - now + 0.999))
