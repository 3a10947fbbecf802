"""Salesforce writer: sObject Collections bodies and per-record results, 400 ->
BatchRejectedError, creates never resent, SOQL chunks (responses); then over real HTTP
against the sandbox through simple-salesforce: updates read back, tasks found by key,
and a Bulk API 2.0 update of more than 200 accounts with a failed row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from connector_cases import HTTP, SALESFORCE, SF_BASE

from csbridge.config import Settings
from csbridge.connectors.protocol import (
    BatchRejectedError,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
    chunks,
)
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.connectors.salesforce.write import SalesforceWriter, csv_value, salesforce_writer
from csbridge.errors import CsbridgeError
from csbridge.http.client import ApiClient, CallAccounting
from csbridge.http.errors import (
    FatalHttpError,
    MissingFieldError,
    QuotaExhaustedError,
    UnknownOutcomeError,
)
from csbridge.mappings.fields import load_field_mapping
from csbridge_sandbox.runner import Sandbox, run_sandbox

MAPPING = load_field_mapping("salesforce")
COLLECTIONS = f"{SF_BASE}/composite/sobjects"


def writer() -> SalesforceWriter:
    client = salesforce_client(SALESFORCE, HTTP)
    return SalesforceWriter(open_salesforce(SALESFORCE, client, "tok"), client, MAPPING)


def sent(call: Any) -> Any:
    return json.loads(call.request.body)


def soql_of(call: Any) -> str:
    return parse_qs(urlparse(call.request.url).query)["q"][0]


def test_csv_values_for_bulk() -> None:
    assert csv_value(None) == "#N/A"  # an empty cell would leave the old value
    assert [csv_value(True), csv_value(False), csv_value(7), csv_value(7.5)] == [
        "true",
        "false",
        "7",
        "7.5",
    ]
    assert csv_value("promoter;vip") == "promoter;vip"


@pytest.mark.usefixtures("sleeps")
def test_update_body_and_per_record_results(rsps: responses.RequestsMock) -> None:
    call = rsps.patch(
        COLLECTIONS,
        json=[
            {"id": "001A", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain exclusive access to this record",
                        "fields": [],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        "message": "Health Status: bad value for restricted picklist field: x",
                        "fields": ["Health_Status__c"],
                    }
                ],
            },
        ],
    )
    updates = [
        RecordUpdate("001A", {"Health_Score__c": 81.5, "CS_Tags__c": "promoter;vip"}),
        RecordUpdate("001B", {"Marketing_Paused__c": True, "Health_Trend__c": None}),
        RecordUpdate("001C", {"Health_Status__c": "x"}),
    ]
    results = writer().update_records(updates)
    assert sent(call.calls[0]) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Account"},
                "id": "001A",
                "Health_Score__c": 81.5,
                "CS_Tags__c": "promoter;vip",
            },
            {
                "attributes": {"type": "Account"},
                "id": "001B",
                "Marketing_Paused__c": True,
                "Health_Trend__c": None,
            },
            {"attributes": {"type": "Account"}, "id": "001C", "Health_Status__c": "x"},
        ],
    }
    assert not any(h.lower().startswith("x-csbridge") for h in call.calls[0].request.headers)
    assert results == [
        WriteResult("001A", True, id="001A"),
        WriteResult(
            "001B",
            False,
            error="UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record",
            retryable=True,
        ),
        WriteResult(
            "001C",
            False,
            error="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Health Status: bad value for "
            "restricted picklist field: x (Health_Status__c)",
        ),
    ]


def test_a_400_rejects_the_batch(rsps: responses.RequestsMock) -> None:
    rsps.patch(
        COLLECTIONS,
        status=400,
        json=[{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}],
    )
    with pytest.raises(BatchRejectedError) as caught:
        writer().update_records([RecordUpdate("001A", {"Health_Score__c": 1})])
    assert caught.value.reason == (
        "Account collection update: JSON_PARSER_ERROR: Unexpected character"
    )


def test_an_update_is_resent_after_a_500(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.patch(COLLECTIONS, status=500, json=[{"errorCode": "UNKNOWN", "message": "oops"}])
    rsps.patch(COLLECTIONS, json=[{"id": "001A", "success": True, "errors": []}])
    assert writer().update_records([RecordUpdate("001A", {"Health_Score__c": 1})])[0].ok
    assert len(sleeps) == 1


def test_quota_exhausted_stops(rsps: responses.RequestsMock) -> None:
    rsps.patch(
        COLLECTIONS,
        status=403,
        json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
    )
    with pytest.raises(QuotaExhaustedError):
        writer().update_records([RecordUpdate("001A", {"Health_Score__c": 1})])


@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"status": 500, "json": [{"errorCode": "UNKNOWN_EXCEPTION", "message": "oops"}]},
    ],
)
def test_a_create_with_an_unknown_outcome_is_never_resent(
    rsps: responses.RequestsMock, sleeps: list[float], answer: dict[str, Any]
) -> None:
    call = rsps.post(COLLECTIONS, **answer)
    with pytest.raises(UnknownOutcomeError):
        writer().create_tasks([TaskCreate("acc:rule:2026-11", "001A", "Call them")])
    assert call.call_count == 1 and sleeps == []


@pytest.mark.usefixtures("sleeps")
def test_create_tasks_body_and_results(rsps: responses.RequestsMock) -> None:
    call = rsps.post(
        COLLECTIONS,
        json=[
            {"id": "00T1", "success": True, "errors": []},
            {
                "success": False,
                "errors": [{"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "bad owner"}],
            },
        ],
    )
    tasks = [
        TaskCreate("k1", "001A", "S" * 300, "NPS 3", date(2026, 12, 1), "005A"),
        TaskCreate("k2", "001B", "Renewal", owner_id="005Z"),
    ]
    results = writer().create_tasks(tasks)
    body = sent(call.calls[0])
    assert body["allOrNone"] is False
    assert body["records"][0] == {
        "attributes": {"type": "Task"},
        "WhatId": "001A",
        "Subject": "S" * 255,
        "Description": "NPS 3",
        "Status": "Not Started",
        "Csbridge_Key__c": "k1",
        "ActivityDate": "2026-12-01",
        "OwnerId": "005A",
    }
    assert "ActivityDate" not in body["records"][1]
    assert results == [
        WriteResult("k1", True, id="00T1"),
        WriteResult("k2", False, error="INVALID_CROSS_REFERENCE_KEY: bad owner"),
    ]


@pytest.mark.usefixtures("sleeps")
def test_read_field_chunks_ids_and_maps_18_char_ids_back(rsps: responses.RequestsMock) -> None:
    ids = [f"001000000000{i:03d}" for i in range(350)]  # 15-character ids
    first = rsps.get(
        f"{SF_BASE}/query/",
        json={
            "done": True,
            "totalSize": 2,
            "records": [
                {"Id": ids[0] + "AAA", "CS_Tags__c": "promoter;vip"},
                {"Id": ids[1] + "AAA", "CS_Tags__c": None},
            ],
        },
    )
    second = rsps.get(
        f"{SF_BASE}/query/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [{"Id": ids[349] + "AAA", "CS_Tags__c": "x"}],
        },
    )
    values = writer().read_field(ids, "CS_Tags__c")
    assert values == {ids[0]: "promoter;vip", ids[1]: None, ids[349]: "x"}
    assert soql_of(first.calls[0]).startswith(
        f"SELECT Id, CS_Tags__c FROM Account WHERE Id IN ('{ids[0]}', "
    )
    assert soql_of(first.calls[0]).count("'") == 600 and soql_of(second.calls[0]).count("'") == 100
    assert all(len(c.request.url) < 16_000 for c in (*first.calls, *second.calls))


def test_a_400_to_a_query_is_a_fatal_error_not_a_rejected_batch(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        f"{SF_BASE}/query/",
        status=400,
        json=[{"errorCode": "MALFORMED_QUERY", "message": "unexpected token: 'FROM'"}],
    )
    with pytest.raises(FatalHttpError, match="HTTP 400: MALFORMED_QUERY: unexpected token"):
        writer().find_tasks(["k"])


def test_a_missing_custom_field_says_to_run_init_crm(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{SF_BASE}/query/",
        status=400,
        json=[{"errorCode": "INVALID_FIELD", "message": "No such column 'Csbridge_Key__c'"}],
    )
    with pytest.raises(MissingFieldError, match="no field Csbridge_Key__c; run `csbridge init-crm"):
        writer().find_tasks(["k"])


@pytest.mark.usefixtures("sleeps")
def test_task_states_query_by_key_field(rsps: responses.RequestsMock) -> None:
    call = rsps.get(
        f"{SF_BASE}/query/",
        json={
            "done": True,
            "totalSize": 2,
            "records": [
                {
                    "Id": "00T1",
                    "Csbridge_Key__c": "a'b",
                    "Status": "Completed",
                    "OwnerId": "005A",
                    "LastModifiedDate": "2026-11-20T10:00:00.000+0000",
                },
                {"Id": "00T2", "Csbridge_Key__c": "a'b"},  # a duplicate: the oldest wins
                {
                    "Id": "00T3",
                    "Csbridge_Key__c": "c",
                    "Status": "Not Started",
                    "ActivityDate": "2026-11-25",
                    "Description": "Call the sponsor",
                },
            ],
        },
    )
    states = writer().task_states(["a'b", "c"])
    assert soql_of(call.calls[0]) == (
        "SELECT Id, Csbridge_Key__c, Status, OwnerId, LastModifiedDate, ActivityDate, "
        "Description FROM Task "
        "WHERE Csbridge_Key__c IN ('a\\'b', 'c') ORDER BY CreatedDate, Id"
    )
    assert states == {
        "a'b": TaskState("00T1", True, "005A", datetime(2026, 11, 20, 10, tzinfo=UTC), "Completed"),
        "c": TaskState(
            "00T3", False, None, None, "Not Started", date(2026, 11, 25), "Call the sponsor"
        ),
    }


@pytest.mark.usefixtures("sleeps")
def test_update_tasks_patches_status_and_description_by_id(rsps: responses.RequestsMock) -> None:
    call = rsps.patch(
        f"{SF_BASE}/composite/sobjects",
        json=[
            {"id": "00T1", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        "message": "Status: bad value for restricted picklist field: Cancelled",
                        "fields": ["Status"],
                    }
                ],
            },
        ],
    )
    results = writer().update_tasks(
        [
            TaskUpdate("k1", "00T1", "Completed", "x\n\nClosed"),
            TaskUpdate("k2", "00T2", "Cancelled", "y"),
        ]
    )
    assert [(r.ref, r.ok) for r in results] == [("k1", True), ("k2", False)]
    assert "restricted picklist" in (results[1].error or "")
    assert json.loads(call.calls[0].request.body) == {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Task"}, "id": "00T1", "Status": "Completed"}
            | {"Description": "x\n\nClosed"},
            {"attributes": {"type": "Task"}, "id": "00T2", "Status": "Cancelled"}
            | {"Description": "y"},
        ],
    }


def test_factory_caps_the_batch_size_and_names_a_missing_source() -> None:
    with pytest.raises(CsbridgeError, match=r"sources\.salesforce is missing"):
        salesforce_writer(Settings())
    settings = Settings(
        sources={"salesforce": SALESFORCE.model_dump(mode="python")},
        crm={"targets": ["salesforce"], "salesforce": {"batch_size": 1000}},
    )
    assert salesforce_writer(settings, token="tok").batch_size == 200
    # one behaviour: the API's maximum caps any larger batch size, however it is given
    client = salesforce_client(SALESFORCE, HTTP)
    sf = open_salesforce(SALESFORCE, client, "tok")
    assert SalesforceWriter(sf, client, MAPPING, batch_size=201).batch_size == 200


# -- real HTTP against the sandbox --------------------------------------------------------

PICKLISTS = ("healthy", "neutral", "at_risk", "promoter", "passive", "detractor", "smb", "mid")


def _metadata(kind: str, label: str) -> dict[str, Any]:
    values = {"valueSetDefinition": {"value": [{"fullName": v} for v in PICKLISTS]}}
    return {
        "number": {"type": "Number", "precision": 6, "scale": 2},
        "text": {"type": "LongTextArea", "length": 32768, "visibleLines": 3},
        "datetime": {"type": "DateTime"},
        "boolean": {"type": "Checkbox", "defaultValue": "false"},
        "picklist": {"type": "Picklist", "valueSet": {**values, "restricted": True}},
        "multipicklist": {"type": "MultiselectPicklist", "visibleLines": 4, "valueSet": values},
    }[kind] | {"label": label}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=250, seed=11, vendors=("salesforce",)) as sb:
        sf = live(sb).sf
        fields = [
            (MAPPING.object, s.api_name, _metadata(s.type, s.label)) for s in MAPPING.write.values()
        ]
        key = {"type": "Text", "length": 255, "externalId": True, "label": "csbridge key"}
        fields.append(("Activity", MAPPING.task.key_field, key))  # Task fields live on Activity
        for sobject, name, meta in fields:
            answer = sf.restful(
                "tooling/sobjects/CustomField/",
                method="POST",
                json={"FullName": f"{sobject}.{name}", "Metadata": meta},
            )
            assert answer["success"] is True
        yield sb
        for client in OPEN:  # close keep-alive connections, or the server waits them out
            client.close()


OPEN: list[ApiClient] = []


def live(sandbox: Sandbox, accounting: CallAccounting | None = None) -> SalesforceWriter:
    w = salesforce_writer(Settings(**sandbox.config()), accounting, bulk_wait=0.02)
    OPEN.append(w.client)
    return w


def read_back(w: SalesforceWriter, ids: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
    """The accounts as Salesforce's own query API returns them."""
    listed = ", ".join(f"'{i}'" for i in ids)
    rows = w.sf.query_all(f"SELECT Id, {', '.join(fields)} FROM Account WHERE Id IN ({listed})")
    return {r["Id"]: {f: r[f] for f in fields} for r in rows["records"]}


