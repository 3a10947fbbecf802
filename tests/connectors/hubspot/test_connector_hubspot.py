"""HubSpot specifics: search windows that never page past the 10,000-result cap (and do not
skip records modified mid-run), archived records, owners, feedback submissions joined to
companies through associations."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import responses
from connector_cases import HS_SEARCH, HS_START, HTTP, HUBSPOT, NOW
from responses import matchers

from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.streams import HubspotConnector, HubspotOptions

# time.sleep is patched (tests/conftest.py): backoff is instant and the waits recorded.
pytestmark = pytest.mark.usefixtures("sleeps")

API = "https://api.hubapi.test/crm"


def hubspot(**options: Any) -> HubspotConnector:
    return HubspotConnector(
        hubspot_client(HUBSPOT, HTTP), options=HubspotOptions(**options), now=lambda: NOW
    )


class FakeSearch:
    """A search endpoint over an in-memory table: GTE/LT filters, ascending sort, offset `after`,
    `total`, and HubSpot's 400 for paging past 10,000 results."""

    def __init__(self, stamps: dict[str, int]) -> None:
        self.stamps = stamps
        self.requests: list[dict[str, Any]] = []
        self.on_request: Any = None

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.requests.append(body)
        if self.on_request:
            self.on_request(len(self.requests))
        filters = {f["operator"]: int(f["value"]) for f in body["filterGroups"][0]["filters"]}
        hits = sorted(
            (ts, rid) for rid, ts in self.stamps.items() if filters["GTE"] <= ts < filters["LT"]
        )
        offset, limit = int(body.get("after") or 0), body["limit"]
        if offset + limit > 10_000:
            return 400, {}, json.dumps({"status": "error", "category": "VALIDATION_ERROR"})
        page = hits[offset : offset + limit]
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [
                {"id": rid, "properties": {"name": rid, "hs_lastmodifieddate": str(ts)}}
                for ts, rid in page
            ],
        }
        if offset + limit < len(hits):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, {}, json.dumps(out)


def test_25000_changes_are_read_once_each_without_paging_past_the_cap() -> None:
    # 25,000 companies; 250 of them share one timestamp (more than a page)
    stamps = {f"c{i}": HS_START + 10 * i for i in range(24_750)}
    stamps.update({f"s{i}": HS_START + 10 * 5000 for i in range(250)})
    fake = FakeSearch(stamps)
    with responses.RequestsMock() as rsps:
        rsps.add_callback("POST", HS_SEARCH, callback=fake)
        ids = [r.id for p in hubspot(lookback=timedelta(0)).companies() for r in p.records]
    assert sorted(ids) == sorted(stamps) and len(ids) == len(set(ids))
    assert all(int(r.get("after") or 0) + r["limit"] <= 10_000 for r in fake.requests)
    assert len(fake.requests) <= 25_000 // 100 + 5  # about the minimum number of pages
    assert fake.requests[0]["sorts"] == [
        {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
    ]


def test_a_record_modified_during_the_run_does_not_hide_another() -> None:
    stamps = {f"c{i}": HS_START + 10 * i for i in range(300)}
    fake = FakeSearch(stamps)

    def touch(n: int) -> None:  # before the second page, an already-read record changes
        if n == 2:
            stamps["c5"] = int(NOW.timestamp() * 1000) + 1

    fake.on_request = touch
    with responses.RequestsMock() as rsps:
        rsps.add_callback("POST", HS_SEARCH, callback=fake)
        ids = {r.id for p in hubspot(lookback=timedelta(0)).companies() for r in p.records}
    assert ids == set(stamps)  # offset paging would have skipped c100


def test_lookback_and_cursor() -> None:
    stamps = {"a": HS_START - 5_000, "b": HS_START + 1_000}
    fake = FakeSearch(stamps)
    with responses.RequestsMock() as rsps:
        rsps.add_callback("POST", HS_SEARCH, callback=fake)
        pages = list(hubspot(lookback=timedelta(seconds=10)).companies(str(HS_START)))
    assert fake.requests[0]["filterGroups"][0]["filters"][0]["value"] == str(HS_START - 10_000)
    assert {r.id for r in pages[0].records} == {"a", "b"}
    assert pages[-1].cursor == str(HS_START + 1_000)


def test_archived_records_come_from_the_list_endpoint(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}/v3/objects/deals",
        json={
            "results": [
                {
                    "id": "9",
                    "properties": {"dealname": "Old", "dealtype": "renewal"},
                    "archived": True,
                }
            ],
            "paging": {"next": {"after": "9"}},
        },
        match=[
            matchers.query_param_matcher({"archived": "true", "limit": "100"}, strict_match=False)
        ],
    )
    rsps.get(
        f"{API}/v3/objects/deals",
        json={"results": []},
        match=[matchers.query_param_matcher({"after": "9"}, strict_match=False)],
    )
    pages = list(hubspot().archived("deals"))
    (deal,) = pages[0].records
    assert deal.deleted and deal.kind == "renewal" and pages[0].cursor is None


def test_owners_active_and_archived(rsps: responses.RequestsMock) -> None:
    owner = {"id": "64", "email": "csm@example.com", "firstName": "Ada", "lastName": "L"}
    rsps.get(
        f"{API}/v3/owners",
        json={"results": [owner]},
        match=[matchers.query_param_matcher({"archived": "false"}, strict_match=False)],
    )
    rsps.get(
        f"{API}/v3/owners",
        json={"results": [{**owner, "id": "65", "archived": True}]},
        match=[matchers.query_param_matcher({"archived": "true"}, strict_match=False)],
    )
    owners = [o for p in hubspot().owners() for o in p.records]
    assert [(o.id, o.name, o.active) for o in owners] == [
        ("64", "Ada L", True),
        ("65", "Ada L", False),
    ]


def test_feedback_submissions_scores_and_company_association(rsps: responses.RequestsMock) -> None:
    stamp = str(HS_START + 1)
    rsps.post(
        f"{API}/v3/objects/feedback_submissions/search",
        json={
            "total": 2,
            "results": [
                {
                    "id": "1",
                    "properties": {
                        "hs_survey_type": "NPS",
                        "hs_value": "9",
                        "hs_response_group": "PROMOTER",
                        "hs_content": "great",
                        "hs_lastmodifieddate": stamp,
                    },
                },
                {
                    "id": "2",
                    "properties": {
                        "hs_survey_type": "CSAT",
                        "hs_value": "2",
                        "hs_lastmodifieddate": stamp,
                    },
                },
            ],
        },
    )
    assoc = rsps.post(
        f"{API}/v4/associations/feedback_submissions/companies/batch/read",
        json={"results": [{"from": {"id": "1"}, "to": [{"toObjectId": 512}]}]},
    )
    (page,) = list(hubspot().feedback_submissions())
    nps, csat = page.records
    assert (nps.kind, nps.score, nps.account_id, nps.comment) == ("nps", 9.0, "512", "great")
    assert (csat.kind, csat.score, csat.scale_min, csat.scale_max, csat.account_id) == (
        "csat",
        2.0,
        1,
        5,
        None,
    )
    assert json.loads(assoc.calls[0].request.body) == {"inputs": [{"id": "1"}, {"id": "2"}]}
