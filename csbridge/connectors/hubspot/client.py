"""HubSpot's client: its rate limits, its error classifier, the client factory."""

from __future__ import annotations

from urllib3.util.retry import Retry as Urllib3Retry

from csbridge.config import HttpSettings, HubspotSettings
from csbridge.connectors.http_settings import policy_from, timeouts_from
from csbridge.http.accounting import CallAccounting
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    Fatal,
    QuotaExhausted,
    RateLimited,
    ResponseLike,
    Verdict,
    default_classify,
    json_body,
    parse_retry_after,
)
from csbridge.http.limits import DEFAULT_BUCKET, RateLimit

HUBSPOT_PER_10S = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
HUBSPOT_SEARCH_PER_SECOND = 4


def hubspot_limits(
    tier: str = "starter",
    per_10s: int | None = None,
    search_per_second: float = HUBSPOT_SEARCH_PER_SECOND,
) -> dict[str, list[RateLimit]]:
    """Private apps: 100 (free/starter) or 190 (professional/enterprise) per 10 s; search 4/s."""
    return {
        DEFAULT_BUCKET: [RateLimit(per_10s or HUBSPOT_PER_10S[tier], 10)],
        "search": [RateLimit(search_per_second, 1)],
    }


def classify_hubspot(response: ResponseLike) -> Verdict:
    """HubSpot: 429 DAILY policy is a quota stop; TEN_SECONDLY / SECONDLY wait and retry."""
    if response.status_code == 429:
        body = json_body(response)
        policy = str(body.get("policyName", "")) if isinstance(body, dict) else ""
        if policy == "DAILY":
            return QuotaExhausted("HubSpot daily API limit reached; resume tomorrow")
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and policy == "SECONDLY":
            wait = 1.0
        return RateLimited(wait)
    if response.status_code == 403:
        return Fatal("refused: check the private app's scopes")
    return default_classify(response)


def hubspot_client(
    source: HubspotSettings, http: HttpSettings, accounting: CallAccounting | None = None
) -> ApiClient:
    """HubSpot with a private-app bearer token; use `bucket="search"` for search calls."""
    return ApiClient(
        "hubspot",
        source.base_url,
        headers={"Authorization": f"Bearer {source.access_token.get_secret_value()}"},
        timeouts=timeouts_from(http),
        policy=policy_from(http),
        limits=hubspot_limits(
            source.tier, source.requests_per_10s, source.search_requests_per_second
        ),
        classify=classify_hubspot,
        accounting=accounting,
    )


def hubspot_sdk_retry() -> Urllib3Retry:
    """urllib3 retries OFF for hubspot-api-client (`HubSpot(retry=hubspot_sdk_retry())`).

    Our policy retries instead, POSTs included; otherwise urllib3 would silently retry
    some GETs on its own schedule and never retry POST batch calls.
    """
    return Urllib3Retry(
        total=0,
        connect=0,
        read=0,
        status=0,
        redirect=0,
        status_forcelist=(),
        respect_retry_after_header=False,
        raise_on_status=False,
    )