def test_sandbox_update_then_read_back(sandbox: Sandbox) -> None:
    ids = [a.salesforce_id for a in sandbox.world.accounts[:2]]
    w = live(sandbox)
    results = w.update_records(
        [
            RecordUpdate(
                ids[0],
                {
                    "Health_Score__c": 81.5,
                    "Health_Status__c": "healthy",
                    "CS_Tags__c": "promoter;smb",
                    "Marketing_Paused__c": True,
                    "Health_Drivers__c": "NPS 9; usage up",
                },
            ),
            RecordUpdate(ids[1], {"Health_Score__c": 12, "Health_Status__c": "no_such_value"}),
            RecordUpdate("001000000000000AAA", {"Health_Score__c": 1}),
        ]
    )
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].error is not None and "RESTRICTED_PICKLIST" in results[1].error
    fields = ["Health_Score__c", "Health_Status__c", "CS_Tags__c", "Marketing_Paused__c"]
    back = read_back(w, ids, fields)
    assert back[ids[0]] == {
        "Health_Score__c": 81.5,
        "Health_Status__c": "healthy",
        "CS_Tags__c": "promoter;smb",
        "Marketing_Paused__c": True,
    }
    assert back[ids[1]]["Health_Score__c"] is None
    assert w.read_field(ids, "CS_Tags__c") == {ids[0]: "promoter;smb", ids[1]: None}
    assert w.update_records([RecordUpdate(ids[0], {"CS_Tags__c": None})])[0].ok  # None clears
    assert w.read_field(ids[:1], "CS_Tags__c") == {ids[0]: None}


