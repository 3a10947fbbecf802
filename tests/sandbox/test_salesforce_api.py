"""Salesforce emulator routes over real HTTP: auth, limits, SOQL paging, sObject CRUD,
describe, Tooling CustomField, upsert by external id. Collections and Bulk are in
test_salesforce_writes.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import uvicorn
from starlette.applications import Starlette

from csbridge_sandbox.salesforce.app import make_app
from csbridge_sandbox.salesforce.schema import make_id
from csbridge_sandbox.world.build import build_world

NOW = datetime(2026, 11, 23, tzinfo=UTC)
V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer sandbox-session"}


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on an ephemeral 127.0.0.1 port in a thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


class Client:
    """requests with the base URL and bearer header filled in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(AUTH)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=10, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.session.patch(self.base + path, timeout=10, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10, **kw)

    def query(self, soql: str, all_rows: bool = False, **kw: Any) -> requests.Response:
        return self.get(f"{V}/{'queryAll' if all_rows else 'query'}/", params={"q": soql}, **kw)


WORLD = build_world(accounts=60, seed=11, now=NOW)


@pytest.fixture(scope="module")
def sf() -> Iterator[Client]:
    with serve(make_app(WORLD)) as base:
        yield Client(base)


def test_missing_or_malformed_auth_gets_the_invalid_session_array(sf: Client) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        resp = requests.get(sf.base + f"{V}/limits/", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_versions_list_needs_no_auth_and_is_not_counted(sf: Client) -> None:
    resp = requests.get(sf.base + "/services/data/", timeout=10)
    assert resp.status_code == 200
    assert {"label": "v59.0", "url": "/services/data/v59.0", "version": "59.0"} in resp.json()
    assert "Sforce-Limit-Info" not in resp.headers


def test_token_endpoint_grants_and_errors(sf: Client) -> None:
    url = sf.base + "/services/oauth2/token"
    ok = requests.post(
        url, data={"grant_type": "client_credentials"}, auth=("cid", "secret"), timeout=10
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["instance_url"] == sf.base
    assert body["access_token"].startswith("00D")
    pw = requests.post(
        url,
        data={
            "grant_type": "password",
            "client_id": "c",
            "client_secret": "s",
            "username": "u",
            "password": "p",
        },
        timeout=10,
    )
    assert pw.status_code == 200
    bad = requests.post(url, data={"grant_type": "password", "client_id": "c"}, timeout=10)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    odd = requests.post(url, data={"grant_type": "authorization_code"}, timeout=10)
    assert odd.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_limit_header_counts_calls_and_limits_resource_agrees(sf: Client) -> None:
    first = sf.get(f"{V}/limits/")
    second = sf.get(f"{V}/limits/")
    used_1 = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    used_2 = int(second.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert used_2 == used_1 + 1
    assert second.headers["Sforce-Limit-Info"].endswith("/100000")
    assert second.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 100000 - used_2}


def test_daily_quota_spent_gives_403_request_limit_exceeded() -> None:
    with serve(make_app(WORLD, daily_api_limit=3)) as base:
        client = Client(base)
        codes = [client.get(f"{V}/limits/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 403]
        last = client.get(f"{V}/limits/")
        assert last.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert last.headers["Sforce-Limit-Info"] == "api-usage=3/3"


def test_query_pages_follow_next_records_url_to_the_end(sf: Client) -> None:
    total_contacts = len(WORLD.contacts)
    first = sf.query(
        "SELECT Id, Email FROM Contact ORDER BY Id",
        headers={"Sforce-Query-Options": "batchSize=50"},
    )
    body = first.json()
    assert body["totalSize"] == total_contacts and body["done"] is False
    assert len(body["records"]) == 200  # batchSize is clamped to 200..2000
    seen = [r["Id"] for r in body["records"]]
    while not body["done"]:
        assert body["nextRecordsUrl"].startswith(f"{V}/query/01g")
        body = sf.get(body["nextRecordsUrl"]).json()
        seen += [r["Id"] for r in body["records"]]
    assert "nextRecordsUrl" not in body
    assert seen == sorted(c.salesforce_id for c in WORLD.contacts)
    assert sf.get(f"{V}/query/01gNOPE-200").json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_records_shape_and_relationships(sf: Client) -> None:
    account = WORLD.accounts[0]
    owner = WORLD.owners_by_id[account.owner]
    resp = sf.get(
        f"{V}/query",
        params={
            "q": "select id, name, owner.email, Renewal_Date__c, "
            f"SystemModstamp from account where Website = 'https://{account.domain}'"
        },
    )
    assert resp.status_code == 200
    record = resp.json()["records"][0]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"{V}/sobjects/Account/{account.salesforce_id}",
    }
    assert record["Id"] == account.salesforce_id and record["Name"] == account.name
    assert record["Owner"]["Email"] == owner.email
    assert record["Renewal_Date__c"] == account.renewal_date.isoformat()
    assert record["SystemModstamp"].endswith("+0000") and "." in record["SystemModstamp"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id, Boss.Email FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nothing__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE ARR__c = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_bad_queries_are_400_with_salesforce_error_codes(sf: Client, soql: str, code: str) -> None:
    resp = sf.query(soql)
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == code


def test_count_and_filters(sf: Client) -> None:
    enterprise = sum(1 for a in WORLD.accounts if a.plan == "enterprise")
    resp = sf.query("SELECT COUNT() FROM Account WHERE Plan__c = 'enterprise'")
    assert resp.json() == {"totalSize": enterprise, "done": True, "records": []}


def test_sobject_create_get_patch_delete_and_queryall(sf: Client) -> None:
    account = WORLD.accounts[1]
    created = sf.post(
        f"{V}/sobjects/Task/",
        json={
            "Subject": "Churn risk",
            "WhatId": account.salesforce_id,
            "ActivityDate": "2026-12-01",
            "Priority": "High",
            "Description": "score 41",
        },
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    assert created.json() == {"id": task_id, "success": True, "errors": []}
    got = sf.get(f"{V}/sobjects/Task/{task_id}").json()
    assert (got["AccountId"], got["Status"], got["IsHighPriority"]) == (
        account.salesforce_id,
        "Not Started",
        True,
    )
    patched = sf.patch(f"{V}/sobjects/Task/{task_id}", json={"Status": "Completed"})
    assert (patched.status_code, patched.text) == (204, "")
    subset = sf.get(f"{V}/sobjects/Task/{task_id}", params={"fields": "Status,IsClosed"}).json()
    assert (subset["Status"], subset["IsClosed"], "Subject" in subset) == ("Completed", True, False)
    assert sf.delete(f"{V}/sobjects/Task/{task_id}").status_code == 204
    gone = sf.get(f"{V}/sobjects/Task/{task_id}")
    assert (gone.status_code, gone.json()[0]["errorCode"]) == (404, "ENTITY_IS_DELETED")
    soql = f"SELECT Id, IsDeleted FROM Task WHERE Id = '{task_id}'"
    assert sf.query(soql).json()["totalSize"] == 0
    assert sf.query(soql, all_rows=True).json()["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"Nope__c": 1, "Name": "x"}, "INVALID_FIELD", []),
        ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        ({"Website": "x.io"}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "x", "ARR__c": "lots"}, "INVALID_TYPE_ON_FIELD_IN_RECORD", ["ARR__c"]),
        ({"Name": "x", "OwnerId": "not-an-id"}, "MALFORMED_ID", ["OwnerId"]),
        (
            {"Name": "x", "OwnerId": "001000000000000AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["OwnerId"],
        ),
        ({"Name": "x", "IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsDeleted"]),
    ],
)
def test_write_validation_errors(
    sf: Client, body: dict[str, Any], code: str, fields: list[str]
) -> None:
    resp = sf.post(f"{V}/sobjects/Account/", json=body)
    assert resp.status_code == 400
    error = resp.json()[0]
    assert (error["errorCode"], error["fields"]) == (code, fields)
    assert error["message"]


def test_bad_record_ids(sf: Client) -> None:
    assert sf.get(f"{V}/sobjects/Account/zzz").json()[0]["errorCode"] == "NOT_FOUND"
    missing = sf.get(f"{V}/sobjects/Account/{make_id('001', 987_654)}")
    assert missing.status_code == 404
    assert sf.get(f"{V}/sobjects/Nothing/{make_id('001', 987_654)}").status_code == 404


def test_tooling_custom_field_then_describe_and_upsert_by_external_id(sf: Client) -> None:
    spec = {
        "FullName": "Account.Health_Score__c",
        "Metadata": {"label": "Health Score", "type": "Number", "precision": 3, "scale": 0},
    }
    created = sf.post(f"{V}/tooling/sobjects/CustomField/", json=spec)
    assert created.status_code == 201 and created.json()["id"].startswith("00N")
    again = sf.post(f"{V}/tooling/sobjects/CustomField/", json=spec)
    assert (again.status_code, again.json()[0]["errorCode"]) == (400, "DUPLICATE_VALUE")
    bad = sf.post(
        f"{V}/tooling/sobjects/CustomField/",
        json={"FullName": "Account.Tags", "Metadata": {"label": "T", "type": "Text"}},
    )
    assert bad.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    fields = {f["name"]: f for f in sf.get(f"{V}/sobjects/Account/describe/").json()["fields"]}
    assert fields["Health_Score__c"]["type"] == "double" and fields["Health_Score__c"]["custom"]
    listed = sf.get(
        f"{V}/tooling/query/",
        params={"q": "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = 'Account'"},
    )
    assert [r["DeveloperName"] for r in listed.json()["records"]] == ["Health_Score"]
    account = WORLD.accounts[2].salesforce_id
    assert (
        sf.patch(f"{V}/sobjects/Account/{account}", json={"Health_Score__c": 72}).status_code == 204
    )
    assert (
        sf.query(f"SELECT Health_Score__c FROM Account WHERE Id = '{account}'").json()["records"][
            0
        ]["Health_Score__c"]
        == 72.0
    )

    key_spec = {
        "FullName": "Activity.CSBridge_Key__c",
        "Metadata": {"label": "csbridge key", "type": "Text", "length": 120, "externalId": True},
    }
    assert sf.post(f"{V}/tooling/sobjects/CustomField", json=key_spec).status_code == 201
    url = f"{V}/sobjects/Task/CSBridge_Key__c/acct-1:churn:2026-11"
    first = sf.patch(url, json={"Subject": "Churn risk", "WhatId": account})
    assert first.status_code == 201 and first.json()["created"] is True
    second = sf.patch(url, json={"Subject": "Churn risk (again)"})
    assert (second.status_code, second.json()["created"]) == (200, False)
    assert second.json()["id"] == first.json()["id"]
    assert sf.get(url).json()["Subject"] == "Churn risk (again)"
    assert sf.patch(f"{V}/sobjects/Task/Subject/x", json={}).status_code == 404


def test_same_seed_gives_the_same_org() -> None:
    soql = "SELECT Id, Name, Owner.Email, SystemModstamp FROM Account ORDER BY Name"
    bodies = []
    for _ in range(2):
        with serve(make_app(build_world(accounts=30, seed=5, now=NOW))) as base:
            bodies.append(Client(base).query(soql).json()["records"])
    assert bodies[0] == bodies[1] and len(bodies[0]) == 30


def test_revoked_session_gets_401_while_others_work() -> None:
    app = make_app(WORLD)
    app.state.usage.revoked_tokens.add("expired-token")
    with serve(app) as base:
        expired = requests.get(
            base + f"{V}/limits/", timeout=10, headers={"Authorization": "Bearer expired-token"}
        )
        assert expired.status_code == 401
        assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
        assert Client(base).get(f"{V}/limits/").status_code == 200
