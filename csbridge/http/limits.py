"""Client-side rate limits, so a normal run meets no 429 at all.

Each API gets named buckets of `RateLimit`s (e.g. Mixpanel export: 60 per hour AND
3 per second). Every call takes one token from the "default" bucket plus the bucket
it names (Zendesk incremental exports count against both the account's per-minute
limit and their own 10 per minute). Vendor defaults come from the reference docs and
can be overridden in the config.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from csbridge.http.errors import ResponseLike

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

ZENDESK_PER_MINUTE = {
    "essential": 10,
    "team": 200,
    "growth": 400,
    "professional": 400,
    "enterprise": 700,
    "enterprise_plus": 2500,
}
ZENDESK_HIGH_VOLUME_PER_MINUTE = 2500
ZENDESK_INCREMENTAL_PER_MINUTE = 10
ZENDESK_INCREMENTAL_HIGH_VOLUME_PER_MINUTE = 30
MIXPANEL_EXPORT_PER_HOUR = 60
MIXPANEL_EXPORT_PER_SECOND = 3
MIXPANEL_QUERY_PER_HOUR = 60
HUBSPOT_PER_10S = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
HUBSPOT_SEARCH_PER_SECOND = 4
SALESFORCE_PER_SECOND = 20.0


def zendesk_limits(
    plan: str = "team",
    high_volume: bool = False,
    per_minute: int | None = None,
    incremental_per_minute: int | None = None,
) -> dict[str, list[RateLimit]]:
    """Account-wide per-minute limit by plan, plus the incremental-export bucket (10 or 30/min)."""
    account = per_minute or (
        ZENDESK_HIGH_VOLUME_PER_MINUTE if high_volume else ZENDESK_PER_MINUTE[plan]
    )
    incremental = incremental_per_minute or (
        ZENDESK_INCREMENTAL_HIGH_VOLUME_PER_MINUTE
        if high_volume
        else ZENDESK_INCREMENTAL_PER_MINUTE
    )
    return {
        DEFAULT_BUCKET: [RateLimit(account, 60)],
        "incremental": [RateLimit(incremental, 60)],
    }


def mixpanel_limits(per_hour: int = 60, per_second: float = 3.0) -> dict[str, list[RateLimit]]:
    """Raw export: 60 per hour and 3 per second; query API: 60 per hour (per project)."""
    return {
        "export": [RateLimit(per_hour, 3600), RateLimit(per_second, 1)],
        "query": [RateLimit(MIXPANEL_QUERY_PER_HOUR, 3600)],
    }


def hubspot_limits(tier: str = "starter", per_10s: int | None = None) -> dict[str, list[RateLimit]]:
    """Private apps: 100 (free/starter) or 190 (professional/enterprise) per 10 s; search 4/s."""
    return {
        DEFAULT_BUCKET: [RateLimit(per_10s or HUBSPOT_PER_10S[tier], 10)],
        "search": [RateLimit(HUBSPOT_SEARCH_PER_SECOND, 1)],
    }


def salesforce_limits(per_second: float = SALESFORCE_PER_SECOND) -> dict[str, list[RateLimit]]:
    """Salesforce has no short-window limit; a gentle pace spares the daily quota's neighbours."""
    return {DEFAULT_BUCKET: [RateLimit(per_second, 1)]}


_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceDailyQuota:
    """Reads `Sforce-Limit-Info: api-usage=USED/MAX` and says when our share is spent."""

    def __init__(self, share: float = 0.5) -> None:
        self.share = share
        self.used: int | None = None
        self.max: int | None = None

    def observe(self, response: ResponseLike) -> None:
        """Update the usage from a response's header (if present)."""
        match = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.used, self.max = int(match.group(1)), int(match.group(2))

    def exhausted(self) -> bool:
        """True once the org has used `share` of its daily maximum."""
        if self.used is None or self.max is None:
            return False
        return self.used >= self.share * self.max
