"""HubSpot writer: value rendering, 207 parsing, 400 -> BatchRejectedError, creates never
resent (responses); then over real HTTP against the sandbox: updates read back through the
API, tasks found by key, and a bulk update of more than 200 companies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
import responses
from connector_cases import HTTP, HUBSPOT

from csbridge.config import Settings
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.write import HubspotWriter, hubspot_writer, render_value
from csbridge.connectors.protocol import (
    BatchRejectedError,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
)
from csbridge.errors import CsbridgeError
from csbridge.http.client import CallAccounting
from csbridge.http.errors import FatalHttpError, UnknownOutcomeError
from csbridge.mappings.fields import load_field_mapping
from csbridge_sandbox.runner import Sandbox, run_sandbox

# time.sleep is patched (tests/conftest.py) for the unit tests: backoff is instant.
BASE = "https://api.hubapi.test/crm/v3/objects"
MAPPING = load_field_mapping("hubspot")
NOW = datetime(2026, 11, 23, 9, 30, 15, 250000, tzinfo=UTC)


def writer(batch_size: int = 100) -> HubspotWriter:
    return HubspotWriter(hubspot_client(HUBSPOT, HTTP), MAPPING, batch_size, now=lambda: NOW)


def sent(call: Any) -> Any:
    return json.loads(call.request.body)


def test_render_value_as_hubspot_wants() -> None:
    assert render_value(None) == ""
    assert render_value(True) == "true" and render_value(False) == "false"
    assert render_value(72) == "72" and render_value(72.0) == "72"
    assert render_value(72.5) == "72.5" and render_value(1e-05) == "0.00001"
    assert render_value(-3.25) == "-3.25" and render_value(1e20) == "100000000000000000000"
    assert render_value(" at_risk ", "picklist") == "at_risk"
    assert render_value(" text kept ", "text") == " text kept "
    assert render_value("2026-11-23T09:30:00Z", "datetime") == "2026-11-23T09:30:00Z"
    with pytest.raises(CsbridgeError, match="not a number"):
        render_value(float("nan"))


@pytest.mark.usefixtures("sleeps")
def test_update_renders_values_and_reads_a_207(rsps: responses.RequestsMock) -> None:
    call = rsps.post(
        f"{BASE}/companies/batch/update",
        status=207,
        json={
            "status": "COMPLETE",
            "results": [{"id": "1", "properties": {}}, {"id": "4", "properties": {}}],
            "numErrors": 2,
            "errors": [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not update some COMPANY objects",
                    "context": {"ids": ["2"]},
                },
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": 'Property values were not valid: "x" is not a valid number',
                    "context": {"objectWriteTraceId": ["3"]},
                },
            ],
        },
    )
    updates = [
        RecordUpdate(
            "1",
            {
                "cs_health_score": 81.0,
                "cs_health_status": " healthy ",
                "cs_marketing_paused": False,
                "cs_tags": "promoter;expansion",
                "cs_health_drivers": "NPS 9 ",
                "cs_health_trend": None,
            },
        ),
        RecordUpdate("2", {"cs_health_score": 10}),
        RecordUpdate("3", {"cs_health_score": "x"}),
        RecordUpdate("4", {"cs_health_score": 50}),
        RecordUpdate("5", {"cs_health_score": 60}),
    ]
    results = writer().update_records(updates)
    assert sent(call.calls[0])["inputs"][0] == {
        "id": "1",
        "objectWriteTraceId": "1",
        "properties": {
            "cs_health_score": "81",
            "cs_health_status": "healthy",
            "cs_marketing_paused": "false",
            "cs_tags": "promoter;expansion",
            "cs_health_drivers": "NPS 9 ",
            "cs_health_trend": "",
        },
    }
    assert results == [
        WriteResult("1", True, id="1"),
        WriteResult("2", False, error="OBJECT_NOT_FOUND: Could not update some COMPANY objects"),
        WriteResult(
            "3",
            False,
            error='VALIDATION_ERROR: Property values were not valid: "x" is not a valid number',
        ),
        WriteResult("4", True, id="4"),
        # neither in the results nor named by an error: not assumed written
        WriteResult("5", False, error="NOT_IN_ANSWER: HubSpot did not report this record"),
    ]


def test_a_400_rejects_the_batch_with_hubspots_message(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{BASE}/companies/batch/update",
        status=400,
        json={
            "status": "error",
            "message": "Property values were not valid: cs_health_score",
            "category": "VALIDATION_ERROR",
            "correlationId": "c-1",
        },
    )
    with pytest.raises(BatchRejectedError) as caught:
        writer().update_records([RecordUpdate("1", {"cs_health_score": 1})])
    assert caught.value.reason == (
        "companies batch update: VALIDATION_ERROR: Property values were not valid: cs_health_score"
    )


def test_a_multi_line_vendor_message_is_one_line_and_shortened(
    rsps: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "Property values were not valid:\r\n  cs_health_score\n\n" + "detail " * 100
    rsps.post(
        f"{BASE}/companies/batch/update",
        status=400,
        json={"message": message, "category": "VALIDATION_ERROR"},
    )
    with pytest.raises(BatchRejectedError) as caught:
        writer().update_records([RecordUpdate("1", {"cs_health_score": 1})])
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text
    assert "VALIDATION_ERROR: Property values were not valid: cs_health_score detail" in text
    assert text.endswith("…") and len(caught.value.reason) < 360
    assert "hs-token" not in text


def test_a_400_to_a_search_is_a_fatal_error_not_a_rejected_batch(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(
        f"{BASE}/tasks/search",
        status=400,
        json={"message": "csbridge_task_key does not exist", "category": "VALIDATION_ERROR"},
    )
    with pytest.raises(FatalHttpError, match="HTTP 400: VALIDATION_ERROR: csbridge_task_key"):
        writer().find_tasks(["k"])


def test_an_unknown_object_type_is_a_fatal_error(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{BASE}/companies/batch/read",
        status=404,
        json={
            "status": "error",
            "message": "Unable to infer object type",
            "category": "OBJECT_NOT_FOUND",
        },
    )
    with pytest.raises(FatalHttpError, match="HTTP 404: OBJECT_NOT_FOUND: Unable to infer"):
        writer().read_field(["1"], "cs_tags")


def test_an_update_is_resent_after_a_503(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.post(f"{BASE}/companies/batch/update", status=503, json={"status": "error"})
    rsps.post(f"{BASE}/companies/batch/update", json={"results": [{"id": "1"}]})
    assert writer().update_records([RecordUpdate("1", {"cs_health_score": 1})]) == [
        WriteResult("1", True, id="1")
    ]
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"status": 502, "json": {"status": "error"}},
    ],
)
def test_a_create_with_an_unknown_outcome_is_never_resent(
    rsps: responses.RequestsMock, sleeps: list[float], answer: dict[str, Any]
) -> None:
    call = rsps.post(f"{BASE}/tasks/batch/create", **answer)
    with pytest.raises(UnknownOutcomeError):
        writer().create_tasks([TaskCreate("acc:rule:2026-11", "1", "Call them")])
    assert call.call_count == 1 and sleeps == []


@pytest.mark.usefixtures("sleeps")
def test_create_tasks_body_and_results_by_key(rsps: responses.RequestsMock) -> None:
    call = rsps.post(
        f"{BASE}/tasks/batch/create",
        status=207,
        json={
            "status": "COMPLETE",
            "results": [  # not in input order: results are matched by the key property
                {"id": "902", "properties": {"csbridge_task_key": "k2"}},
                {"id": "901", "properties": {"csbridge_task_key": "k1"}},
            ],
            "numErrors": 1,
            "errors": [
                {
                    "category": "VALIDATION_ERROR",
                    "message": "77 is not a valid owner id",
                    "context": {"objectWriteTraceId": ["k3"]},
                }
            ],
        },
    )
    tasks = [
        TaskCreate("k1", "11", "Detractor follow-up", "NPS 3", date(2026, 12, 1), "50000001"),
        TaskCreate("k2", "12", "Renewal in 90 days"),
        TaskCreate("k3", "13", "Bad owner", owner_id="77"),
    ]
    results = writer().create_tasks(tasks)
    first, second = sent(call.calls[0])["inputs"][:2]
    assert first == {
        "properties": {
            "hs_timestamp": "2026-12-01T00:00:00.000Z",
            "hs_task_subject": "Detractor follow-up",
            "hs_task_body": "NPS 3",
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            "csbridge_task_key": "k1",
            "hubspot_owner_id": "50000001",
        },
        "objectWriteTraceId": "k1",
        "associations": [
            {
                "to": {"id": "11"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
            }
        ],
    }
    assert second["properties"]["hs_timestamp"] == "2026-11-23T09:30:15.250Z"
    assert "hubspot_owner_id" not in second["properties"]
    assert results == [
        WriteResult("k1", True, id="901"),
        WriteResult("k2", True, id="902"),
        WriteResult("k3", False, error="VALIDATION_ERROR: 77 is not a valid owner id"),
    ]


@pytest.mark.usefixtures("sleeps")
def test_find_tasks_chunks_the_in_filter_and_pages(rsps: responses.RequestsMock) -> None:
    keys = [f"k{i:03d}" for i in range(150)]
    first = rsps.post(
        f"{BASE}/tasks/search",
        json={
            "total": 2,
            "results": [{"id": "1", "properties": {"csbridge_task_key": "k000"}}],
            "paging": {"next": {"after": "1"}},
        },
    )
    second = rsps.post(
        f"{BASE}/tasks/search",
        json={"total": 2, "results": [{"id": "2", "properties": {"csbridge_task_key": "k001"}}]},
    )
    third = rsps.post(
        f"{BASE}/tasks/search",
        json={"total": 1, "results": [{"id": "3", "properties": {"csbridge_task_key": "k149"}}]},
    )
    assert writer().find_tasks(keys) == {"k000": "1", "k001": "2", "k149": "3"}
    bodies = [sent(c.calls[0]) for c in (first, second, third)]
    values = [b["filterGroups"][0]["filters"][0] for b in bodies]
    assert values[0] == {
        "propertyName": "csbridge_task_key",
        "operator": "IN",
        "values": keys[:100],
    }
    assert "after" not in bodies[0] and bodies[1]["after"] == "1"
    assert values[2]["values"] == keys[100:]


def test_task_states_read_status_owner_and_last_change(rsps: responses.RequestsMock) -> None:
    done = {
        "csbridge_task_key": "a",
        "hs_task_status": "COMPLETED",
        "hubspot_owner_id": "77",
        "hs_lastmodifieddate": "2026-11-20T10:00:00.000Z",
        "hs_timestamp": "2026-11-18T00:00:00.000Z",
        "hs_task_body": "Call the sponsor",
    }
    call = rsps.post(
        f"{BASE}/tasks/search",
        json={
            "total": 2,
            "results": [
                {"id": "1", "properties": done},
                {"id": "2", "properties": {"csbridge_task_key": "b", "hs_task_status": "WAITING"}},
            ],
        },
    )
    assert writer().task_states(["a", "b"]) == {
        "a": TaskState(
            "1",
            True,
            "77",
            datetime(2026, 11, 20, 10, tzinfo=UTC),
            "COMPLETED",
            date(2026, 11, 18),
            "Call the sponsor",
        ),
        "b": TaskState("2", False, status="WAITING"),
    }
    asked = sent(call.calls[0])["properties"]
    assert asked == [
        "csbridge_task_key",
        "hs_task_status",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
        "hs_timestamp",
        "hs_task_body",
    ]


@pytest.mark.usefixtures("sleeps")
def test_update_tasks_is_one_batch_update_by_id_with_keys_back(
    rsps: responses.RequestsMock,
) -> None:
    call = rsps.post(
        f"{BASE}/tasks/batch/update",
        status=207,
        json={
            "results": [{"id": "1", "properties": {}}],
            "errors": [
                {
                    "category": "VALIDATION_ERROR",
                    "message": "hs_task_status: CANCELLED is not a valid option",
                    "context": {"objectWriteTraceId": ["2"]},
                }
            ],
        },
    )
    results = writer().update_tasks(
        [TaskUpdate("k1", "1", "COMPLETED", "done"), TaskUpdate("k2", "2", "CANCELLED", "no")]
    )
    assert [(r.ref, r.ok, r.id) for r in results] == [("k1", True, "1"), ("k2", False, None)]
    assert "CANCELLED is not a valid option" in (results[1].error or "")
    assert sent(call.calls[0]) == {
        "inputs": [
            {"id": "1", "objectWriteTraceId": "1"}
            | {"properties": {"hs_task_status": "COMPLETED", "hs_task_body": "done"}},
            {"id": "2", "objectWriteTraceId": "2"}
            | {"properties": {"hs_task_status": "CANCELLED", "hs_task_body": "no"}},
        ]
    }


@pytest.mark.usefixtures("sleeps")
def test_read_field_leaves_out_missing_records(rsps: responses.RequestsMock) -> None:
    call = rsps.post(
        f"{BASE}/companies/batch/read",
        status=207,
        json={
            "results": [
                {"id": "1", "properties": {"cs_tags": "promoter;vip"}},
                {"id": "2", "properties": {"cs_tags": ""}},
            ],
            "errors": [{"category": "OBJECT_NOT_FOUND", "context": {"ids": ["3"]}}],
        },
    )
    assert writer().read_field(["1", "2", "3"], "cs_tags") == {"1": "promoter;vip", "2": None}
    assert sent(call.calls[0]) == {
        "properties": ["cs_tags"],
        "inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}],
    }


@pytest.mark.usefixtures("sleeps")
def test_bulk_update_batches_and_keeps_a_rejected_batch_as_failures(
    rsps: responses.RequestsMock,
) -> None:
    updates = [RecordUpdate(str(i), {"cs_health_score": i}) for i in range(5)]
    calls = [
        rsps.post(f"{BASE}/companies/batch/update", json={"results": [{"id": "0"}, {"id": "1"}]}),
        rsps.post(f"{BASE}/companies/batch/update", status=400, json={"message": "bad batch"}),
        rsps.post(f"{BASE}/companies/batch/update", json={"results": [{"id": "4"}]}),
    ]
    results = writer(batch_size=2).bulk_update(updates)
    assert [len(sent(c.calls[0])["inputs"]) for c in calls] == [2, 2, 1]
    assert [r.ok for r in results] == [True, True, False, False, True]
    assert results[2].error == "BATCH_REJECTED: companies batch update: bad batch"


def test_factory_caps_the_batch_size_and_names_a_missing_source() -> None:
    settings = Settings(
        sources={"hubspot": HUBSPOT.model_dump(mode="python")},
        crm={"targets": ["hubspot"], "hubspot": {"batch_size": 500}},
    )
    assert hubspot_writer(settings).batch_size == 100
    with pytest.raises(CsbridgeError, match=r"sources\.hubspot is missing"):
        hubspot_writer(Settings())
    # one behaviour: the API's maximum caps any larger batch size, however it is given
    assert HubspotWriter(hubspot_client(HUBSPOT, HTTP), MAPPING, batch_size=101).batch_size == 100


# -- real HTTP against the sandbox --------------------------------------------------------


def create_properties(sandbox: Sandbox) -> None:
    """The properties the writer writes, created through the properties API."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer pat-sandbox-token"
    api = f"{sandbox.urls['hubspot']}/crm/v3/properties"
    group = {"name": "csbridge", "label": "csbridge", "displayOrder": 5}
    for kind in ("companies", "tasks"):
        assert session.post(f"{api}/{kind}/groups", json=group).status_code == 201

    def options(*values: str) -> list[dict[str, Any]]:
        return [{"label": v, "value": v, "displayOrder": i} for i, v in enumerate(values)]

    shapes = {
        "number": {"type": "number", "fieldType": "number"},
        "text": {"type": "string", "fieldType": "textarea"},
        "datetime": {"type": "datetime", "fieldType": "date"},
        "boolean": {
            "type": "bool",
            "fieldType": "booleancheckbox",
            "options": options("true", "false"),
        },
        "picklist": {
            "type": "enumeration",
            "fieldType": "select",
            "options": options(
                "healthy",
                "neutral",
                "at_risk",
                "promoter",
                "passive",
                "detractor",
                "smb",
                "mid",
                "enterprise",
            ),
        },
        "multipicklist": {
            "type": "enumeration",
            "fieldType": "checkbox",
            "options": options("promoter", "detractor", "churn_risk", "expansion"),
        },
    }
    for spec in MAPPING.write.values():
        body = {
            "name": spec.api_name,
            "label": spec.label,
            "groupName": "csbridge",
            **shapes[spec.type],
        }
        answer = session.post(f"{api}/companies", json=body)
        assert answer.status_code == 201, answer.text
    key = {"name": "csbridge_task_key", "label": "csbridge key", "groupName": "csbridge"}
    answer = session.post(f"{api}/tasks", json={**key, **shapes["text"], "fieldType": "text"})
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=250, seed=11, vendors=("hubspot",)) as sb:
        create_properties(sb)
        yield sb


