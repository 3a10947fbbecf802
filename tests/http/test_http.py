"""The HTTP policy with `responses`: retries, waits, bounds, writes, accounting, safe logs."""

from __future__ import annotations

import socket

import pytest
import requests
import responses
import urllib3
from responses import matchers
from structlog.testing import capture_logs

from csbridge.http.client import ApiClient, RetryPolicy, Timeouts
from csbridge.http.errors import (
    AuthError,
    FatalHttpError,
    RetriesExhaustedError,
    SimpleResponse,
    UnknownOutcomeError,
    WrongUrlError,
    json_object,
)
from csbridge.http.transport import transport_failure

BASE = "https://api.example.test"
TOKEN = "sekrit-token-123"


def client(**kwargs: object) -> ApiClient:
    options: dict[str, object] = {
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "policy": RetryPolicy(max_attempts=5, max_seconds=300, retry_after_cap=30),
        "timeouts": Timeouts(connect=3, read=7),
    }
    options.update(kwargs)
    return ApiClient("acme", BASE, **options)  # type: ignore[arg-type]


def test_success_sends_timeouts_and_counts(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(f"{BASE}/things", json={"ok": True})
    api = client()
    assert api.get("/things", endpoint="things.list").json() == {"ok": True}
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3, 7)
    assert api.accounting.count("acme", "things.list", 200) == 1
    assert sleeps == []