def test_sandbox_create_tasks_then_find_exactly_them(sandbox: Sandbox) -> None:
    accounts = sandbox.world.accounts[3:6]
    owner = sandbox.world.owners[0].salesforce_id
    w = live(sandbox)
    tasks = [
        TaskCreate(
            f"{a.domain}:detractor:2026-11",
            a.salesforce_id,
            f"Call {a.name}",
            "NPS 2",
            date(2026, 12, 1),
            owner,
        )
        for a in accounts
    ]
    results = w.create_tasks(tasks)
    assert all(r.ok and r.id for r in results), results
    found = w.find_tasks([*(t.key for t in tasks), "nobody:rule:2026-11"])
    assert found == {r.ref: r.id for r in results}
    soql = f"SELECT WhatId, OwnerId, ActivityDate, Status FROM Task WHERE Id = '{results[0].id}'"
    row = w.sf.query(soql)["records"][0]
    assert (row["WhatId"], row["OwnerId"], row["ActivityDate"], row["Status"]) == (
        accounts[0].salesforce_id,
        owner,
        "2026-12-01",
        "Not Started",
    )


def test_sandbox_bulk_update_of_more_than_200_accounts(sandbox: Sandbox) -> None:
    accounts = sandbox.world.accounts[10:240]
    calls = CallAccounting()
    w = live(sandbox, calls)
    updates = [
        RecordUpdate(a.salesforce_id, {"Health_Score__c": i, "Health_Status__c": "neutral"})
        for i, a in enumerate(accounts)
    ]
    updates[7] = RecordUpdate(
        accounts[7].salesforce_id, {"Health_Score__c": 7, "Health_Status__c": "bogus"}
    )
    results = w.bulk_update(updates)
    assert [r.ref for r in results] == [u.record_id for u in updates]
    assert [i for i, r in enumerate(results) if not r.ok] == [7]
    assert results[7].error is not None
    assert results[7].error.startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: ")
    assert not results[7].retryable
    back = read_back(w, [u.record_id for u in updates], ["Health_Score__c", "Health_Status__c"])
    assert back[updates[0].record_id] == {"Health_Score__c": 0, "Health_Status__c": "neutral"}
    assert back[updates[229].record_id] == {"Health_Score__c": 229, "Health_Status__c": "neutral"}
    assert back[updates[7].record_id]["Health_Status__c"] != "bogus"
    jobs = "/services/data/v59.0/jobs/ingest"
    assert calls.count(endpoint=jobs) == 1  # one Bulk job for all 230 records
    assert calls.count(endpoint=jobs + "/{id}/failedResults") == 1


