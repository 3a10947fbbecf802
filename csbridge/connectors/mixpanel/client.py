"""Mixpanel's client: its rate limits, its error classifier, the client factory."""

from __future__ import annotations

from csbridge.config import HttpSettings, MixpanelSettings
from csbridge.connectors.http_settings import policy_from, timeouts_from
from csbridge.http.accounting import CallAccounting
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    Auth,
    RateLimited,
    ResponseLike,
    Verdict,
    default_classify,
    parse_retry_after,
)
from csbridge.http.limits import RateLimit

MIXPANEL_EXPORT_PER_HOUR = 60
MIXPANEL_EXPORT_PER_SECOND = 3
MIXPANEL_QUERY_PER_HOUR = 60


def mixpanel_limits(per_hour: int = 60, per_second: float = 3.0) -> dict[str, list[RateLimit]]:
    """Raw export: 60 per hour and 3 per second; query API: 60 per hour (per project)."""
    return {
        "export": [RateLimit(per_hour, 3600), RateLimit(per_second, 1)],
        "query": [RateLimit(MIXPANEL_QUERY_PER_HOUR, 3600)],
    }


def classify_mixpanel(response: ResponseLike) -> Verdict:
    """Mixpanel: 429 may come without Retry-After; the hourly query limit frees in minutes."""
    if response.status_code == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and "last hour" in response.text:
            wait = 60.0
        return RateLimited(wait)
    if response.status_code in (401, 403):
        return Auth("service account rejected: check username, secret and project_id")
    return default_classify(response)


def mixpanel_client(
    source: MixpanelSettings, http: HttpSettings, accounting: CallAccounting | None = None
) -> ApiClient:
    """Mixpanel with service-account basic auth; base URL is the export host.

    Use `bucket="export"` for raw export and `bucket="query"` (with an absolute
    `api_url` URL) for the query API.
    """
    return ApiClient(
        "mixpanel",
        source.export_url,
        auth=(source.service_account_username, source.service_account_secret.get_secret_value()),
        timeouts=timeouts_from(http),
        policy=policy_from(http),
        limits=mixpanel_limits(source.queries_per_hour, source.queries_per_second),
        classify=classify_mixpanel,
        accounting=accounting,
    )
