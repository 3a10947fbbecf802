"""HubSpot emulator routes over real HTTP: auth, list paging, get, writes, batch, search,
properties, associations, owners and the TEN_SECONDLY_ROLLING limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from test_salesforce_api import serve

from csbridge_sandbox.hubspot.app import make_app
from csbridge_sandbox.world.build import build_world

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WORLD = build_world(accounts=40, seed=13, now=NOW)
AUTH = {"Authorization": "Bearer pat-na1-sandbox"}
OBJ = "/crm/v3/objects"


class Hs:
    """requests against one emulator with the bearer header set."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(AUTH)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=10)

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=10)

    def put(self, path: str, body: Any = None) -> requests.Response:
        return self.session.put(self.base + path, json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10)


@pytest.fixture(scope="module")
def hs() -> Iterator[Hs]:
    with serve(make_app(WORLD)) as base:
        yield Hs(base)


def test_missing_token_gets_the_401_body_and_headers_are_sent(hs: Hs) -> None:
    resp = requests.get(hs.base + f"{OBJ}/companies", timeout=10)
    assert resp.status_code == 401
    body = resp.json()
    assert (body["status"], body["category"]) == ("error", "INVALID_AUTHENTICATION")
    assert body["message"].startswith("Authentication credentials not found")
    assert body["correlationId"]
    ok = hs.get(f"{OBJ}/companies")
    assert ok.headers["x-hubspot-ratelimit-max"] == "190"
    assert ok.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
    assert int(ok.headers["x-hubspot-ratelimit-daily-remaining"]) < 1_000_000


def test_list_pages_with_after_to_the_end_and_both_properties_forms(hs: Hs) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7, "properties": ["name", "domain,arr"]}
    pages = 0
    while True:
        body = hs.get(f"{OBJ}/companies", params=params).json()
        pages += 1
        seen += [r["id"] for r in body["results"]]
        assert set(body["results"][0]["properties"]) >= {"name", "domain", "arr", "hs_object_id"}
        if "paging" not in body:
            break
        assert body["paging"]["next"]["link"].startswith(hs.base)
        params["after"] = body["paging"]["next"]["after"]
    assert seen == sorted(a.hubspot_id for a in WORLD.accounts)
    assert pages == -(-len(WORLD.accounts) // 7)


def test_get_by_id_and_id_property_and_associations(hs: Hs) -> None:
    contact = WORLD.contacts[0]
    got = hs.get(f"{OBJ}/contacts/{contact.email}", params={"idProperty": "email"}).json()
    assert got["id"] == contact.hubspot_id and got["properties"]["email"] == contact.email
    company = WORLD.accounts_by_key[contact.account_key]
    with_assoc = hs.get(
        f"{OBJ}/companies/{company.hubspot_id}", params={"associations": "contacts"}
    ).json()
    ids = {r["id"] for r in with_assoc["associations"]["contacts"]["results"]}
    assert contact.hubspot_id in ids
    missing = hs.get(f"{OBJ}/companies/1")
    assert (missing.status_code, missing.json()["category"]) == (404, "OBJECT_NOT_FOUND")


def test_feedback_submissions_are_readable_but_read_only(hs: Hs) -> None:
    answer = WORLD.nps_answers[0]
    got = hs.get(
        f"{OBJ}/feedback_submissions/{answer.hubspot_id}",
        params={"properties": "hs_value,hs_survey_type,hs_response_group"},
    ).json()
    assert got["properties"]["hs_value"] == str(answer.score)
    assert got["properties"]["hs_survey_type"] == "NPS"
    assert hs.post(f"{OBJ}/feedback_submissions", {"properties": {}}).status_code == 405
    assert hs.post(f"{OBJ}/feedback_submissions/batch/create", {"inputs": []}).status_code == 405


def test_create_update_archive_status_codes(hs: Hs) -> None:
    created = hs.post(f"{OBJ}/companies", {"properties": {"name": "New Co", "arr": 1200}})
    assert created.status_code == 201
    company_id = created.json()["id"]
    assert created.json()["properties"]["arr"] == "1200"
    updated = hs.patch(f"{OBJ}/companies/{company_id}", {"properties": {"plan": "growth"}})
    assert (updated.status_code, updated.json()["properties"]["plan"]) == (200, "growth")
    assert hs.delete(f"{OBJ}/companies/{company_id}").status_code == 204
    assert hs.delete(f"{OBJ}/companies/{company_id}").status_code == 204
    assert hs.get(f"{OBJ}/companies/{company_id}").status_code == 404
    archived = hs.get(f"{OBJ}/companies", params={"archived": "true"}).json()["results"]
    assert [r["id"] for r in archived] == [company_id] and archived[0]["archived"] is True


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"nope": "1"}, "PROPERTY_DOESNT_EXIST"),
        ({"plan": "platinum"}, "INVALID_OPTION"),
        ({"arr": "lots"}, "INVALID_DECIMAL"),
        ({"arr": " 5"}, "INVALID_NUMBER"),
        ({"renewal_date": "2026-01-01T10:00:00Z"}, "INVALID_DATE"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
    ],
)
def test_write_validation_is_a_400_validation_error(
    hs: Hs, props: dict[str, str], error: str
) -> None:
    resp = hs.patch(f"{OBJ}/companies/{WORLD.accounts[0].hubspot_id}", {"properties": props})
    assert resp.status_code == 400
    body = resp.json()
    assert body["category"] == "VALIDATION_ERROR" and error in body["message"]
    assert body["message"].startswith("Property values were not valid: ")


