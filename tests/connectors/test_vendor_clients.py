"""Rate limits, vendor classifiers, the policy under simple-salesforce and hubspot-api-client."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import responses
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest

from csbridge.config import HttpSettings, HubspotSettings, SalesforceSettings, ZendeskSettings
from csbridge.connectors.hubspot.client import classify_hubspot, hubspot_client, hubspot_sdk_retry
from csbridge.connectors.mixpanel.client import classify_mixpanel
from csbridge.connectors.salesforce.client import classify_salesforce, salesforce_client
from csbridge.connectors.zendesk.client import zendesk_client
from csbridge.http.accounting import endpoint_label
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    QuotaExhausted,
    QuotaExhaustedError,
    RateLimited,
    Retry,
    SimpleResponse,
    parse_retry_after,
)
from csbridge.http.limits import RateLimit, RateLimiter

SF = "https://x.my.salesforce.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rolling_window_never_lets_more_than_the_limit_into_one_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"default": [RateLimit(3, 1)]}, clock, clock.sleep)
    sent = []
    for _ in range(10):
        limiter.acquire()
        sent.append(clock.now)
    assert sent[:3] == [0, 0, 0] and sent[3] == pytest.approx(1.0)
    # any window of 1 s holds at most 3 calls (a full token bucket would allow 6)
    assert all(sum(1 for t in sent if start <= t < start + 1) <= 3 for start in sent)
    assert clock.now == pytest.approx(3.0)


def test_limiter_takes_from_default_and_named_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"default": [RateLimit(100, 60)], "incremental": [RateLimit(2, 60)]}, clock, clock.sleep
    )
    assert limiter.acquire("incremental") == 0
    assert limiter.acquire("incremental") == 0
    assert limiter.acquire("incremental") == pytest.approx(60.0)
    assert limiter.acquire() == 0  # plain calls only pay the account bucket


def test_zendesk_incremental_exports_paced_at_10_per_minute(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    source = ZendeskSettings(base_url="https://acme.zendesk.com", email="a@b.c", api_token="t")
    api = zendesk_client(source, HttpSettings())
    for _ in range(11):
        rsps.get("https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json", json={})
    for _ in range(11):
        api.get("/api/v2/incremental/tickets/cursor.json", bucket="incremental")
    assert len(sleeps) == 1  # the 11th waits until the first is a minute old
    assert sleeps[0] == pytest.approx(60.0, abs=0.5)
    auth = rsps.calls[0].request.headers["Authorization"]
    assert auth.startswith("Basic ")


@pytest.mark.parametrize(("per_second", "waits"), [(None, 1), (5, 0)])
def test_hubspot_search_paced_at_its_own_limit(
    rsps: responses.RequestsMock, sleeps: list[float], per_second: int | None, waits: int
) -> None:
    settings = {"search_requests_per_second": per_second} if per_second else {}
    api = hubspot_client(HubspotSettings(access_token="t", **settings), HttpSettings())
    search = "https://api.hubapi.com/crm/v3/objects/tasks/search"
    for _ in range(5):
        rsps.post(search, json={})
    for _ in range(5):
        api.post(search, json={}, bucket="search")
    assert len(sleeps) == waits  # 4 per second by default: the 5th waits; 5 per second: none
    assert all(s == pytest.approx(1.0, abs=0.5) for s in sleeps)


def test_classify_salesforce_quota_is_not_auth() -> None:
    body = json.dumps(
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    )
    assert isinstance(classify_salesforce(SimpleResponse(403, {}, body)), QuotaExhausted)
    lock = json.dumps(
        [{"message": "unable to obtain exclusive access", "errorCode": "UNABLE_TO_LOCK_ROW"}]
    )
    assert isinstance(classify_salesforce(SimpleResponse(400, {}, lock)), Retry)


def test_classify_hubspot_daily_vs_ten_secondly() -> None:
    daily = SimpleResponse(429, {}, json.dumps({"policyName": "DAILY"}))
    burst = SimpleResponse(
        429, {"Retry-After": "3"}, json.dumps({"policyName": "TEN_SECONDLY_ROLLING"})
    )
    assert isinstance(classify_hubspot(daily), QuotaExhausted)
    assert classify_hubspot(burst) == RateLimited(3.0)


def test_classify_mixpanel_hourly_limit_waits_a_minute() -> None:
    text = (
        '{"error": "1/5 queries running concurrently and 61/60 queries running in the last hour"}'
    )
    assert classify_mixpanel(SimpleResponse(429, {}, text)) == RateLimited(60.0)


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("93") == 93.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_endpoint_label_masks_ids_and_drops_query() -> None:
    assert (
        endpoint_label("/services/data/v62.0/sobjects/Account/001XX000003DHP0AAA?fields=Id")
        == "/services/data/v62.0/sobjects/Account/{id}"
    )
    assert endpoint_label("/api/v2/tickets/12345.json") == "/api/v2/tickets/{id}"
    assert endpoint_label("https://h.example/crm/v3/objects/companies/batch/update?x=y") == (
        "/crm/v3/objects/companies/batch/update"
    )


def sf_client() -> ApiClient:
    source = SalesforceSettings(
        instance_url=SF, client_id="c", client_secret="s", daily_quota_share=0.5
    )
    return salesforce_client(source, HttpSettings())


def test_simple_salesforce_runs_through_the_policy(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    api = sf_client()
    query = f"{SF}/services/data/v62.0/query/"
    rsps.get(query, status=503, json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "x"}])
    rsps.get(
        query,
        json={"totalSize": 1, "done": True, "records": [{"Id": "001A"}]},
        headers={"Sforce-Limit-Info": "api-usage=10/100"},
    )
    sf = Salesforce(instance_url=SF, session_id="sess", session=api.session, version="62.0")
    result = sf.query("SELECT Id FROM Account")
    assert result["records"][0]["Id"] == "001A"
    assert len(sleeps) == 1
    assert rsps.calls[0].request.req_kwargs["timeout"] == (10.0, 60.0)
    assert api.accounting.count("salesforce", "/services/data/v62.0/query/", 503) == 1


def test_salesforce_quota_share_stops_before_the_next_call(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    api = sf_client()
    rsps.get(
        f"{SF}/services/data/v62.0/limits/",
        json={},
        headers={"Sforce-Limit-Info": "api-usage=51/100"},
    )
    api.get("/services/data/v62.0/limits/")
    with pytest.raises(QuotaExhaustedError, match="share of the daily API quota"):
        api.get("/services/data/v62.0/limits/")
    assert len(rsps.calls) == 1


def test_salesforce_request_limit_exceeded_surfaces_to_simple_salesforce(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    api = sf_client()
    rsps.get(
        f"{SF}/services/data/v62.0/query/",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    sf = Salesforce(instance_url=SF, session_id="sess", session=api.session, version="62.0")
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Account")
    assert sleeps == []  # a quota stop is not retried


class _HubspotBatch(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.seen.append(self.path + " " + self.rfile.read(length).decode())
        status, headers, body = self.answers.pop(0)
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_hubspot_sdk_batch_post_retried_by_our_policy(sleeps: list[float]) -> None:
    from hubspot import HubSpot

    ok = {
        "status": "COMPLETE",
        "results": [
            {
                "id": "1",
                "properties": {"health": "80"},
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
                "archived": False,
            }
        ],
        "startedAt": "2026-01-01T00:00:00Z",
        "completedAt": "2026-01-01T00:00:00Z",
    }
    limited = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
    _HubspotBatch.answers = [
        (429, {"Retry-After": "4"}, json.dumps(limited).encode()),
        (200, {}, json.dumps(ok).encode()),
    ]
    _HubspotBatch.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HubspotBatch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        sdk = HubSpot(access_token="pat-secret", host=host, retry=hubspot_sdk_retry())
        api = ApiClient("hubspot", host, classify=classify_hubspot)
        body = {"inputs": [{"id": "1", "properties": {"health": "80"}}]}
        result = api.call_sdk(
            "companies.batch_update",
            sdk.crm.companies.batch_api.update,
            batch_input_simple_public_object_batch_input=body,
            idempotent=True,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.results[0].id == "1"
    assert sleeps == [4.0]
    assert len(_HubspotBatch.seen) == 2
    assert api.accounting.count("hubspot", "companies.batch_update", 429) == 1
    assert api.accounting.count("hubspot", "companies.batch_update", 200) == 1
