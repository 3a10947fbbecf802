"""Client-side rate limits, so a normal run meets no 429 at all.

Each API gets named buckets of `RateLimit`s (e.g. an export endpoint: 60 per hour AND
3 per second). Every call takes one token from the "default" bucket plus the bucket
it names (an export may count against both the account's per-minute limit and its
own). Each vendor's folder under `csbridge/connectors/` declares its limits, from the
reference docs, overridable in the config.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

DEFAULT_BUCKET = "default"


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` calls in any window of `per_seconds` (a rolling window)."""

    requests: float
    per_seconds: float


class RollingWindow:
    """The send times of the last `requests` calls: a call may go once the oldest of
    them is `per_seconds` old, so no window of that length ever holds more than
    `requests` calls. (A token bucket that starts full allows up to twice that in one
    window, which is what HubSpot's rolling 10-second limit answers with 429s.)"""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._sent: deque[float] = deque(maxlen=max(1, int(limit.requests)))

    def earliest(self, now: float) -> float:
        """The first time at or after `now` a call may be sent."""
        if len(self._sent) < (self._sent.maxlen or 1):
            return now
        return max(now, self._sent[0] + self.limit.per_seconds)

    def take(self, at: float) -> None:
        """Record a call sent at `at` (never earlier than a previous one)."""
        self._sent.append(at)


class RateLimiter:
    """Named groups of rolling-window limits for one API; thread-safe."""

    def __init__(
        self,
        buckets: Mapping[str, Iterable[RateLimit]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))
        self._lock = threading.Lock()
        self._buckets = {
            name: [RollingWindow(limit) for limit in limits] for name, limits in buckets.items()
        }

    def acquire(self, bucket: str | None = None) -> float:
        """Wait for a slot in the default limits and in `bucket`'s; return the seconds
        waited. The slot is taken in every limit at once, at the latest time any of them
        allows, so a wait imposed by one limit is never counted early by another."""
        names = [DEFAULT_BUCKET] if bucket in (None, DEFAULT_BUCKET) else [DEFAULT_BUCKET, bucket]
        windows = [w for name in names for w in self._buckets.get(name or DEFAULT_BUCKET, [])]
        if not windows:
            return 0.0
        with self._lock:
            now = self._clock()
            at = max(window.earliest(now) for window in windows)
            for window in windows:
                window.take(at)
        wait = at - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


UNLIMITED = RateLimiter({})