def live(sandbox: Sandbox, accounting: CallAccounting | None = None) -> HubspotWriter:
    return hubspot_writer(Settings(**sandbox.config()), accounting)


def read_back(sandbox: Sandbox, ids: list[str], props: list[str]) -> dict[str, dict[str, Any]]:
    """The companies as HubSpot's own batch read returns them."""
    answer = requests.post(
        f"{sandbox.urls['hubspot']}/crm/v3/objects/companies/batch/read",
        headers={"Authorization": "Bearer pat-sandbox-token"},
        json={"properties": props, "inputs": [{"id": i} for i in ids]},
        timeout=10,
    )
    assert answer.status_code == 200
    return {r["id"]: r["properties"] for r in answer.json()["results"]}


def test_sandbox_update_then_read_back(sandbox: Sandbox) -> None:
    ids = [a.hubspot_id for a in sandbox.world.accounts[:3]]
    w = live(sandbox)
    results = w.update_records(
        [
            RecordUpdate(
                ids[0],
                {
                    "cs_health_score": 81.5,
                    "cs_health_status": "healthy",
                    "cs_tags": "promoter;expansion",
                    "cs_marketing_paused": True,
                    "cs_health_updated": "2026-11-23T09:30:00Z",
                },
            ),
            RecordUpdate(ids[1], {"cs_health_score": 12, "cs_health_status": "no_such_option"}),
            RecordUpdate("99999999", {"cs_health_score": 1}),
        ]
    )
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].error is not None and results[1].error.startswith("VALIDATION_ERROR")
    assert results[2].error is not None and results[2].error.startswith("OBJECT_NOT_FOUND")
    props = ["cs_health_score", "cs_health_status", "cs_tags", "cs_marketing_paused"]
    back = read_back(sandbox, ids[:2], [*props, "cs_health_updated"])
    assert {p: back[ids[0]].get(p) for p in props} == {
        "cs_health_score": "81.5",
        "cs_health_status": "healthy",
        "cs_tags": "promoter;expansion",
        "cs_marketing_paused": "true",
    }
    assert back[ids[0]]["cs_health_updated"].startswith("2026-11-23T09:30:00")
    assert back[ids[1]].get("cs_health_score") in (None, "")  # its batch-mate's failure only
    assert w.read_field(ids, "cs_tags") == {
        ids[0]: "promoter;expansion",
        ids[1]: None,
        ids[2]: None,
    }
    # None clears
    assert w.update_records([RecordUpdate(ids[0], {"cs_tags": None})])[0].ok
    assert w.read_field([ids[0]], "cs_tags") == {ids[0]: None}


