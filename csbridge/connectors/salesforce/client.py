"""Salesforce's client: its pace, the daily-quota guard, its error classifier, the factory."""

from __future__ import annotations

import re

from csbridge.config import HttpSettings, SalesforceSettings
from csbridge.connectors.http_settings import policy_from, timeouts_from
from csbridge.http.accounting import CallAccounting
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    Auth,
    Fatal,
    Ok,
    QuotaExhausted,
    ResponseLike,
    Retry,
    Verdict,
    default_classify,
    json_body,
)
from csbridge.http.limits import DEFAULT_BUCKET, RateLimit

SALESFORCE_PER_SECOND = 20.0


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


def _salesforce_codes(response: ResponseLike) -> list[str]:
    body = json_body(response)
    if isinstance(body, list):
        return [str(item.get("errorCode", "")) for item in body if isinstance(item, dict)]
    return []


def classify_salesforce(response: ResponseLike) -> Verdict:
    """Salesforce: 403 REQUEST_LIMIT_EXCEEDED is the daily quota (a stop), not an auth failure."""
    status = response.status_code
    if status < 400:
        return Ok()
    codes = _salesforce_codes(response)
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        if "ConcurrentRequests" in response.text:
            return Retry("too many concurrent long requests")
        return QuotaExhausted("Salesforce daily API request limit exceeded; resume tomorrow")
    if "UNABLE_TO_LOCK_ROW" in codes:
        return Retry("record locked")
    if status == 401:
        return Auth("session expired or invalid (INVALID_SESSION_ID)")
    if status == 403:
        return Fatal("refused: check the integration user's permissions")
    if status == 404:
        return Ok()
    return default_classify(response)


def salesforce_client(
    source: SalesforceSettings, http: HttpSettings, accounting: CallAccounting | None = None
) -> ApiClient:
    """Salesforce REST: pass `client.session` to `simple_salesforce.Salesforce(session=...)`.

    The daily-quota guard stops calls once `daily_quota_share` of the org's limit is used.
    The connector sets the `Authorization` header after its OAuth token call.
    """
    return ApiClient(
        "salesforce",
        source.instance_url,
        timeouts=timeouts_from(http),
        policy=policy_from(http),
        limits=salesforce_limits(source.requests_per_second),
        classify=classify_salesforce,
        accounting=accounting,
        quota=SalesforceDailyQuota(source.daily_quota_share),
        verify=source.ca_bundle or True,
    )
