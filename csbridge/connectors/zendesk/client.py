"""Zendesk Support's client: its rate limits, its error classifier, the client factory."""

from __future__ import annotations

from csbridge.config import HttpSettings, ZendeskSettings
from csbridge.connectors.http_settings import policy_from, timeouts_from
from csbridge.http.accounting import CallAccounting
from csbridge.http.client import ApiClient
from csbridge.http.errors import Fatal, ResponseLike, Retry, Verdict, default_classify
from csbridge.http.limits import DEFAULT_BUCKET, RateLimit

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


def classify_zendesk(response: ResponseLike) -> Verdict:
    """Zendesk: 429 with Retry-After (plain-text body); 403 is a plan or role refusal."""
    if response.status_code == 403:
        return Fatal("access refused: check the token's role and the plan's features")
    if response.status_code == 409:
        return Retry("conflicting concurrent update")
    return default_classify(response)


def zendesk_client(
    source: ZendeskSettings, http: HttpSettings, accounting: CallAccounting | None = None
) -> ApiClient:
    """Zendesk Support with API-token basic auth; use `bucket="incremental"` for exports."""
    return ApiClient(
        "zendesk",
        source.base_url,
        auth=(f"{source.email}/token", source.api_token.get_secret_value()),
        headers={"Accept": "application/json"},
        timeouts=timeouts_from(http),
        policy=policy_from(http),
        limits=zendesk_limits(
            source.plan,
            source.high_volume_api,
            source.requests_per_minute,
            source.incremental_exports_per_minute,
        ),
        classify=classify_zendesk,
        accounting=accounting,
    )