def test_sandbox_create_tasks_then_find_exactly_them(sandbox: Sandbox) -> None:
    accounts = sandbox.world.accounts[3:6]
    owner = sandbox.world.owners[0].hubspot_id
    w = live(sandbox)
    tasks = [
        TaskCreate(
            f"{a.domain}:detractor:2026-11",
            a.hubspot_id,
            f"Call {a.name}",
            "NPS 2",
            date(2026, 12, 1),
            owner,
        )
        for a in accounts
    ]
    results = w.create_tasks(tasks)
    assert all(r.ok and r.id for r in results), results
    wanted = [t.key for t in tasks]
    found = w.find_tasks([*wanted, "nobody:rule:2026-11"])
    assert found == {r.ref: r.id for r in results}
    answer = requests.get(
        f"{sandbox.urls['hubspot']}/crm/v3/objects/tasks/{results[0].id}",
        headers={"Authorization": "Bearer pat-sandbox-token"},
        params={
            "properties": "hs_timestamp,hs_task_subject,hubspot_owner_id,csbridge_task_key",
            "associations": "companies",
        },
        timeout=10,
    ).json()
    assert answer["properties"]["hs_timestamp"].startswith("2026-12-01T00:00:00")
    assert answer["properties"]["hubspot_owner_id"] == owner
    assert answer["properties"]["csbridge_task_key"] == wanted[0]
    linked = answer["associations"]["companies"]["results"]
    assert [x["id"] for x in linked] == [accounts[0].hubspot_id]


