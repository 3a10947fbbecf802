"""One conformance case per connector: how to register N pages of fake API answers with
`responses`, how to run the connector's main stream and how to compare its cursors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import responses
from pydantic import SecretStr

from csbridge.config import (
    HttpSettings,
    HubspotSettings,
    MixpanelSettings,
    SalesforceSettings,
    ZendeskSettings,
)
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.streams import HubspotConnector, HubspotOptions
from csbridge.connectors.mixpanel.client import mixpanel_client
from csbridge.connectors.mixpanel.streams import MixpanelConnector, MixpanelOptions
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import SalesforceCursor
from csbridge.connectors.salesforce.streams import SalesforceConnector
from csbridge.connectors.zendesk.client import zendesk_client
from csbridge.connectors.zendesk.streams import ZendeskConnector
from csbridge.http.client import ApiClient
from csbridge.http.paginate import Page

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
HTTP = HttpSettings(max_attempts=4, max_retry_seconds=100.0, retry_after_cap=30.0)

ZENDESK = ZendeskSettings(
    base_url="https://acme.zendesk.test", email="admin@example.com", api_token=SecretStr("zd-token")
)
MIXPANEL = MixpanelSettings(
    export_url="https://data.mixpanel.test",
    project_id=1000001,
    service_account_username="sa",
    service_account_secret=SecretStr("mp-secret"),
    timezone="UTC",
    lookback_days=0,
)
SALESFORCE = SalesforceSettings(
    instance_url="https://acme.my.salesforce.test",
    login_url="https://login.salesforce.test",
    client_id="cid",
    client_secret=SecretStr("sf-secret"),
)
HUBSPOT = HubspotSettings(base_url="https://api.hubapi.test", access_token=SecretStr("hs-token"))

SF_BASE = "https://acme.my.salesforce.test/services/data/v62.0"
SF_ACCOUNT_FIELDS = ["Id", "Name", "Website", "OwnerId", "SystemModstamp", "IsDeleted", "ARR__c"]


@dataclass
class Case:
    """A connector's main stream under the conformance suite."""

    name: str
    first_request: tuple[str, str]  # method, URL of the first call a run makes
    start_for: Callable[[int], str | None]  # the cursor a run starts from, given N pages
    make_client: Callable[[], ApiClient]
    run: Callable[[ApiClient, str | None], Iterator[Page[Any]]]
    register: Callable[..., None]  # (rsps, pages: list[list[int]], repeat_token=False)
    record_key: Callable[[Any], int]
    cursor_key: Callable[[str], Any]
    paginated: bool = True


# --- Zendesk tickets ----------------------------------------------------------------------

ZD_TICKETS = "https://acme.zendesk.test/api/v2/incremental/tickets/cursor.json"


def _zd_register(
    rsps: responses.RequestsMock, pages: list[list[int]], repeat_token: bool = False
) -> None:
    for i, ids in enumerate(pages):
        token = "c1" if repeat_token else f"c{i + 1}"
        rsps.get(
            ZD_TICKETS,
            json={
                "tickets": [
                    {
                        "id": n,
                        "status": "open",
                        "created_at": "2024-01-01T00:00:00Z",
                        "updated_at": "2024-01-02T00:00:00Z",
                        "organization_id": 7,
                    }
                    for n in ids
                ],
                "after_cursor": token,
                "after_url": f"{ZD_TICKETS}?cursor={token}",
                "end_of_stream": i == len(pages) - 1,
            },
        )


ZENDESK_CASE = Case(
    name="zendesk",
    first_request=("GET", ZD_TICKETS),
    start_for=lambda n: "c0",
    make_client=lambda: zendesk_client(ZENDESK, HTTP),
    run=lambda client, cursor: ZendeskConnector(client, now=lambda: NOW).tickets(cursor),
    register=_zd_register,
    record_key=lambda record: int(record.id),
    cursor_key=lambda cursor: int(cursor[1:]),
)


# --- Mixpanel usage (a page is one date window) ------------------------------------------

MP_EXPORT = "https://data.mixpanel.test/api/2.0/export"


def _mp_day(i: int, n_pages: int) -> date:
    return NOW.date() - timedelta(days=n_pages - 1 - i)


