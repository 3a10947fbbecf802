"""The config's `http:` section as the HTTP layer's retry policy and timeouts.

Every vendor's client factory builds its `ApiClient` with these, so all vendors share
one set of bounds from the config.
"""

from __future__ import annotations

from csbridge.config import HttpSettings
from csbridge.http.policy import RetryPolicy, Timeouts


def policy_from(http: HttpSettings) -> RetryPolicy:
    """The retry bounds from the `http:` config section."""
    return RetryPolicy(
        max_attempts=http.max_attempts,
        max_seconds=http.max_retry_seconds,
        retry_after_cap=http.retry_after_cap,
    )


def timeouts_from(http: HttpSettings) -> Timeouts:
    """The connect and read timeouts from the `http:` config section."""
    return Timeouts(connect=http.connect_timeout, read=http.read_timeout)
