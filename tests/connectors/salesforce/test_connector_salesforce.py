"""Salesforce specifics: login, tie-break SOQL, queryAll deletions, describe-driven fields,
quota header and REQUEST_LIMIT_EXCEEDED, contact seniority and roles, missing NPS object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from connector_cases import HTTP, SALESFORCE, SF_BASE
from responses import matchers

from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import SalesforceCursor
from csbridge.connectors.salesforce.streams import SalesforceConnector
from csbridge.http.errors import QuotaExhaustedError

# time.sleep is patched (tests/conftest.py): backoff is instant and the waits recorded.
pytestmark = pytest.mark.usefixtures("sleeps")

STAMP = "2024-03-01T10:00:00.000+0000"


def describe(rsps: responses.RequestsMock, sobject: str, fields: list[str]) -> None:
    rsps.get(
        f"{SF_BASE}/sobjects/{sobject}/describe", json={"fields": [{"name": f} for f in fields]}
    )


def soql_of(call: responses.Call) -> str:
    return parse_qs(urlparse(call.request.url).query)["q"][0]


def connector(lookback: timedelta = timedelta(0)) -> SalesforceConnector:
    return SalesforceConnector(
        SALESFORCE, salesforce_client(SALESFORCE, HTTP), token="tok", lookback=lookback
    )


def test_login_uses_client_credentials_and_the_token(rsps: responses.RequestsMock) -> None:
    rsps.post(
        "https://login.salesforce.test/services/oauth2/token",
        json={"access_token": "00Dxx!token", "instance_url": SALESFORCE.instance_url},
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "client_credentials",
                    "client_id": "cid",
                    "client_secret": "sf-secret",
                }
            )
        ],
    )
    describe(rsps, "User", ["Id", "Name"])
    call = rsps.get(f"{SF_BASE}/queryAll/", json={"done": True, "records": [], "totalSize": 0})
    sf = SalesforceConnector(SALESFORCE, salesforce_client(SALESFORCE, HTTP))
    assert [p.records for p in sf.owners()] == [[]]
    assert call.calls[0].request.headers["Authorization"] == "Bearer 00Dxx!token"


def test_tie_break_query_deletions_and_describe_driven_fields(rsps: responses.RequestsMock) -> None:
    cursor = SalesforceCursor(datetime(2024, 3, 1, 10, tzinfo=UTC), "001A").encode()
    describe(rsps, "Account", ["Id", "Name", "Website", "SystemModstamp", "IsDeleted", "OwnerId"])
    first = rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 2,
            "records": [
                {
                    "Id": "001A",
                    "Name": "Same stamp, later id",
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                    "Website": "acme.com",
                    "Owner": {"Email": "csm@example.com"},
                    "OwnerId": "005",
                },
                {"Id": "001B", "Name": "Gone", "SystemModstamp": STAMP, "IsDeleted": True},
            ],
        },
        headers={"Sforce-Limit-Info": "api-usage=120/15000"},
    )
    # the org gains a custom field between two runs: no restart needed
    describe(
        rsps,
        "Account",
        ["Id", "Name", "Website", "SystemModstamp", "IsDeleted", "OwnerId", "ARR__c"],
    )
    second = rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [
                {
                    "Id": "001C",
                    "Name": "New",
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                    "ARR__c": 5e4,
                }
            ],
        },
    )
    sf = connector()
    pages = list(sf.accounts(cursor))
    soql = soql_of(first.calls[0])
    assert (
        "WHERE (SystemModstamp > 2024-03-01T10:00:00.000Z OR "
        "(SystemModstamp = 2024-03-01T10:00:00.000Z AND Id > '001A')) "
        "ORDER BY SystemModstamp, Id"
    ) in soql
    assert "ARR__c" not in soql and "Owner.Email" in soql
    live, gone = pages[0].records
    assert (live.domain, live.custom["owner_email"], live.deleted) == (
        "acme.com",
        "csm@example.com",
        False,
    )
    assert gone.deleted
    assert (
        pages[0].cursor == SalesforceCursor(datetime(2024, 3, 1, 10, tzinfo=UTC), "001B").encode()
    )
    assert sf.api_usage() == (120, 15000)

    (page,) = list(sf.accounts(pages[-1].cursor))
    assert "ARR__c" in soql_of(second.calls[0])
    assert page.records[0].arr == 50000.0


def test_lookback_rereads_and_cursor_does_not_go_back(rsps: responses.RequestsMock) -> None:
    cursor = SalesforceCursor(datetime(2024, 3, 1, 10, 5, tzinfo=UTC), "001Z").encode()
    describe(rsps, "Account", ["Id", "Name", "SystemModstamp", "IsDeleted"])
    call = rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [{"Id": "001A", "Name": "Old", "SystemModstamp": STAMP, "IsDeleted": False}],
        },
    )
    (page,) = list(connector(lookback=timedelta(minutes=10)).accounts(cursor))
    assert "WHERE SystemModstamp >= 2024-03-01T09:55:00.000Z ORDER BY" in soql_of(call.calls[0])
    assert page.cursor == cursor  # re-read an older record: the cursor stays where it was


def test_request_limit_exceeded_is_a_quota_stop(rsps: responses.RequestsMock) -> None:
    describe(rsps, "Account", ["Id", "Name", "SystemModstamp", "IsDeleted"])
    call = rsps.get(
        f"{SF_BASE}/queryAll/",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    with pytest.raises(QuotaExhaustedError):
        list(connector().accounts())
    assert call.call_count == 1  # not retried


def test_quota_guard_stops_before_spending_past_our_share(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{SF_BASE}/sobjects/Account/describe",
        json={"fields": [{"name": "Id"}]},
        headers={"Sforce-Limit-Info": "api-usage=7600/15000"},  # over the default 50% share
    )
    with pytest.raises(QuotaExhaustedError):
        list(connector().accounts())


def test_contacts_seniority_and_roles_from_field_and_contact_roles(
    rsps: responses.RequestsMock,
) -> None:
    describe(
        rsps,
        "Contact",
        [
            "Id",
            "AccountId",
            "Email",
            "Name",
            "Title",
            "CS_Role__c",
            "Left_Company__c",
            "SystemModstamp",
            "IsDeleted",
        ],
    )
    rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 2,
            "records": [
                {
                    "Id": "003A",
                    "AccountId": "001A",
                    "Title": "VP Engineering",
                    "CS_Role__c": "Champion",
                    "Left_Company__c": True,
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                },
                {
                    "Id": "003B",
                    "AccountId": "001A",
                    "Title": "Chief Financial Officer",
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                },
            ],
        },
    )
    describe(rsps, "AccountContactRole", ["Id", "ContactId", "Role"])
    roles = rsps.get(
        f"{SF_BASE}/query/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [{"ContactId": "003B", "Role": "Executive Sponsor"}],
        },
    )
    (page,) = list(connector().contacts())
    a, b = page.records
    assert (a.seniority, a.roles, a.custom) == ("vp", ("champion",), {"Left_Company__c": True})
    assert (b.seniority, b.roles) == ("executive", ("executive_sponsor",))
    assert "ContactId IN ('003A', '003B')" in soql_of(roles.calls[0])


def test_missing_nps_object_yields_nothing(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{SF_BASE}/sobjects/NPS_Response__c/describe",
        status=404,
        json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
    )
    assert list(connector().nps_answers()) == []


def test_nps_answers_and_opportunity_kinds(rsps: responses.RequestsMock) -> None:
    describe(
        rsps,
        "NPS_Response__c",
        [
            "Id",
            "Account__c",
            "Contact__c",
            "Score__c",
            "Comment__c",
            "Submitted_At__c",
            "SystemModstamp",
            "IsDeleted",
        ],
    )
    rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [
                {
                    "Id": "a0N1",
                    "Account__c": "001A",
                    "Contact__c": "003A",
                    "Score__c": 3.0,
                    "Comment__c": "slow",
                    "Submitted_At__c": STAMP,
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                }
            ],
        },
    )
    describe(
        rsps,
        "Opportunity",
        [
            "Id",
            "AccountId",
            "Type",
            "Amount",
            "CloseDate",
            "IsClosed",
            "IsWon",
            "SystemModstamp",
            "IsDeleted",
        ],
    )
    rsps.get(
        f"{SF_BASE}/queryAll/",
        json={
            "done": True,
            "totalSize": 1,
            "records": [
                {
                    "Id": "006A",
                    "AccountId": "001A",
                    "Type": "Downgrade",
                    "Amount": -100.0,
                    "CloseDate": "2024-04-01",
                    "IsClosed": True,
                    "IsWon": True,
                    "SystemModstamp": STAMP,
                    "IsDeleted": False,
                }
            ],
        },
    )
    sf = connector()
    (nps,) = [r for p in sf.nps_answers() for r in p.records]
    assert (nps.kind, nps.score, nps.account_id, nps.comment) == ("nps", 3.0, "001A", "slow")
    (opp,) = [r for p in sf.opportunities() for r in p.records]
    assert (opp.kind, opp.amount, opp.is_won) == ("downgrade", -100.0, True)