def test_sandbox_bulk_update_of_more_than_200_companies(sandbox: Sandbox) -> None:
    accounts = sandbox.world.accounts[10:240]
    calls = CallAccounting()
    w = live(sandbox, calls)
    updates = [RecordUpdate(a.hubspot_id, {"cs_health_score": i}) for i, a in enumerate(accounts)]
    results = w.bulk_update(updates)
    assert len(results) == 230 and all(r.ok for r in results)
    assert calls.count() == 3  # 100 + 100 + 30
    back = read_back(sandbox, [u.record_id for u in updates[:100]], ["cs_health_score"])
    assert {i: back[u.record_id]["cs_health_score"] for i, u in enumerate(updates[:100])} == {
        i: str(i) for i in range(100)
    }


# -- sandbox faults (/_sandbox/faults) ----------------------------------------------------


def arm(sandbox: Sandbox, *faults: dict[str, Any]) -> None:
    answer = requests.post(
        f"{sandbox.urls['hubspot']}/_sandbox/faults", json=list(faults), timeout=5
    )
    assert answer.status_code == 201, answer.text


def stats(sandbox: Sandbox) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(
        f"{sandbox.urls['hubspot']}/_sandbox/stats", timeout=5
    ).json()
    return answer


def test_sandbox_timeout_after_commit_is_unknown_and_the_task_is_found_once(
    sandbox: Sandbox,
) -> None:
    config = sandbox.config()
    config["http"] = {"read_timeout": 0.3}
    w = hubspot_writer(Settings(**config))
    account = sandbox.world.accounts[7]
    task = TaskCreate(f"{account.domain}:churn_risk:2026-11", account.hubspot_id, "Churn risk")
    route = "POST /crm/v3/objects/tasks/batch/create"
    before = stats(sandbox)["by_route"].get(route, 0)
    arm(sandbox, {"kind": "timeout_after_commit", "match": route, "delay": 1.0})
    with pytest.raises(UnknownOutcomeError):
        w.create_tasks([task])
    assert stats(sandbox)["by_route"].get(route, 0) == before + 1  # never resent
    found = w.find_tasks([task.key])
    assert list(found) == [task.key]


def test_sandbox_429_storm_then_the_update_lands_and_a_rejected_record_fails_alone(
    sandbox: Sandbox, sleeps: list[float]
) -> None:
    ids = [a.hubspot_id for a in sandbox.world.accounts[240:243]]
    arm(
        sandbox,
        {
            "kind": "status",
            "status": 429,
            "count": 3,
            "match": "POST /crm/v3/objects/companies/batch/update",
        },
        {"kind": "reject_record", "object": "companies", "id": ids[1], "count": 1},
    )
    results = live(sandbox).update_records([RecordUpdate(i, {"cs_health_score": 44}) for i in ids])
    assert [r.ok for r in results] == [True, False, True]
    assert len(sleeps) == 3  # three 429s waited out, then one answer
    assert results[1].error is not None and results[1].error.startswith("VALIDATION_ERROR: ")
    back = read_back(sandbox, ids, ["cs_health_score"])
    assert [back[i].get("cs_health_score") for i in ids] == ["44", None, "44"]
