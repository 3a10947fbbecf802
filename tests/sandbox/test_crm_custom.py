"""What csbridge's CRM write-back needs from the emulators, through the real SDKs: a custom
task key property found by HubSpot search (EQ and IN), batch-created tasks with that
property and a company association; on Salesforce a Task key field made through the
Tooling API (on Activity, as a real org wants) queried with IN, a restricted
multi-select tags field (a value added later through a Tooling PATCH) and a checkbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
)
from hubspot.crm.properties import PropertyCreate
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import build_world

NOW = datetime(2026, 11, 23, tzinfo=UTC)
WORLD = build_world(accounts=12, seed=5, now=NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(vendors=("salesforce", "hubspot"), world=WORLD) as box:
        yield box


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_cert_path)
    return Salesforce(
        instance_url=sandbox.urls["salesforce"], session_id="sandbox-session", session=session
    )


@pytest.fixture(scope="module")
def hubspot(sandbox: Sandbox) -> Any:
    client = HubSpot(access_token="pat-na1-sandbox", host=sandbox.urls["hubspot"])
    client.crm.properties.groups_api.create(
        object_type="tasks", property_group_create={"name": "csbridge", "label": "csbridge"}
    )
    client.crm.properties.core_api.create(
        object_type="tasks",
        property_create=PropertyCreate(
            name="csbridge_task_key",
            label="csbridge task key",
            type="string",
            field_type="text",
            group_name="csbridge",
        ),
    )
    return client


def _task(key: str, company_id: str) -> SimplePublicObjectBatchInputForCreate:
    return SimplePublicObjectBatchInputForCreate(
        properties={
            "hs_timestamp": "2026-11-24T00:00:00Z",
            "hs_task_subject": f"Follow up {key}",
            "csbridge_task_key": key,
        },
        associations=[
            PublicAssociationsForObject(
                to=PublicObjectId(id=company_id),
                types=[
                    AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=192)
                ],
            )
        ],
    )


def _search(hubspot: Any, flt: Filter) -> dict[str, str]:
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[flt])], properties=["csbridge_task_key"], limit=100
    )
    page = hubspot.crm.objects.tasks.search_api.do_search(public_object_search_request=request)
    assert page.paging is None
    return {r.properties["csbridge_task_key"]: r.id for r in page.results}


def test_hubspot_batch_created_tasks_carry_the_key_and_the_company(hubspot: Any) -> None:
    company = WORLD.accounts[0].hubspot_id
    keys = ["acct-1:churn:2026-11", "acct-1:renewal-90:2026-11", "acct-2:promoter:2026-11"]
    made = hubspot.crm.objects.tasks.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=[_task(k, company) for k in keys])
    )
    assert made.status == "COMPLETE" and len(made.results) == 3
    assert sorted(r.properties["csbridge_task_key"] for r in made.results) == sorted(keys)
    linked = hubspot.crm.associations.v4.basic_api.get_page(
        object_type="tasks", object_id=made.results[0].id, to_object_type="companies"
    )
    assert [(str(r.to_object_id), r.association_types[0].type_id) for r in linked.results] == [
        (company, 192)
    ]
    one = _search(hubspot, Filter(property_name="csbridge_task_key", operator="EQ", value=keys[1]))
    assert list(one) == [keys[1]]
    wanted = [keys[0], keys[2], "acct-9:never:2026-11"]
    several = _search(
        hubspot, Filter(property_name="csbridge_task_key", operator="IN", values=wanted)
    )
    assert sorted(several) == sorted([keys[0], keys[2]])
    by_id = {r.properties["csbridge_task_key"]: r.id for r in made.results}
    assert several == {k: by_id[k] for k in several}


def test_hubspot_unknown_task_property_is_refused_per_batch(hubspot: Any) -> None:
    from hubspot.crm.objects.tasks.exceptions import ApiException

    bad = _task("x", WORLD.accounts[1].hubspot_id)
    bad.properties["csbridge_task_kee"] = "typo"
    with pytest.raises(ApiException) as info:
        hubspot.crm.objects.tasks.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(inputs=[bad])
        )
    assert info.value.status == 400 and "PROPERTY_DOESNT_EXIST" in info.value.body
    none = _search(hubspot, Filter(property_name="csbridge_task_key", operator="EQ", value="x"))
    assert none == {}


def test_salesforce_task_key_field_is_made_on_activity_and_queried_with_in(
    sf: Salesforce,
) -> None:
    meta = {"label": "csbridge key", "type": "Text", "length": 120, "externalId": True}
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.toolingexecute(
            "sobjects/CustomField/",
            method="POST",
            data={"FullName": "Task.Csbridge_Key__c", "Metadata": meta},
        )
    assert "Activity.Csbridge_Key__c" in info.value.content[0]["message"]
    made = sf.toolingexecute(
        "sobjects/CustomField/",
        method="POST",
        data={"FullName": "Activity.Csbridge_Key__c", "Metadata": meta},
    )
    assert made["success"] is True
    listed = sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName,TableEnumOrId+FROM+CustomField"
        "+WHERE+TableEnumOrId+=+'Activity'"
    )
    assert [r["DeveloperName"] for r in listed["records"]] == ["Csbridge_Key"]
    account = WORLD.accounts[2].salesforce_id
    records = [
        {"attributes": {"type": "Task"}, "Subject": k, "WhatId": account, "Csbridge_Key__c": k}
        for k in ("a", "b", "c")
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert [r["success"] for r in results] == [True, True, True]
    rows = sf.query_all("SELECT Id, Csbridge_Key__c FROM Task WHERE Csbridge_Key__c IN ('a','b')")
    assert sorted(r["Csbridge_Key__c"] for r in rows["records"]) == ["a", "b"]
    assert {r["Id"] for r in rows["records"]} <= {r["id"] for r in results}


def _field(sf: Salesforce, name: str, meta: dict[str, Any]) -> None:
    made = sf.toolingexecute(
        "sobjects/CustomField/", method="POST", data={"FullName": name, "Metadata": meta}
    )
    assert made["success"] is True


def _values(*names: str) -> dict[str, Any]:
    return {"value": [{"fullName": n, "default": False, "label": n} for n in names]}


def test_salesforce_tags_multiselect_is_checked_against_its_value_set(sf: Salesforce) -> None:
    _field(
        sf,
        "Account.CS_Tags__c",
        {
            "label": "CS Tags",
            "type": "MultiselectPicklist",
            "visibleLines": 4,
            "valueSet": {"restricted": True, "valueSetDefinition": _values("Promoter", "At Risk")},
        },
    )
    first, second = WORLD.accounts[3].salesforce_id, WORLD.accounts[4].salesforce_id
    sf.Account.update(first, {"CS_Tags__c": "Promoter;At Risk"})
    sf.Account.update(second, {"CS_Tags__c": "At Risk"})
    assert sf.Account.get(first)["CS_Tags__c"] == "Promoter;At Risk"
    hits = sf.query_all("SELECT Id FROM Account WHERE CS_Tags__c includes ('Promoter')")
    assert [r["Id"] for r in hits["records"]] == [first]
    both = sf.query_all("SELECT Id FROM Account WHERE CS_Tags__c includes ('Promoter;At Risk')")
    assert [r["Id"] for r in both["records"]] == [first]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.update(second, {"CS_Tags__c": "At Risk;Fan"})
    error = info.value.content[0]
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["CS_Tags__c"] and "Fan" in error["message"]
    assert sf.Account.get(second)["CS_Tags__c"] == "At Risk"
    found = sf.toolingexecute(
        "query/?q=SELECT+Id+FROM+CustomField+WHERE+DeveloperName+=+'CS_Tags'"
        "+AND+TableEnumOrId+=+'Account'"
    )
    path = f"sobjects/CustomField/{found['records'][0]['Id']}"
    meta = sf.toolingexecute(path)["Metadata"]
    meta["valueSet"]["valueSetDefinition"]["value"].append({"fullName": "Fan", "label": "Fan"})
    sf.toolingexecute(path, method="PATCH", data={"Metadata": meta})
    sf.Account.update(second, {"CS_Tags__c": "At Risk;Fan"})  # the added value now lands
    assert sf.Account.get(second)["CS_Tags__c"] == "At Risk;Fan"
    values = {f["name"]: f for f in sf.Account.describe()["fields"]}["CS_Tags__c"]
    assert [v["value"] for v in values["picklistValues"]] == ["Promoter", "At Risk", "Fan"]
    meta["type"] = "Picklist"
    with pytest.raises(SalesforceMalformedRequest):
        sf.toolingexecute(path, method="PATCH", data={"Metadata": meta})
    _field(
        sf,
        "Account.Loose_Tags__c",
        {
            "label": "Loose",
            "type": "MultiselectPicklist",
            "visibleLines": 3,
            "valueSet": {"valueSetDefinition": _values("One")},
        },
    )
    sf.Account.update(second, {"Loose_Tags__c": "One;Other"})  # unrestricted: API may add values
    assert sf.Account.get(second)["Loose_Tags__c"] == "One;Other"
    sf.Account.update(second, {"CS_Tags__c": None, "Loose_Tags__c": ""})  # both clear
    row = sf.Account.get(second)
    assert (row["CS_Tags__c"], row["Loose_Tags__c"]) == (None, None)


def test_salesforce_checkbox_defaults_false_and_is_never_null(sf: Salesforce) -> None:
    _field(
        sf,
        "Account.Marketing_Paused__c",
        {"label": "Marketing Paused", "type": "Checkbox", "defaultValue": "false"},
    )
    account = WORLD.accounts[5].salesforce_id
    assert sf.Account.get(account)["Marketing_Paused__c"] is False
    sf.Account.update(account, {"Marketing_Paused__c": True})
    paused = sf.query_all("SELECT Id FROM Account WHERE Marketing_Paused__c = true")
    assert [r["Id"] for r in paused["records"]] == [account]
    sf.Account.update(account, {"Marketing_Paused__c": None})
    assert sf.Account.get(account)["Marketing_Paused__c"] is False
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.update(account, {"Marketing_Paused__c": "yes"})
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    unpaused = sf.query("SELECT COUNT() FROM Account WHERE Marketing_Paused__c = false")
    assert unpaused["totalSize"] == len(WORLD.accounts)