def test_batch_limits_and_partial_failures(hs: Hs) -> None:
    too_many = hs.post(
        f"{OBJ}/companies/batch/update",
        {"inputs": [{"id": str(i), "properties": {}} for i in range(101)]},
    )
    assert too_many.status_code == 400
    assert too_many.json()["message"].startswith(
        "The maximum number of inputs supported in a batch is 100"
    )
    ids = [a.hubspot_id for a in WORLD.accounts[:2]]
    update = hs.post(
        f"{OBJ}/companies/batch/update",
        {
            "inputs": [
                {"id": ids[0], "properties": {"plan": "enterprise"}},
                {"id": "123", "properties": {}},
            ]
        },
    )
    assert update.status_code == 207
    body = update.json()
    assert body["numErrors"] == 1 and body["errors"][0]["context"] == {"ids": ["123"]}
    assert [r["id"] for r in body["results"]] == [ids[0]]
    read = hs.post(
        f"{OBJ}/companies/batch/read", {"properties": ["plan"], "inputs": [{"id": ids[0]}]}
    )
    assert (
        read.status_code == 200 and read.json()["results"][0]["properties"]["plan"] == "enterprise"
    )
    history = hs.post(
        f"{OBJ}/companies/batch/read",
        {"propertiesWithHistory": ["plan"], "inputs": [{"id": str(i)} for i in range(51)]},
    )
    assert history.status_code == 400
    multi = hs.post(
        f"{OBJ}/companies/batch/create",
        {
            "inputs": [
                {"properties": {"name": "A"}, "objectWriteTraceId": "t1"},
                {"properties": {"plan": "x"}, "objectWriteTraceId": "t2"},
            ]
        },
    )
    assert multi.status_code == 207
    assert multi.json()["errors"][0]["context"] == {"objectWriteTraceId": ["t2"]}
    plain = hs.post(f"{OBJ}/companies/batch/create", {"inputs": [{"properties": {"name": "B"}}]})
    assert plain.status_code == 201


def test_custom_property_enumeration_checkbox_and_upsert(hs: Hs) -> None:
    group = hs.post(
        "/crm/v3/properties/companies/groups", {"name": "csbridge", "label": "csbridge"}
    )
    assert group.status_code == 201
    spec = {
        "name": "cs_tags",
        "label": "CS tags",
        "type": "enumeration",
        "fieldType": "checkbox",
        "groupName": "csbridge",
        "options": [
            {"label": "Promoter", "value": "Promoter"},
            {"label": "Reference", "value": "Reference"},
        ],
    }
    assert hs.post("/crm/v3/properties/companies", spec).status_code == 201
    assert hs.post("/crm/v3/properties/companies", spec).status_code == 409
    assert hs.get("/crm/v3/properties/companies/cs_tags").json()["fieldType"] == "checkbox"
    company = WORLD.accounts[5].hubspot_id
    ok = hs.patch(f"{OBJ}/companies/{company}", {"properties": {"cs_tags": "Promoter;Reference"}})
    assert ok.json()["properties"]["cs_tags"] == "Promoter;Reference"
    bad = hs.patch(f"{OBJ}/companies/{company}", {"properties": {"cs_tags": "Promoter;Fan"}})
    assert bad.status_code == 400 and "INVALID_OPTION" in bad.json()["message"]
    key = {
        "name": "csbridge_key",
        "label": "key",
        "type": "string",
        "fieldType": "text",
        "groupName": "csbridge",
        "hasUniqueValue": True,
    }
    assert hs.post("/crm/v3/properties/tasks", {**key, "groupName": "info"}).status_code == 201
    inputs = [
        {
            "id": "acct-1:nps",
            "idProperty": "csbridge_key",
            "properties": {"hs_timestamp": "2026-12-01T00:00:00Z", "hs_task_subject": "x"},
        }
    ]
    first = hs.post(f"{OBJ}/tasks/batch/upsert", {"inputs": inputs}).json()["results"][0]
    second = hs.post(f"{OBJ}/tasks/batch/upsert", {"inputs": inputs}).json()["results"][0]
    assert (first["new"], second["new"], first["id"]) == (True, False, second["id"])