def test_sandbox_bulk_job_that_fails_as_a_whole_rejects_the_batch(sandbox: Sandbox) -> None:
    w = live(sandbox)
    account = sandbox.world.accounts[0].salesforce_id
    with pytest.raises(BatchRejectedError, match="Field name not found : No_Such_Field__c"):
        w.bulk_update([RecordUpdate(account, {"No_Such_Field__c": 1})])


# -- sandbox faults (/_sandbox/faults) ----------------------------------------------------


def arm(sandbox: Sandbox, *faults: dict[str, Any]) -> None:
    answer = requests.post(
        f"{sandbox.urls['salesforce']}/_sandbox/faults",
        json=list(faults),
        verify=str(sandbox.ca_cert_path),
        timeout=5,
    )
    assert answer.status_code == 201, answer.text


def test_sandbox_timeout_after_commit_is_unknown_and_the_task_is_found_once(
    sandbox: Sandbox, sleeps: list[float]
) -> None:
    config = sandbox.config()
    config["http"] = {"read_timeout": 0.3}
    calls = CallAccounting()
    w = salesforce_writer(Settings(**config), calls)
    OPEN.append(w.client)
    account = sandbox.world.accounts[7]
    task = TaskCreate(f"{account.domain}:churn_risk:2026-11", account.salesforce_id, "Churn risk")
    arm(sandbox, {"kind": "timeout_after_commit", "match": "POST /services/data", "delay": 1.0})
    with pytest.raises(UnknownOutcomeError):
        w.create_tasks([task])
    assert calls.count(endpoint="Task collection create") == 1 and sleeps == []  # never resent
    assert list(w.find_tasks([task.key])) == [task.key]


