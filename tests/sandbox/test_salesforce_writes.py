"""Salesforce emulator bulk writes over real HTTP: sObject Collections and Bulk API 2.0."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from test_salesforce_api import WORLD, Client, V, serve

from csbridge_sandbox.salesforce.app import make_app
from csbridge_sandbox.salesforce.schema import make_id


@pytest.fixture(scope="module")
def sf() -> Iterator[Client]:
    with serve(make_app(WORLD)) as base:
        yield Client(base)


def _task(subject: str, **extra: object) -> dict[str, object]:
    return {"attributes": {"type": "Task"}, "Subject": subject, **extra}


def test_collection_create_reports_each_record_in_order(sf: Client) -> None:
    account = WORLD.accounts[3].salesforce_id
    resp = sf.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                _task("a", WhatId=account),
                _task("b", Priority="Urgent"),
                {"Subject": "no type"},
                _task("c", Id="00TSb0000000001MAA"),
            ],
        },
    )
    assert resp.status_code == 200
    results = resp.json()
    assert results[0]["success"] is True and results[0]["id"].startswith("00T")
    assert results[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Priority: bad value for restricted picklist field: Urgent",
                "fields": ["Priority"],
            }
        ],
    }
    assert results[2]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert results[3]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    made = sf.query(
        f"SELECT Subject FROM Task WHERE WhatId = '{account}' AND Status != 'Completed'"
    ).json()  # the seeded tasks (logged emails and calls) are completed
    assert [r["Subject"] for r in made["records"]] == ["a"]


def test_collection_all_or_none_rolls_everything_back(sf: Client) -> None:
    before = sf.query("SELECT COUNT() FROM Task").json()["totalSize"]
    resp = sf.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [_task("ok-1"), _task("bad", Nope__c=1), _task("ok-2")],
        },
    )
    codes = [r["errors"][0]["statusCode"] for r in resp.json()]
    assert codes == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_FIELD",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    ]
    assert sf.query("SELECT COUNT() FROM Task").json()["totalSize"] == before


def test_collection_update_and_its_id_errors(sf: Client) -> None:
    ids = [a.salesforce_id for a in WORLD.accounts[:3]]
    resp = sf.patch(
        f"{V}/composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "Description": "hello"},
                {"attributes": {"type": "Account"}, "Description": "no id"},
                {"attributes": {"type": "Account"}, "id": "001bad", "Description": "x"},
                {
                    "attributes": {"type": "Account"},
                    "id": make_id("001", 987_654),
                    "Description": "x",
                },
                {"attributes": {"type": "Account"}, "id": ids[1], "NumberOfEmployees": 2.5},
            ]
        },
    )
    results = resp.json()
    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]
    assert sf.get(f"{V}/sobjects/Account/{ids[0]}").json()["Description"] == "hello"


def test_collection_over_200_records_is_refused(sf: Client) -> None:
    resp = sf.post(f"{V}/composite/sobjects", json={"records": [_task(str(i)) for i in range(201)]})
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collection_delete_and_upsert_by_external_id(sf: Client) -> None:
    made = sf.post(f"{V}/composite/sobjects", json={"records": [_task("d1"), _task("d2")]}).json()
    ids = ",".join(r["id"] for r in made) + "," + make_id("00T", 987_654)
    deleted = sf.delete(f"{V}/composite/sobjects", params={"ids": ids}).json()
    assert [r["success"] for r in deleted] == [True, True, False]
    spec = {
        "FullName": "Activity.Sync_Key__c",
        "Metadata": {"label": "Sync key", "type": "Text", "length": 80, "externalId": True},
    }
    assert sf.post(f"{V}/tooling/sobjects/CustomField/", json=spec).status_code == 201
    body = {"records": [_task("u1", Sync_Key__c="k1"), _task("u2", Sync_Key__c="k2")]}
    first = sf.patch(f"{V}/composite/sobjects/Task/Sync_Key__c", json=body).json()
    assert [r["created"] for r in first] == [True, True]
    body["records"][0]["Subject"] = "u1 renamed"
    second = sf.patch(f"{V}/composite/sobjects/Task/Sync_Key__c", json=body).json()
    assert [r["created"] for r in second] == [False, False]
    assert [r["id"] for r in second] == [r["id"] for r in first]
    rows = sf.query("SELECT Subject FROM Task WHERE Sync_Key__c = 'k1'").json()["records"]
    assert [r["Subject"] for r in rows] == ["u1 renamed"]


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_ingest_job_lifecycle_and_results(sf: Client) -> None:
    job = sf.post(
        f"{V}/jobs/ingest",
        json={"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
    ).json()
    assert job["state"] == "Open" and job["id"].startswith("750")
    account = WORLD.accounts[4].salesforce_id
    data = f"LastName,Email,AccountId\nDoe,doe@x.io,{account}\n,nolast@x.io,{account}\n"
    put = sf.session.put(
        f"{sf.base}{V}/jobs/ingest/{job['id']}/batches",
        data=data,
        headers={"Content-Type": "text/csv"},
        timeout=10,
    )
    assert (put.status_code, put.text) == (201, "")
    closed = sf.patch(f"{V}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    states = [sf.get(f"{V}/jobs/ingest/{job['id']}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "JobComplete", "JobComplete"]
    info = sf.get(f"{V}/jobs/ingest/{job['id']}").json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    ok = _read_csv(sf.get(f"{V}/jobs/ingest/{job['id']}/successfulResults/").text)
    assert ok[0]["sf__Created"] == "true" and ok[0]["LastName"] == "Doe"
    assert list(ok[0]) == ["sf__Id", "sf__Created", "LastName", "Email", "AccountId"]
    failed = _read_csv(sf.get(f"{V}/jobs/ingest/{job['id']}/failedResults/").text)
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failed[0]["Email"] == "nolast@x.io"
    found = sf.query("SELECT Id FROM Contact WHERE Email = 'doe@x.io'").json()["records"]
    assert [r["Id"] for r in found] == [ok[0]["sf__Id"]]
    unprocessed = sf.get(f"{V}/jobs/ingest/{job['id']}/unprocessedRecords/")
    assert unprocessed.text.strip() == "LastName,Email,AccountId"


def test_bulk_update_empty_cell_keeps_the_value_and_na_clears_it(sf: Client) -> None:
    first, second = (WORLD.accounts[i].salesforce_id for i in (5, 6))
    for rid in (first, second):
        answer = sf.patch(
            f"{V}/sobjects/Account/{rid}", json={"Description": "kept", "NumberOfEmployees": 7}
        )
        assert answer.status_code == 204
    job = sf.post(
        f"{V}/jobs/ingest",
        json={"object": "Account", "operation": "update", "contentType": "CSV", "lineEnding": "LF"},
    ).json()
    data = f"Id,Description,NumberOfEmployees\n{first},new,\n{second},#N/A,9\n"
    put = sf.session.put(
        f"{sf.base}{V}/jobs/ingest/{job['id']}/batches",
        data=data,
        headers={"Content-Type": "text/csv"},
        timeout=10,
    )
    assert put.status_code == 201
    sf.patch(f"{V}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    while sf.get(f"{V}/jobs/ingest/{job['id']}").json()["state"] != "JobComplete":
        pass
    rows = sf.query(
        "SELECT Id, Description, NumberOfEmployees FROM Account "
        f"WHERE Id IN ('{first}', '{second}')"
    ).json()["records"]
    values = {r["Id"]: (r["Description"], r["NumberOfEmployees"]) for r in rows}
    assert values == {first: ("new", 7), second: (None, 9)}


def test_bulk_unknown_column_fails_the_job_and_abort_leaves_unprocessed(sf: Client) -> None:
    job = sf.post(f"{V}/jobs/ingest", json={"object": "Account", "operation": "update"}).json()
    sf.session.put(
        f"{sf.base}{V}/jobs/ingest/{job['id']}/batches", data="Id,Bogus__c\nx,1\n", timeout=10
    )
    sf.patch(f"{V}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    info = sf.get(f"{V}/jobs/ingest/{job['id']}").json()
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Bogus__c"

    other = sf.post(f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    sf.session.put(
        f"{sf.base}{V}/jobs/ingest/{other['id']}/batches", data="Name\nA\nB\n", timeout=10
    )
    aborted = sf.patch(f"{V}/jobs/ingest/{other['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    rows = _read_csv(sf.get(f"{V}/jobs/ingest/{other['id']}/unprocessedrecords/").text)
    assert [r["Name"] for r in rows] == ["A", "B"]
    late = sf.session.put(
        f"{sf.base}{V}/jobs/ingest/{other['id']}/batches", data="Name\nC\n", timeout=10
    )
    assert late.status_code == 409


def test_bulk_upsert_needs_an_external_id_field(sf: Client) -> None:
    resp = sf.post(
        f"{V}/jobs/ingest",
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
    )
    assert resp.status_code == 400


def test_unable_to_lock_row_fault_hook_fails_then_clears() -> None:
    app = make_app(WORLD)
    account = WORLD.accounts[7].salesforce_id
    app.state.store.lock_failures[account] = 1
    body = {"records": [{"attributes": {"type": "Account"}, "id": account, "Description": "x"}]}
    with serve(app) as base:
        client = Client(base)
        first = client.patch(f"{V}/composite/sobjects", json=body).json()
        assert first[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
        second = client.patch(f"{V}/composite/sobjects", json=body).json()
        assert second[0]["success"] is True


def test_replication_deleted_and_updated_windows(sf: Client) -> None:
    made = sf.post(f"{V}/sobjects/Task/", json={"Subject": "to delete"}).json()["id"]
    kept = sf.post(f"{V}/sobjects/Task/", json={"Subject": "kept"}).json()["id"]
    assert sf.delete(f"{V}/sobjects/Task/{made}").status_code == 204
    window = {"start": "2000-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"}
    deleted = sf.get(f"{V}/sobjects/Task/deleted/", params=window).json()
    assert made in [r["id"] for r in deleted["deletedRecords"]]
    assert deleted["latestDateCovered"] == "2100-01-01T00:00:00.000+0000"
    updated = sf.get(f"{V}/sobjects/Task/updated/", params=window).json()
    assert kept in updated["ids"] and made not in updated["ids"]
    assert sf.get(f"{V}/sobjects/Task/deleted/").status_code == 400


def test_composite_references_and_counts_once(sf: Client) -> None:
    before = sf.get(f"{V}/limits/").json()["DailyApiRequests"]["Remaining"]
    resp = sf.post(
        f"{V}/composite",
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Account",
                    "referenceId": "acct",
                    "body": {"Name": "Composite Co"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "task",
                    "body": {"Subject": "Welcome", "WhatId": "@{acct.id}"},
                },
                {
                    "method": "GET",
                    "referenceId": "q",
                    "url": f"{V}/query/?q=SELECT+Id,AccountId+FROM+Task"
                    "+WHERE+WhatId='@{acct.id}'",
                },
            ]
        },
    )
    assert resp.status_code == 200
    answers = resp.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 201, 200]
    account_id = answers[0]["body"]["id"]
    assert answers[2]["body"]["records"][0]["AccountId"] == account_id
    after = sf.get(f"{V}/limits/").json()["DailyApiRequests"]["Remaining"]
    assert before - after == 2  # the composite call and this limits call


def test_composite_all_or_none_rolls_back(sf: Client) -> None:
    resp = sf.post(
        f"{V}/composite",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Account",
                    "referenceId": "ok",
                    "body": {"Name": "Rolled Back Co"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Account",
                    "referenceId": "bad",
                    "body": {"Nope__c": 1},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Account",
                    "referenceId": "later",
                    "body": {"Name": "Never"},
                },
            ],
        },
    )
    answers = resp.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 400]
    assert answers[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    found = sf.query("SELECT Id FROM Account WHERE Name = 'Rolled Back Co'").json()
    assert found["totalSize"] == 0
    too_many = {
        "compositeRequest": [
            {"method": "GET", "url": f"{V}/limits", "referenceId": str(i)} for i in range(26)
        ]
    }
    assert sf.post(f"{V}/composite", json=too_many).status_code == 400
