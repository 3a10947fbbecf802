"""Per-vendor error classification and ready-made `ApiClient`s built from the config.

One `classify_<vendor>(response) -> Verdict` per vendor: the single place where
that vendor's status codes and error bodies become decisions. Connectors may wrap
or replace them (`ApiClient(classify=...)`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from csbridge.config import (
    HttpSettings,
    HubspotSettings,
    MixpanelSettings,
    SalesforceSettings,
    ZendeskSettings,
)
from csbridge.http import ApiClient, CallAccounting, RetryPolicy, Timeouts
from csbridge.http_errors import (
    Auth,
    Fatal,
    MissingFieldError,
    Ok,
    QuotaExhausted,
    RateLimited,
    ResponseLike,
    Retry,
    Verdict,
    default_classify,
    parse_retry_after,
)
from csbridge.http_limits import (
    SalesforceDailyQuota,
    hubspot_limits,
    mixpanel_limits,
    salesforce_limits,
    zendesk_limits,
)


def _json(response: ResponseLike) -> Any:
    try:
        return json.loads(response.text)
    except (ValueError, TypeError):
        return None


def classify_zendesk(response: ResponseLike) -> Verdict:
    """Zendesk: 429 with Retry-After (plain-text body); 403 is a plan or role refusal."""
    if response.status_code == 403:
        return Fatal("access refused: check the token's role and the plan's features")
    if response.status_code == 409:
        return Retry("conflicting concurrent update")
    return default_classify(response)


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


def _salesforce_codes(response: ResponseLike) -> list[str]:
    body = _json(response)
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


# How each CRM names a field it does not have (Salesforce SOQL / sObject writes, HubSpot
# property validation): the sign that `csbridge init-crm` has not been run.
MISSING_FIELD = re.compile(r"No such column '([^']+)'|Property \\?\"([^\"\\]+)\\?\" does not exist")


def check_missing_field(system: str, endpoint: str, message: str) -> None:
    """Raise `MissingFieldError` when a CRM's refusal `message` says a field does not exist."""
    found = MISSING_FIELD.search(message)
    if found is not None:
        field = found.group(1) or found.group(2)
        raise MissingFieldError(
            system,
            endpoint,
            f"the CRM has no field {field}; run `csbridge init-crm` first "
            "(or fix the field mapping)",
        )


def classify_hubspot(response: ResponseLike) -> Verdict:
    """HubSpot: 429 DAILY policy is a quota stop; TEN_SECONDLY / SECONDLY wait and retry."""
    if response.status_code == 429:
        body = _json(response)
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
        limits=hubspot_limits(source.tier, source.requests_per_10s),
        classify=classify_hubspot,
        accounting=accounting,
    )
