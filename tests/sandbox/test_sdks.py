"""The real SDKs against the emulators over real HTTP, with nothing changed but the address:
simple-salesforce through a requests.Session trusting the sandbox CA (it forces https://),
hubspot-api-client through `host=`. Paging is driven to the last page."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.companies.exceptions import ApiException
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import build_world

NOW = datetime(2026, 11, 23, tzinfo=UTC)
# ~4 contacts per account: well over 2,000 Contact rows, so query_all needs several pages.
WORLD = build_world(accounts=600, seed=21, now=NOW)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, vendors=("salesforce", "hubspot"), world=WORLD) as box:
        yield box


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> Salesforce:
    return Salesforce(
        instance_url=sandbox.urls["salesforce"],
        session_id="sandbox-session",
        session=_trusting_session(sandbox),
    )


def _trusting_session(sandbox: Sandbox) -> requests.Session:
    """A session that trusts the sandbox CA. `trust_env = False` matters: with
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE set, requests ignores `session.verify`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_cert_path)
    return session


@pytest.fixture(scope="module")
def hubspot(sandbox: Sandbox) -> Any:
    return HubSpot(access_token="pat-na1-sandbox", host=sandbox.urls["hubspot"])


def test_salesforce_query_all_walks_every_page(sf: Salesforce, sandbox: Sandbox) -> None:
    assert len(WORLD.contacts) > 2000
    first = sf.query("SELECT Id FROM Contact")
    assert first["done"] is False and len(first["records"]) == 2000
    result = sf.query_all("SELECT Id, Email, Account.Name, Owner.Email FROM Contact")
    assert result["totalSize"] == len(WORLD.contacts) == len(result["records"])
    assert {r["Id"] for r in result["records"]} == {c.salesforce_id for c in WORLD.contacts}
    names = {a.key: a.name for a in WORLD.accounts}
    by_id = {r["Id"]: r for r in result["records"]}
    sample = WORLD.contacts[1234]
    assert by_id[sample.salesforce_id]["Account"]["Name"] == names[sample.account_key]
    assert sf.api_usage["api-usage"].used >= 3


def test_salesforce_sobject_create_update_get_and_errors(sf: Salesforce) -> None:
    account = WORLD.accounts[0]
    created = sf.Task.create(
        {
            "Subject": "Detractor follow-up",
            "WhatId": account.salesforce_id,
            "ActivityDate": "2026-11-24",
            "Priority": "High",
        }
    )
    assert created["success"] is True
    assert sf.Task.update(created["id"], {"Status": "In Progress"}) == 204
    task = sf.Task.get(created["id"])
    assert (task["Status"], task["AccountId"]) == ("In Progress", account.salesforce_id)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Account"},
                    "id": account.salesforce_id,
                    "Description": "ok",
                },
                {"attributes": {"type": "Account"}, "id": "001bad", "Description": "x"},
            ],
        },
    )
    assert [r["success"] for r in results] == [True, False]
    assert results[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Account GROUP BY Name")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_salesforce_content_note_linked_to_an_account(sf: Salesforce) -> None:
    account = WORLD.accounts[1].salesforce_id
    html = "<h1>Review &amp; plan</h1><p>Usage up</p>"
    note = sf.ContentNote.create(
        {"Title": "Review", "Content": base64.b64encode(html.encode()).decode()}
    )
    assert note["id"].startswith("069")  # a note is a ContentDocument
    link = {"ContentDocumentId": note["id"], "LinkedEntityId": account, "ShareType": "I"}
    assert sf.ContentDocumentLink.create(link)["success"] is True
    with pytest.raises(SalesforceMalformedRequest) as twice:
        sf.ContentDocumentLink.create(link)
    assert twice.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    row = sf.query(
        "SELECT ContentDocumentId, Visibility, ContentDocument.Title, ContentDocument.FileType "
        f"FROM ContentDocumentLink WHERE LinkedEntityId = '{account}'"
    )["records"][0]
    assert (row["ContentDocument"]["Title"], row["ContentDocument"]["FileType"]) == (
        "Review",
        "SNOTE",
    )
    assert row["Visibility"] == "InternalUsers"  # the default
    stored = sf.query(f"SELECT TextPreview, Content FROM ContentNote WHERE Id = '{note['id']}'")
    record = stored["records"][0]
    assert record["TextPreview"] == "Review & plan Usage up"
    url = f"https://{sf.sf_instance}{record['Content']}"  # the blob's URL, as Salesforce gives
    blob = sf.session.get(url, headers=sf.headers, timeout=10)
    assert blob.content.decode() == html
    with pytest.raises(SalesforceMalformedRequest) as unfiltered:
        sf.query("SELECT Id FROM ContentDocumentLink")
    assert "requires a filter" in unfiltered.value.content[0]["message"]
    # all or none: a refused link rolls its note back
    base = f"/services/data/v{sf.sf_version}/sobjects"
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{base}/ContentNote",
                    "referenceId": "n",
                    "body": {"Title": "Rolled back", "Content": "aGk="},
                },
                {
                    "method": "POST",
                    "url": f"{base}/ContentDocumentLink",
                    "referenceId": "l",
                    "body": {
                        "ContentDocumentId": "@{n.id}",
                        "LinkedEntityId": account,
                        "ShareType": "X",
                    },
                },
            ],
        },
    )
    codes = [r["httpStatusCode"] for r in answer["compositeResponse"]]
    assert codes == [400, 400]
    gone = sf.query("SELECT Id FROM ContentNote WHERE Title = 'Rolled back'")
    assert gone["totalSize"] == 0