def test_search_filters_sorts_paging_and_limits(hs: Hs) -> None:
    enterprise = sorted(
        (a for a in WORLD.accounts if a.plan == "enterprise"), key=lambda a: a.arr, reverse=True
    )
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "plan", "operator": "EQ", "value": "enterprise"}]}
        ],
        "sorts": [{"propertyName": "arr", "direction": "DESCENDING"}],
        "properties": ["arr"],
        "limit": 2,
    }
    ids: list[str] = []
    while True:
        page = hs.post(f"{OBJ}/companies/search", body).json()
        assert page["total"] >= len(enterprise) - 2
        ids += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        body["after"] = page["paging"]["next"]["after"]
    by_id = {a.hubspot_id: a for a in WORLD.accounts}
    arrs = [by_id[i].arr for i in ids if i in by_id]
    assert arrs == sorted(arrs, reverse=True)
    between = hs.post(
        f"{OBJ}/companies/search",
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "arr",
                            "operator": "BETWEEN",
                            "value": "10000",
                            "highValue": "50000",
                        }
                    ]
                }
            ],
            "limit": 200,
        },
    ).json()
    assert between["total"] == sum(1 for a in WORLD.accounts if 10000 <= a.arr <= 50000)
    domain = WORLD.accounts[3].domain
    token = hs.post(
        f"{OBJ}/companies/search",
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "domain", "operator": "IN", "values": [domain.upper()]}
                    ]
                }
            ]
        },
    ).json()
    assert [r["id"] for r in token["results"]] == [WORLD.accounts[3].hubspot_id]
    too_many = {
        "filterGroups": [{"filters": [{"propertyName": "name", "operator": "HAS_PROPERTY"}]}] * 6
    }
    assert hs.post(f"{OBJ}/companies/search", too_many).status_code == 400
    assert hs.post(f"{OBJ}/companies/search", {"limit": 201}).status_code == 400
    assert hs.post(f"{OBJ}/companies/search", {"limit": 200, "after": "9900"}).status_code == 400