def _mp_register(
    rsps: responses.RequestsMock, pages: list[list[int]], repeat_token: bool = False
) -> None:
    for i, ids in enumerate(pages):
        day = _mp_day(i, len(pages))
        t = int(datetime(day.year, day.month, day.day, 9, tzinfo=UTC).timestamp())
        lines = [
            json.dumps(
                {
                    "event": "Login",
                    "properties": {
                        "time": t + n,
                        "distinct_id": f"u{n}",
                        "$insert_id": f"i{n}",
                        "company_domain": f"d{n}.com",
                    },
                }
            )
            for n in ids
        ]
        rsps.get(MP_EXPORT, body="\n".join(lines) + ("\n" if lines else ""))


def _mp_run(client: ApiClient, cursor: str | None) -> Iterator[Page[Any]]:
    return MixpanelConnector(
        MIXPANEL, client, MixpanelOptions(window_days=1), now=lambda: NOW
    ).usage_days(cursor)


MIXPANEL_CASE = Case(
    name="mixpanel",
    first_request=("GET", MP_EXPORT),
    start_for=lambda n: _mp_day(0, n).isoformat(),  # N one-day windows up to today
    make_client=lambda: mixpanel_client(MIXPANEL, HTTP),
    run=_mp_run,
    register=_mp_register,
    record_key=lambda record: int(record.account_id[1:].split(".")[0]),
    cursor_key=date.fromisoformat,
    paginated=False,
)


# --- Salesforce accounts ------------------------------------------------------------------

SF_QUERY_ALL = f"{SF_BASE}/queryAll/"
SF_START = datetime(2024, 1, 1, tzinfo=UTC)
SF_TASK_FIELDS = ["Id", "SystemModstamp", "IsDeleted", "AccountId", "WhoId", "TaskSubtype"]
SF_TASK_FIELDS += ["Status", "CompletedDateTime", "CallType", "Subject", "Csbridge_Key__c"]


def _sf_id(n: int, prefix: str = "001") -> str:
    return f"{prefix}{n:015d}"


def _sf_stamp(n: int) -> str:
    return (SF_START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _sf_account(n: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "Account"},
        "Id": _sf_id(n),
        "Name": f"Acme {n}",
        "Website": f"https://d{n}.com",
        "OwnerId": "005A",
        "ARR__c": 1000.0 * n,
        "IsDeleted": False,
        "SystemModstamp": _sf_stamp(n),
    }


def _sf_task(n: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "Task"},
        "Id": _sf_id(n, "00T"),
        "AccountId": _sf_id(n),
        "WhoId": _sf_id(n, "003"),
        "TaskSubtype": "Call",
        "CallType": "Inbound",
        "Status": "Completed",
        "CompletedDateTime": _sf_stamp(n),
        "Subject": "Call",
        "Csbridge_Key__c": None,
        "IsDeleted": False,
        "SystemModstamp": _sf_stamp(n),
    }


def _sf_registrar(
    sobject: str, fields: list[str], row: Callable[[int], dict[str, Any]]
) -> Callable[..., None]:
    """Registers describe, then N pages of `queryAll` rows of one sObject."""

    def register(
        rsps: responses.RequestsMock, pages: list[list[int]], repeat_token: bool = False
    ) -> None:
        rsps.get(
            f"{SF_BASE}/sobjects/{sobject}/describe", json={"fields": [{"name": f} for f in fields]}
        )
        prev_locator = ""
        for i, ids in enumerate(pages):
            last = i == len(pages) - 1
            locator = "/services/data/v62.0/queryAll/01gLOC-" + (
                "1" if repeat_token else str(i + 1)
            )
            body: dict[str, Any] = {
                "totalSize": sum(len(p) for p in pages),
                "done": last,
                "records": [row(n) for n in ids],
            }
            if not last:
                body["nextRecordsUrl"] = locator
            url = SF_QUERY_ALL if i == 0 else f"https://acme.my.salesforce.test{prev_locator}"
            rsps.get(url, json=body, headers={"Sforce-Limit-Info": f"api-usage={10 + i}/15000"})
            prev_locator = locator

    return register


def _sf_connector(client: ApiClient) -> SalesforceConnector:
    return SalesforceConnector(SALESFORCE, client, token="session-token", lookback=timedelta(0))