def test_salesforce_tooling_custom_field_then_describe(sf: Salesforce) -> None:
    made = sf.toolingexecute(
        "sobjects/CustomField/",
        method="POST",
        data={
            "FullName": "Account.CS_Tags__c",
            "Metadata": {
                "label": "CS Tags",
                "type": "MultiselectPicklist",
                "visibleLines": 4,
                "valueSet": {
                    "restricted": True,
                    "valueSetDefinition": {
                        "value": [
                            {"fullName": "Promoter", "default": False, "label": "Promoter"},
                            {"fullName": "Reference", "default": False, "label": "Reference"},
                        ]
                    },
                },
            },
        },
    )
    assert made["success"] is True
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["CS_Tags__c"]["type"] == "multipicklist"
    account = WORLD.accounts[1].salesforce_id
    sf.Account.update(account, {"CS_Tags__c": "Promoter;Reference"})
    hits = sf.query_all("SELECT Id FROM Account WHERE CS_Tags__c includes ('Reference')")
    assert [r["Id"] for r in hits["records"]] == [account]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.update(account, {"CS_Tags__c": "Fan"})


def test_salesforce_bulk2_insert_and_failed_records(sf: Salesforce) -> None:
    account = WORLD.accounts[2].salesforce_id
    records = [
        {"LastName": f"Bulk{i}", "Email": f"bulk{i}@example.com", "AccountId": account}
        for i in range(5)
    ] + [{"LastName": "", "Email": "x@example.com", "AccountId": account}]
    result = sf.bulk2.Contact.insert(records=records, wait=0.05)
    assert result[0]["numberRecordsProcessed"] == 6 and result[0]["numberRecordsFailed"] == 1
    failed = sf.bulk2.Contact.get_failed_records(result[0]["job_id"])
    assert "REQUIRED_FIELD_MISSING" in failed and "x@example.com" in failed
    made = sf.query_all(
        f"SELECT Id FROM Contact WHERE AccountId = '{account}' AND LastName LIKE 'Bulk%'"
    )
    assert made["totalSize"] == 5


def test_salesforce_quota_refusal_maps_to_refused_request() -> None:
    with run_sandbox(
        port_base=0, vendors=("salesforce",), world=build_world(accounts=5, seed=1, now=NOW)
    ) as box:
        box.apps["salesforce"].state.usage.limit = 2
        box.apps["salesforce"].state.usage.enforce = True
        client = Salesforce(
            instance_url=box.urls["salesforce"], session_id="s", session=_trusting_session(box)
        )
        client.query("SELECT Id FROM Account")
        client.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as info:
            client.query("SELECT Id FROM Account")
        assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_hubspot_get_all_walks_every_page(hubspot: Any) -> None:
    companies = hubspot.crm.companies.get_all(properties=["name", "domain", "arr"])
    assert len(companies) == len(WORLD.accounts)
    domains = {c.properties["domain"] for c in companies}
    assert domains == {a.domain for a in WORLD.accounts}
    contacts = hubspot.crm.contacts.get_all()
    assert len(contacts) == len(WORLD.contacts)


def test_hubspot_batch_update_search_and_partial_failure(hubspot: Any) -> None:
    ids = [a.hubspot_id for a in WORLD.accounts[:3]]
    batch = hubspot.crm.companies.batch_api
    done = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"plan": "enterprise"}) for i in ids
            ]
        )
    )
    assert done.status == "COMPLETE" and {r.id for r in done.results} == set(ids)
    partial = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"plan": "growth"}),
                SimplePublicObjectBatchInput(id="42", properties={"plan": "growth"}),
            ]
        )
    )
    assert partial.num_errors == 1 and partial.errors[0].category == "OBJECT_NOT_FOUND"
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="plan", operator="EQ", value="enterprise")])
        ],
        properties=["plan"],
        limit=200,
    )
    found: list[str] = []
    page = hubspot.crm.companies.search_api.do_search(public_object_search_request=request)
    total = page.total
    while True:
        found += [r.id for r in page.results]
        if page.paging is None:
            break
        request.after = page.paging.next.after
        page = hubspot.crm.companies.search_api.do_search(public_object_search_request=request)
    assert len(found) == total and ids[1] in found and ids[0] not in found
    with pytest.raises(ApiException) as info:
        batch.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=ids[0], properties={"plan": "platinum"})]
            )
        )
    assert info.value.status == 400 and "INVALID_OPTION" in info.value.body


