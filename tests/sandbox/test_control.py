"""Sandbox control endpoints over real HTTP: `/_sandbox/stats` counts calls, writes and
records written per route template; `/_sandbox/faults` arms status errors with the vendor's
own bodies, timeouts after a commit, per-record rejections and Salesforce's API quota."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import build_world

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WORLD = build_world(accounts=12, seed=9, now=NOW)
V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer sandbox-token"}
OBJ = "/crm/v3/objects"


class Api:
    """requests against one emulator: API calls carry the bearer header, control calls none."""

    def __init__(self, base: str, verify: bool | str = True) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify

    def call(self, method: str, path: str, timeout: float = 10, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + path, headers=AUTH, timeout=timeout, **kw)

    def control(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + "/_sandbox" + path, timeout=10, **kw)

    def stats(self) -> dict[str, Any]:
        body: dict[str, Any] = self.control("GET", "/stats").json()
        return body

    def arm(self, *specs: dict[str, Any]) -> requests.Response:
        resp = self.control("POST", "/faults", json=list(specs))
        assert resp.status_code == 201, resp.text
        return resp


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(world=WORLD) as box:
        yield box


@pytest.fixture
def hs(sandbox: Sandbox) -> Api:
    return _fresh(Api(sandbox.urls["hubspot"]))


@pytest.fixture
def sf(sandbox: Sandbox) -> Api:
    return _fresh(Api(sandbox.urls["salesforce"], str(sandbox.ca_cert_path)))


def _fresh(api: Api) -> Api:
    assert api.control("DELETE", "/faults").json() == {"faults": []}
    api.control("POST", "/stats/reset")
    return api


def _companies(n: int) -> list[str]:
    return [a.hubspot_id for a in WORLD.accounts[:n]]


def _names(hs: Api, ids: list[str]) -> list[str]:
    body = {"inputs": [{"id": i} for i in ids], "properties": ["name"]}
    found = hs.call("POST", f"{OBJ}/companies/batch/read", json=body).json()["results"]
    by_id = {r["id"]: r["properties"]["name"] for r in found}
    return [by_id[i] for i in ids]


def test_hubspot_stats_count_calls_writes_and_records_by_route(hs: Api) -> None:
    ids = _companies(3)
    hs.call("GET", f"{OBJ}/companies/{ids[0]}")
    hs.call("GET", f"/crm/objects/2026-03/companies/{ids[1]}")  # dated alias, same route
    hs.call("POST", f"{OBJ}/companies/search", json={"limit": 1})
    _names(hs, ids)
    update = {"inputs": [{"id": i, "properties": {"industry": "Retail"}} for i in ids]}
    assert hs.call("POST", f"{OBJ}/companies/batch/update", json=update).status_code == 200
    hs.session.get(hs.base + f"{OBJ}/companies", timeout=10)  # no token: 401, still a call
    stats = hs.stats()
    assert stats == {
        "calls": 6,
        "writes": 1,
        "records_written": 3,
        "by_route": {
            "GET /crm/v3/objects/companies": 1,
            "GET /crm/v3/objects/companies/{id}": 2,
            "POST /crm/v3/objects/companies/batch/read": 1,
            "POST /crm/v3/objects/companies/batch/update": 1,
            "POST /crm/v3/objects/companies/search": 1,
        },
        "by_status": {"200": 5, "401": 1},
    }
    assert hs.stats() == stats  # reading the stats is not a call
    reset = hs.control("POST", "/stats/reset").json()
    assert (reset["calls"], reset["writes"], reset["records_written"], reset["by_route"]) == (
        0,
        0,
        0,
        {},
    )


def test_salesforce_stats_treat_token_and_soql_as_reads(sf: Api) -> None:
    token = sf.session.post(
        sf.base + "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "sandbox"},
        timeout=10,
    )
    assert token.status_code == 200
    sf.call("GET", f"{V}/query/", params={"q": "SELECT Id FROM Account LIMIT 3"})
    ids = [a.salesforce_id for a in WORLD.accounts[:2]]
    records = [{"attributes": {"type": "Account"}, "id": i, "Industry": "Retail"} for i in ids]
    done = sf.call("PATCH", f"{V}/composite/sobjects", json={"records": records})
    assert [r["success"] for r in done.json()] == [True, True]
    sf.call("PATCH", f"{V}/sobjects/Account/{ids[0]}", json={"Industry": "Energy"})
    stats = sf.stats()
    assert (stats["calls"], stats["writes"], stats["records_written"]) == (4, 2, 3)
    assert stats["by_route"] == {
        "GET /services/data/v59.0/query/": 1,
        "PATCH /services/data/v59.0/composite/sobjects": 1,
        "PATCH /services/data/v59.0/sobjects/Account/{id}": 1,
        "POST /services/oauth2/token": 1,
    }


def test_hubspot_429_storm_answers_the_real_body_and_commits_nothing(hs: Api) -> None:
    ids = _companies(2)
    before = _names(hs, ids)
    route = f"{OBJ}/companies/batch/update"
    armed = hs.arm({"kind": "status", "status": 429, "count": 2, "match": f"POST {route}"})
    assert armed.json()["faults"][0]["count"] == 2
    update = {"inputs": [{"id": i, "properties": {"name": "Renamed"}} for i in ids]}
    for _ in range(2):
        refused = hs.call("POST", route, json=update)
        assert refused.status_code == 429
        body = refused.json()
        assert (body["policyName"], body["errorType"]) == ("TEN_SECONDLY_ROLLING", "RATE_LIMIT")
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert "Retry-After" not in refused.headers
        assert refused.headers["x-hubspot-ratelimit-remaining"] == "0"
        assert _names(hs, ids) == before  # and reads are not hit by a POST-update fault
    assert hs.control("GET", "/faults").json() == {"faults": []}
    assert hs.call("POST", route, json=update).status_code == 200
    assert _names(hs, ids) == ["Renamed", "Renamed"]
    stats = hs.stats()
    assert stats["by_status"]["429"] == 2 and stats["records_written"] == 2
    assert stats["by_route"][f"POST {route}"] == 3


def test_salesforce_5xx_bodies_and_retry_after_option(sf: Api) -> None:
    account = WORLD.accounts[0].salesforce_id
    sf.arm(
        {"kind": "status", "status": 503, "match": f"PATCH {V}/sobjects/Account"},
        {"kind": "status", "status": 500, "match": "PATCH /services", "retry_after": 2},
    )
    first = sf.call("PATCH", f"{V}/sobjects/Account/{account}", json={"Industry": "X"})
    assert first.status_code == 503
    assert first.json() == [
        {"message": "Server is temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}
    ]
    second = sf.call("PATCH", f"{V}/sobjects/Account/{account}", json={"Industry": "X"})
    assert second.status_code == 500 and second.headers["Retry-After"] == "2"
    assert second.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    row = sf.call("GET", f"{V}/sobjects/Account/{account}").json()
    assert row["Industry"] != "X" and sf.stats()["records_written"] == 0


def test_hubspot_timeout_after_commit_creates_the_task_once(hs: Api) -> None:
    hs.call(
        "POST",
        "/crm/v3/properties/tasks",
        json={
            "name": "csbridge_task_key",
            "label": "Key",
            "type": "string",
            "fieldType": "text",
            "groupName": "info",
        },
    )
    hs.arm({"kind": "timeout_after_commit", "match": "POST /crm/v3/objects/tasks", "delay": 2})
    task = {
        "properties": {"hs_timestamp": "2026-11-24T00:00:00Z", "csbridge_task_key": "k:1"},
        "associations": [
            {
                "to": {"id": _companies(1)[0]},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
            }
        ],
    }
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        hs.call("POST", f"{OBJ}/tasks/batch/create", json={"inputs": [task]}, timeout=0.3)
    search = {
        "filterGroups": [{"filters": [{"propertyName": "csbridge_task_key", "value": "k:1"}]}]
    }
    found = hs.call("POST", f"{OBJ}/tasks/search", json=search)
    assert time.monotonic() - started < 1.5  # the emulator kept serving meanwhile
    assert found.json()["total"] == 1
    stats = hs.stats()
    assert stats["records_written"] == 1 and stats["writes"] == 2  # property + task batch
    assert stats["by_route"]["POST /crm/v3/objects/tasks/batch/create"] == 1


def test_hubspot_rejected_record_fails_alone_in_a_207(hs: Api) -> None:
    ids = _companies(3)
    hs.arm({"kind": "reject_record", "object": "company", "id": ids[1], "message": "No."})
    assert hs.control("GET", "/faults").json()["faults"] == [
        {
            "kind": "reject_record",
            "object": "companies",
            "id": ids[1],
            "message": "No.",
            "count": -1,
        }
    ]
    update = {
        "inputs": [
            {"id": i, "properties": {"name": f"N{n}"}, "objectWriteTraceId": f"t{n}"}
            for n, i in enumerate(ids)
        ]
    }
    for _ in range(2):  # count -1: it keeps failing until cleared
        resp = hs.call("POST", f"{OBJ}/companies/batch/update", json=update)
        assert resp.status_code == 207
        body = resp.json()
        assert body["numErrors"] == 1 and sorted(r["id"] for r in body["results"]) == [
            ids[0],
            ids[2],
        ]
        error = body["errors"][0]
        assert (error["category"], error["message"]) == ("VALIDATION_ERROR", "No.")
        assert error["context"] == {"ids": [ids[1]], "objectWriteTraceId": ["t1"]}
    single = hs.call("PATCH", f"{OBJ}/companies/{ids[1]}", json={"properties": {"name": "N1"}})
    assert single.status_code == 400 and single.json()["context"] == {"ids": [ids[1]]}
    assert _names(hs, ids)[0] == "N0" and _names(hs, ids)[1] != "N1"
    hs.control("DELETE", "/faults")
    hs.call("POST", f"{OBJ}/companies/batch/update", json=update)
    assert _names(hs, ids) == ["N0", "N1", "N2"]


def test_salesforce_rejected_record_in_collections_and_bulk(sf: Api) -> None:
    ids = [a.salesforce_id for a in WORLD.accounts[3:6]]
    sf.arm({"kind": "reject_record", "object": "account", "id": ids[1][:15], "count": 2})
    records = [{"attributes": {"type": "Account"}, "id": i, "Industry": "Bulkish"} for i in ids]
    results = sf.call(
        "PATCH", f"{V}/composite/sobjects", json={"allOrNone": False, "records": records}
    ).json()
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [
        {
            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "csbridge sandbox: this record is rejected by a validation rule",
            "fields": [],
        }
    ]
    job = sf.call("POST", f"{V}/jobs/ingest", json={"object": "Account", "operation": "update"})
    job_id = job.json()["id"]
    data = "Id,Industry\n" + "".join(f"{i},Energy\n" for i in ids)
    assert sf.call("PUT", f"{V}/jobs/ingest/{job_id}/batches", data=data).status_code == 201
    sf.call("PATCH", f"{V}/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    failed = sf.call("GET", f"{V}/jobs/ingest/{job_id}/failedResults/").text
    rows = list(csv.DictReader(io.StringIO(failed)))
    assert [(r["sf__Id"], r["sf__Error"].split(":")[0]) for r in rows] == [
        (ids[1], "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    ]
    assert sf.control("GET", "/faults").json() == {"faults": []}  # both uses consumed
    soql = f"SELECT Id, Industry FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}', '{ids[2]}')"
    got = sf.call("GET", f"{V}/query/", params={"q": soql}).json()["records"]
    assert {r["Id"]: r["Industry"] for r in got} == {
        ids[0]: "Energy",
        ids[1]: WORLD.accounts[4].industry,
        ids[2]: "Energy",
    }
    assert sf.stats()["records_written"] == 4


def test_salesforce_api_usage_counts_up_refuses_at_max_and_clears(sf: Api) -> None:
    sf.arm({"kind": "api_usage", "used": 98, "max": 100})
    seen = [sf.call("GET", f"{V}/limits/") for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 403]
    assert [r.headers["Sforce-Limit-Info"] for r in seen] == ["api-usage=99/100"] + [
        "api-usage=100/100"
    ] * 2
    assert seen[0].json()["DailyApiRequests"] == {"Max": 100, "Remaining": 1}
    assert seen[2].json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sf.control("GET", "/faults").json()["faults"] == [
        {"kind": "api_usage", "used": 100, "max": 100}
    ]
    sf.control("DELETE", "/faults")
    after = sf.call("GET", f"{V}/limits/")
    assert after.status_code == 200 and after.headers["Sforce-Limit-Info"] == "api-usage=101/100000"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "flood"}, "kind:"),
        ({"kind": "status", "status": 418}, "status:"),
        ({"kind": "status", "status": 503, "count": 0}, "count:"),
        ({"kind": "status", "status": 503, "match": "FETCH /x"}, "match:"),
        ({"kind": "timeout_after_commit", "delay": "5s"}, "delay:"),
        ({"kind": "reject_record", "object": "widgets", "id": "1"}, "object:"),
        ({"kind": "reject_record", "object": "companies"}, "id:"),
        ({"kind": "api_usage", "used": 1, "max": 2}, "Salesforce emulator only"),
    ],
)
def test_bad_fault_specs_are_400_naming_the_field(
    hs: Api, spec: dict[str, Any], field: str
) -> None:
    good = {"kind": "status", "status": 500}
    resp = hs.control("POST", "/faults", json=[good, spec])
    assert resp.status_code == 400 and field in resp.json()["error"]
    assert hs.control("GET", "/faults").json() == {"faults": []}  # none of the list armed


def test_python_helper_shares_state_with_http(sandbox: Sandbox, hs: Api) -> None:
    control = sandbox.control("hubspot")
    control.arm(kind="status", status=503, match=f"GET {OBJ}/deals")
    assert hs.control("GET", "/faults").json()["faults"][0]["status"] == 503
    resp = hs.call("GET", f"{OBJ}/deals")
    assert resp.status_code == 503 and resp.json()["category"] == "INTERNAL_ERROR"
    assert control.stats() == hs.stats() and control.stats()["by_status"] == {"503": 1}
    with pytest.raises(ValueError, match="status:"):
        control.arm(kind="status", status=200)
    with pytest.raises(KeyError):
        sandbox.control("pipedrive")


def test_zendesk_and_mixpanel_faults_use_their_own_shapes(sandbox: Sandbox) -> None:
    zd = _fresh(Api(sandbox.urls["zendesk"]))
    zd.arm({"kind": "status", "status": 429, "match": "GET /api/v2/organizations"})
    limited = zd.session.get(
        zd.base + "/api/v2/organizations.json", auth=("admin@example.com/token", "x"), timeout=10
    )
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.text == "Number of allowed API requests per minute exceeded"
    assert zd.stats()["by_route"] == {"GET /api/v2/organizations.json": 1}
    mp = _fresh(Api(sandbox.urls["mixpanel"]))
    mp.arm({"kind": "status", "status": 500})
    failed = mp.session.post(mp.base + "/api/2.0/engage", data={"project_id": "1"}, timeout=10)
    assert failed.status_code == 500 and failed.json()["request"] == "/api/2.0/engage"
    assert mp.stats()["writes"] == 0 and mp.stats()["calls"] == 1