def test_sandbox_rejected_record_fails_alone_in_collections_and_bulk(sandbox: Sandbox) -> None:
    ids = [a.salesforce_id for a in sandbox.world.accounts[240:243]]
    arm(sandbox, {"kind": "reject_record", "object": "Account", "id": ids[1], "count": 2})
    w = live(sandbox)
    for write in (w.update_records, w.bulk_update):
        results = write([RecordUpdate(i, {"Health_Score__c": 44}) for i in ids])
        assert [r.ok for r in results] == [True, False, True]
        assert results[1].error is not None
        assert results[1].error.startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION: ")
    back = read_back(w, ids, ["Health_Score__c"])
    assert [back[i]["Health_Score__c"] for i in ids] == [44, None, 44]


def test_sandbox_reads_many_open_tasks_back_by_condition_in_fewer_queries(
    sandbox: Sandbox,
) -> None:
    accounts, owner = sandbox.world.accounts, sandbox.world.owners[0].salesforce_id
    w = live(sandbox)
    tasks = [
        TaskCreate(
            f"many{i}:churn_risk:2026-11", accounts[i % 250].salesforce_id, "T", "", None, owner
        )
        for i in range(2500)
    ]
    made = [r for batch in chunks(tasks, 200) for r in w.create_tasks(batch)]
    assert all(r.ok for r in made)
    done = [TaskUpdate(r.ref, r.id or "", "Completed", "") for r in made[:100]]
    assert all(r.ok for r in w.update_tasks(done))
    keys = [t.key for t in tasks]
    by_key = {k: s for part in chunks(keys, 300) for k, s in w.task_states(part).items()}

    def queries(asked: list[str]) -> tuple[dict[str, TaskState], int]:
        accounting = CallAccounting()
        states = live(sandbox, accounting).task_states(asked)
        return states, sum(r.count for r in accounting.rows() if "/query/" in r.endpoint)

    # 2,400 open: a COUNT(), 2 pages of 2,000 rows, the 100 completed by key (not 9 queries)
    states, calls = queries(keys)
    assert states == by_key and len(states) == 2500
    assert sum(s.completed for s in states.values()) == 100
    assert calls == 4
    # more open tasks in the org than keys asked: by key as before (after the COUNT())
    part, calls = queries(keys[:400])
    assert part == {k: by_key[k] for k in keys[:400]} and calls == 1 + 2