def test_task_associations_inline_and_v4(hs: Hs) -> None:
    company, contact = WORLD.accounts[6], WORLD.contacts_by_account[WORLD.accounts[6].key][0]
    task = hs.post(
        f"{OBJ}/tasks",
        {
            "properties": {"hs_timestamp": "1767225600000"},
            "associations": [
                {
                    "to": {"id": company.hubspot_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
                }
            ],
        },
    )
    assert task.status_code == 201
    task_id = task.json()["id"]
    put = hs.put(
        f"/crm/v4/objects/tasks/{task_id}/associations/default/contacts/{contact.hubspot_id}"
    )
    assert put.status_code == 200
    assert put.json()["results"][0]["associationSpec"]["associationTypeId"] == 204
    to_company = hs.get(f"/crm/v4/objects/tasks/{task_id}/associations/companies").json()
    assert to_company["results"][0]["associationTypes"][0]["typeId"] == 192
    back = hs.get(f"{OBJ}/companies/{company.hubspot_id}", params={"associations": "tasks"}).json()
    assert task_id in {r["id"] for r in back["associations"]["tasks"]["results"]}
    missing_required = hs.post(f"{OBJ}/tasks", {"properties": {"hs_task_subject": "no due"}})
    assert "REQUIRED_PROPERTY" in missing_required.json()["message"]
    bad_target = hs.post(
        f"{OBJ}/tasks",
        {
            "properties": {"hs_timestamp": "1767225600000"},
            "associations": [
                {
                    "to": {"id": "1"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
                }
            ],
        },
    )
    assert bad_target.status_code == 400


def test_owners(hs: Hs) -> None:
    owners = hs.get("/crm/v3/owners/").json()["results"]
    assert len(owners) == len(WORLD.owners) + 1
    one = hs.get(f"/crm/v3/owners/{owners[0]['id']}").json()
    assert one["email"] == owners[0]["email"]
    by_email = hs.get("/crm/v3/owners/", params={"email": owners[1]["email"]}).json()["results"]
    assert [o["id"] for o in by_email] == [owners[1]["id"]]
    assert hs.get("/crm/v3/owners/", params={"archived": "true"}).json()["results"] == []


def test_ten_secondly_rolling_limit_in_realistic_mode() -> None:
    with serve(make_app(WORLD, rate_limits="realistic", ten_second_max=3)) as base:
        client = Hs(base)
        codes = [client.get(f"{OBJ}/companies").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get(f"{OBJ}/companies")
        body = limited.json()
        assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert limited.headers["x-hubspot-ratelimit-remaining"] == "0"
        assert "Retry-After" not in limited.headers
        other = requests.get(
            base + f"{OBJ}/companies", timeout=10, headers={"Authorization": "Bearer another-app"}
        )
        assert other.status_code == 200


def test_daily_and_search_limits_in_realistic_mode() -> None:
    app = make_app(WORLD, rate_limits="realistic", daily_max=2, search_per_second=1, retry_after=1)
    with serve(app) as base:
        client = Hs(base)
        assert client.post(f"{OBJ}/companies/search", {}).status_code == 200
        searched = client.post(f"{OBJ}/companies/search", {})
        assert (searched.status_code, searched.json()["policyName"]) == (429, "SECONDLY")
        assert searched.headers["Retry-After"] == "1"
        assert client.get(f"{OBJ}/companies").status_code == 200
        daily = client.get(f"{OBJ}/companies")
        assert (daily.status_code, daily.json()["policyName"]) == (429, "DAILY")


def test_dated_api_path_aliases_v3(hs: Hs) -> None:
    company = WORLD.accounts[8]
    got = hs.get(f"/crm/objects/2026-03/companies/{company.hubspot_id}").json()
    assert got["properties"]["name"] == company.name


def test_same_seed_gives_the_same_portal() -> None:
    pages = []
    for _ in range(2):
        with serve(make_app(build_world(accounts=20, seed=3, now=NOW))) as base:
            body = Hs(base).get(f"{OBJ}/contacts", params={"limit": 100}).json()
            pages.append(body["results"])
    assert pages[0] == pages[1] and len(pages[0]) > 20


def test_v4_batch_read_associations_and_missing_ones(hs: Hs) -> None:
    contacts = WORLD.contacts[:2]
    resp = hs.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        {"inputs": [{"id": c.hubspot_id} for c in contacts]},
    )
    assert resp.status_code == 200
    rows = {r["from"]["id"]: r["to"] for r in resp.json()["results"]}
    for contact in contacts:
        company = WORLD.accounts_by_key[contact.account_key]
        assert rows[contact.hubspot_id][0]["toObjectId"] == int(company.hubspot_id)
        assert rows[contact.hubspot_id][0]["associationTypes"][0]["typeId"] == 279
    partial = hs.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        {"inputs": [{"id": contacts[0].hubspot_id}, {"id": "5"}]},
    )
    assert partial.status_code == 207
    error = partial.json()["errors"][0]
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["context"]["fromObjectId"] == ["5"]


def test_owner_ids_are_checked_and_bad_associations_create_nothing(hs: Hs) -> None:
    task = {"hs_timestamp": "1767225600000", "hs_task_subject": "owner check"}
    bad_owner = hs.post(f"{OBJ}/tasks", {"properties": {**task, "hubspot_owner_id": "999"}})
    assert bad_owner.status_code == 400 and "INVALID_OWNER_ID" in bad_owner.json()["message"]
    good = {**task, "hubspot_owner_id": WORLD.owners[0].hubspot_id}
    assert hs.post(f"{OBJ}/tasks", {"properties": good}).status_code == 201
    spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]
    before = hs.post(f"{OBJ}/tasks/search", {"limit": 1}).json()["total"]
    batch = hs.post(
        f"{OBJ}/tasks/batch/create",
        {
            "inputs": [
                {
                    "properties": task,
                    "associations": [{"to": {"id": WORLD.accounts[0].hubspot_id}, "types": spec}],
                },
                {"properties": task, "associations": [{"to": {"id": "1"}, "types": spec}]},
            ]
        },
    )
    assert batch.status_code == 400
    assert hs.post(f"{OBJ}/tasks/search", {"limit": 1}).json()["total"] == before


def test_search_index_lag_hides_fresh_objects_from_search_only() -> None:
    with serve(make_app(WORLD, search_lag=0.3)) as base:
        client = Hs(base)
        made = client.post(f"{OBJ}/companies", {"properties": {"name": "Fresh Co"}}).json()
        query = {
            "filterGroups": [
                {"filters": [{"propertyName": "name", "operator": "EQ", "value": "Fresh Co"}]}
            ]
        }
        assert client.post(f"{OBJ}/companies/search", query).json()["total"] == 0
        assert client.get(f"{OBJ}/companies/{made['id']}").status_code == 200
        time.sleep(0.35)
        assert client.post(f"{OBJ}/companies/search", query).json()["total"] == 1