def test_hubspot_property_create_and_task_with_associations(hubspot: Any) -> None:
    prop = hubspot.crm.properties.core_api.create(
        object_type="companies",
        property_create=PropertyCreate(
            name="health_score",
            label="Health score",
            type="number",
            field_type="number",
            group_name="customer_success",
        ),
    )
    assert prop.name == "health_score" and prop.type == "number"
    company = WORLD.accounts[4]
    contact = WORLD.contacts_by_account[company.key][0]
    task = hubspot.crm.objects.tasks.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "hs_timestamp": "2026-11-24T00:00:00Z",
                "hs_task_subject": "Churn risk",
                "hs_task_priority": "HIGH",
                "hubspot_owner_id": WORLD.owners[0].hubspot_id,
            },
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=company.hubspot_id),
                    types=[
                        AssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=192
                        )
                    ],
                ),
                PublicAssociationsForObject(
                    to=PublicObjectId(id=contact.hubspot_id),
                    types=[
                        AssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=204
                        )
                    ],
                ),
            ],
        )
    )
    assert task.id and task.properties["hs_task_subject"] == "Churn risk"
    linked = hubspot.crm.associations.v4.basic_api.get_page(
        object_type="tasks", object_id=task.id, to_object_type="contacts"
    )
    assert [str(r.to_object_id) for r in linked.results] == [contact.hubspot_id]
    read = hubspot.crm.associations.v4.batch_api.get_page(
        from_object_type="contacts",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={
            "inputs": [{"id": contact.hubspot_id}]
        },
    )
    assert str(read.results[0].to[0].to_object_id) == company.hubspot_id
    updated = hubspot.crm.companies.basic_api.update(
        company.hubspot_id, {"properties": {"health_score": "41"}}
    )
    assert updated.properties["health_score"] == "41"


def test_salesforce_activities_query_with_relationships(sf: Salesforce) -> None:
    members = sf.query_all(
        "SELECT Id, Status, HasResponded, Contact.AccountId, Campaign.Type FROM CampaignMember"
    )["records"]
    assert len(members) == len(WORLD.activities.invitations)
    assert {m["HasResponded"] for m in members if m["Status"] == "Attended"} == {True}
    assert {m["HasResponded"] for m in members if m["Status"] == "Sent"} == {False}
    assert {m["Campaign"]["Type"] for m in members} == {"Webinar", "Event", "Training"}
    meetings = sf.query_all("SELECT Id, Subject, AccountId, EventSubtype, Outcome__c FROM Event")
    qbrs = [r for r in meetings["records"] if r["Subject"].startswith("QBR")]
    assert qbrs and all(r["AccountId"] and r["EventSubtype"] == "Event" for r in qbrs)
    calls = sf.query("SELECT COUNT() FROM Task WHERE TaskSubtype = 'Call' AND CallType = 'Inbound'")
    inbound = [
        e for e in WORLD.activities.engagements if e.kind == "call" and e.direction == "inbound"
    ]
    assert calls["totalSize"] == len(inbound)


def test_hubspot_engagements_search_and_associations(hubspot: Any) -> None:
    made = [e for e in WORLD.activities.engagements if e.kind == "meeting"]
    meetings: list[Any] = []
    after = None
    while True:  # the objects APIs have no get_all: walk the pages
        page = hubspot.crm.objects.meetings.basic_api.get_page(
            limit=100,
            after=after,
            properties=["hs_meeting_title", "hs_meeting_outcome", "hs_timestamp"],
            associations=["companies"],
        )
        meetings += page.results
        if page.paging is None:
            break
        after = page.paging.next.after
    assert {m.id for m in meetings} == {e.hubspot_id for e in made}
    company_of = {e.hubspot_id: WORLD.accounts_by_key[e.account_key].hubspot_id for e in made}
    for meeting in meetings[:20]:
        linked = meeting.associations["companies"].results
        assert [str(r.id) for r in linked] == [company_of[meeting.id]]
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    Filter(
                        property_name="hs_email_direction", operator="EQ", value="INCOMING_EMAIL"
                    )
                ]
            )
        ],
        properties=["hs_email_direction", "hs_timestamp"],
        limit=100,
    )
    page = hubspot.crm.objects.emails.search_api.do_search(public_object_search_request=request)
    replies = [
        e for e in WORLD.activities.engagements if e.kind == "email" and e.direction == "inbound"
    ]
    assert page.total == len(replies)
    assert {r.properties["hs_email_direction"] for r in page.results} == {"INCOMING_EMAIL"}
    contact = WORLD.contacts[0]
    read = hubspot.crm.contacts.basic_api.get_by_id(
        contact.hubspot_id, properties=["hs_email_delivered", "hs_email_open", "hs_email_click"]
    )
    delivered, opened, clicked = WORLD.activities.marketing[contact.key]
    assert read.properties["hs_email_delivered"] == str(delivered)
    assert int(read.properties["hs_email_open"]) == opened and opened >= clicked