def test_429_then_200_waits_retry_after(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.get(f"{BASE}/things", status=429, headers={"Retry-After": "7"})
    rsps.get(f"{BASE}/things", json={"page": 1})
    api = client()
    assert api.get("/things", endpoint="things").json() == {"page": 1}
    assert sleeps == [7.0]
    assert api.accounting.count(status=429) == 1
    assert api.accounting.count(status=200) == 1


def test_retry_after_is_capped(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.get(f"{BASE}/things", status=429, headers={"Retry-After": "3600"})
    rsps.get(f"{BASE}/things", json={})
    client().get("/things")
    assert sleeps == [30.0]


def test_429_without_retry_after_backs_off_with_jitter(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        rsps.get(f"{BASE}/things", status=429)
    rsps.get(f"{BASE}/things", json={})
    client(policy=RetryPolicy(max_attempts=5, backoff_initial=1, backoff_max=60)).get("/things")
    assert len(sleeps) == 3
    assert all(0 <= wait <= 2 ** (n + 1) for n, wait in enumerate(sleeps))


def test_5xx_storm_gives_up_after_max_attempts(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(4):
        rsps.get(f"{BASE}/things", status=503)
    api = client(policy=RetryPolicy(max_attempts=4, max_seconds=300))
    with pytest.raises(RetriesExhaustedError, match="acme things: HTTP 503"):
        api.get("/things", endpoint="things")
    assert len(rsps.calls) == 4
    assert len(sleeps) == 3
    assert api.accounting.count(status=503) == 4


def test_total_time_bound_stops_before_overrunning(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        rsps.get(f"{BASE}/things", status=429, headers={"Retry-After": "25"})
    api = client(policy=RetryPolicy(max_attempts=10, max_seconds=60, retry_after_cap=30))
    with pytest.raises(RetriesExhaustedError, match="still rate limited"):
        api.get("/things", endpoint="things")
    assert sleeps == [25.0, 25.0]  # a third wait would pass 60 s
    assert sum(sleeps) <= 60


def test_connection_error_on_get_is_retried(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(f"{BASE}/things", body=requests.exceptions.ConnectionError("reset"))
    rsps.get(f"{BASE}/things", body=requests.exceptions.ReadTimeout("slow"))
    rsps.get(f"{BASE}/things", json={"ok": 1})
    api = client()
    assert api.get("/things", endpoint="things").json() == {"ok": 1}
    assert len(sleeps) == 2
    assert api.accounting.count(status="timeout") == 1
    assert api.accounting.count(status="connection_error") == 1


def test_post_timeout_is_unknown_outcome_and_not_resent(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.post(f"{BASE}/tasks", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(UnknownOutcomeError, match="look it up by its key"):
        client().post("/tasks", json={"subject": "call"}, endpoint="tasks.create")
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_post_500_is_unknown_outcome(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.post(f"{BASE}/tasks", status=502)
    with pytest.raises(UnknownOutcomeError):
        client().post("/tasks", json={}, endpoint="tasks.create")
    assert len(rsps.calls) == 1


def test_post_connect_timeout_and_429_are_safe_to_retry(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.post(f"{BASE}/tasks", body=requests.exceptions.ConnectTimeout("no route"))
    rsps.post(f"{BASE}/tasks", status=429, headers={"Retry-After": "2"})
    rsps.post(f"{BASE}/tasks", status=201, json={"id": "t1"})
    assert client().post("/tasks", json={}).json() == {"id": "t1"}
    assert len(sleeps) == 2
    assert sleeps[1] == 2.0


def test_idempotent_post_is_retried_after_timeout(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.post(f"{BASE}/search", body=requests.exceptions.ReadTimeout("slow"))
    rsps.post(f"{BASE}/search", json={"results": []})
    assert client().post("/search", json={}, idempotent=True).json() == {"results": []}


def test_auth_and_fatal_are_typed_and_not_retried(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(f"{BASE}/me", status=401, json={"error": "bad token"})
    rsps.get(f"{BASE}/q", status=400, json={"error": "bad query"})
    api = client()
    with pytest.raises(AuthError, match="check the credentials"):
        api.get("/me")
    with pytest.raises(FatalHttpError, match="HTTP 400"):
        api.get("/q", params={"api_key": TOKEN})
    assert sleeps == []


def test_error_messages_and_logs_never_carry_secrets(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.post(
        f"{BASE}/v2/export",
        status=503,
        match=[matchers.query_param_matcher({"token": TOKEN})],
    )
    rsps.post(f"{BASE}/v2/export", status=400, body=f"echo {TOKEN}")
    api = client()
    with capture_logs() as logs, pytest.raises(FatalHttpError) as info:
        api.request(
            "POST",
            "/v2/export",
            params={"token": TOKEN},
            json={"secret_body": TOKEN},
            idempotent=True,
        )
    assert TOKEN not in str(info.value)
    assert logs, "calls are logged"
    assert {entry["event"] for entry in logs} >= {"http.call", "http.retry"}
    for entry in logs:
        assert TOKEN not in repr(entry)
        assert "Authorization" not in repr(entry)
        assert entry["system"] == "acme"
        assert entry["endpoint"] == "/v2/export"
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert not any(h.startswith("X-Csbridge") for h in rsps.calls[0].request.headers)


def test_a_listing_answered_by_a_404_or_an_html_page_names_the_url_without_its_query(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(f"{BASE}/things", status=404, json={"error": "no route"})
    rsps.get(f"{BASE}/things", body="<html>Log in</html>", content_type="text/html")
    rsps.get(f"{BASE}/things", status=404, json={"error": "no such thing"})
    api = client()
    with pytest.raises(WrongUrlError) as info:
        api.get("/things", params={"api_key": TOKEN}, endpoint="things", must_exist=True)
    assert str(info.value) == (
        f"acme things: HTTP 404, not found at {BASE}/things; check the configured base URL"
    )
    with pytest.raises(WrongUrlError, match="HTTP 200, an HTML page at"):
        api.get("/things", endpoint="things", must_exist=True)
    assert api.get("/things").status_code == 404  # a lookup's 404 is the caller's to read


def test_a_final_403_is_a_credentials_error(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(f"{BASE}/me", status=403, json={"error": "missing scope"})
    with pytest.raises(AuthError, match=r"HTTP 403: .*check the credentials under sources\.acme"):
        client().get("/me")


@pytest.mark.parametrize(("errno", "final"), [(socket.EAI_NONAME, True), (socket.EAI_AGAIN, False)])
def test_an_unknown_host_is_final_but_a_temporary_dns_failure_is_retried(
    errno: int, final: bool
) -> None:
    conn = urllib3.connection.HTTPConnection("nonexistent.invalid", 80)
    cause = socket.gaierror(errno, "resolver says no")
    try:
        raise urllib3.exceptions.NameResolutionError("nonexistent.invalid", conn, cause) from cause
    except urllib3.exceptions.NameResolutionError as exc:
        failure = transport_failure(exc)
    assert failure is not None and failure.fatal is final and failure.setup
    assert failure.reason == "unknown host nonexistent.invalid; check the host name in base_url"


@pytest.mark.parametrize("text", ["not json at all", "[1, 2]", ""])
def test_json_object_refuses_anything_but_an_object_in_one_line(text: str) -> None:
    with pytest.raises(FatalHttpError) as caught:
        json_object("hubspot", "companies search", SimpleResponse(200, {}, text))
    assert str(caught.value) == "hubspot companies search: the answer is not a JSON object"
    assert json_object("x", "y", SimpleResponse(200, {}, '{"a": 1}')) == {"a": 1}