SALESFORCE_CASE = Case(
    name="salesforce",
    first_request=("GET", f"{SF_BASE}/sobjects/Account/describe"),
    start_for=lambda n: SalesforceCursor(SF_START, _sf_id(0)).encode(),
    make_client=lambda: salesforce_client(SALESFORCE, HTTP),
    run=lambda client, cursor: _sf_connector(client).accounts(cursor),
    register=_sf_registrar("Account", SF_ACCOUNT_FIELDS, _sf_account),
    record_key=lambda record: int(record.id[3:]),
    cursor_key=lambda cursor: SalesforceCursor.decode(cursor).key(),
)

SALESFORCE_TASKS_CASE = Case(
    name="salesforce-tasks",
    first_request=("GET", f"{SF_BASE}/sobjects/Task/describe"),
    start_for=lambda n: SalesforceCursor(SF_START, _sf_id(0, "00T")).encode(),
    make_client=lambda: salesforce_client(SALESFORCE, HTTP),
    run=lambda client, cursor: _sf_connector(client).tasks(cursor),
    register=_sf_registrar("Task", SF_TASK_FIELDS, _sf_task),
    record_key=lambda record: int(record.id[3:]),
    cursor_key=lambda cursor: SalesforceCursor.decode(cursor).key(),
)


# --- HubSpot companies --------------------------------------------------------------------

HS_OBJECTS = "https://api.hubapi.test/crm/v3/objects"
HS_SEARCH = f"{HS_OBJECTS}/companies/search"
HS_START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


def _hs_company(n: int, stamp: int) -> dict[str, Any]:
    return {"name": f"Acme {n}", "domain": f"d{n}.com", "hs_lastmodifieddate": str(stamp)}


def _hs_call(n: int, stamp: int) -> dict[str, Any]:
    return {
        "hs_call_direction": "INBOUND",
        "hs_timestamp": str(stamp),
        "hs_lastmodifieddate": str(stamp),
    }


def _hs_registrar(
    object_type: str, properties: Callable[[int, int], dict[str, Any]]
) -> Callable[..., None]:
    """Registers N pages of search results of one object type."""

    def register(
        rsps: responses.RequestsMock, pages: list[list[int]], repeat_token: bool = False
    ) -> None:
        offset = 0
        for i, ids in enumerate(pages):
            body: dict[str, Any] = {
                "total": sum(len(p) for p in pages),
                "results": [
                    {
                        "id": str(n),
                        "properties": properties(
                            n, HS_START if repeat_token else HS_START + 1000 * n
                        ),
                        "archived": False,
                    }
                    for n in ids
                ],
            }
            offset += len(ids)
            if i < len(pages) - 1:
                after = str(len(pages[0])) if repeat_token else str(offset)
                body["paging"] = {"next": {"after": after}}
            rsps.post(f"{HS_OBJECTS}/{object_type}/search", json=body)

    return register


def _hs_connector(client: ApiClient) -> HubspotConnector:
    # associations are read in their own call; the paging contract is the search's
    options = HubspotOptions(lookback=timedelta(0), company_associations=False)
    return HubspotConnector(client, options=options, now=lambda: NOW)


HUBSPOT_CASE = Case(
    name="hubspot",
    first_request=("POST", HS_SEARCH),
    start_for=lambda n: str(HS_START),
    make_client=lambda: hubspot_client(HUBSPOT, HTTP),
    run=lambda client, cursor: _hs_connector(client).companies(cursor),
    register=_hs_registrar("companies", _hs_company),
    record_key=lambda record: int(record.id),
    cursor_key=int,
)

HUBSPOT_CALLS_CASE = Case(
    name="hubspot-calls",
    first_request=("POST", f"{HS_OBJECTS}/calls/search"),
    start_for=lambda n: str(HS_START),
    make_client=lambda: hubspot_client(HUBSPOT, HTTP),
    run=lambda client, cursor: _hs_connector(client).activities("calls", cursor),
    register=_hs_registrar("calls", _hs_call),
    record_key=lambda record: int(record.id),
    cursor_key=int,
)

CASES = [
    ZENDESK_CASE,
    MIXPANEL_CASE,
    SALESFORCE_CASE,
    SALESFORCE_TASKS_CASE,
    HUBSPOT_CASE,
    HUBSPOT_CALLS_CASE,
]
