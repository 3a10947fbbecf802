"""Zendesk specifics: export parameters, deleted tickets, end_of_stream, organizations, CSAT."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from connector_cases import HTTP, NOW, ZD_TICKETS, ZENDESK
from responses import matchers

from csbridge.connectors.zendesk.client import zendesk_client
from csbridge.connectors.zendesk.streams import ZendeskConnector, ZendeskOptions
from csbridge.http.errors import FatalHttpError
from csbridge.http.paginate import PaginationLoopError

# time.sleep is patched (tests/conftest.py): backoff is instant and the waits recorded.
pytestmark = pytest.mark.usefixtures("sleeps")

BASE = "https://acme.zendesk.test/api/v2"


def zendesk(**options: object) -> ZendeskConnector:
    opts = ZendeskOptions(**options)  # type: ignore[arg-type]
    return ZendeskConnector(zendesk_client(ZENDESK, HTTP), opts, now=lambda: NOW)


def ticket(n: int, status: str = "open", org: int | None = 7) -> dict[str, object]:
    return {
        "id": n,
        "status": status,
        "organization_id": org,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-03-01T00:00:00Z",
    }


def test_first_run_sends_start_time_then_follows_cursor_until_end_of_stream(
    rsps: responses.RequestsMock,
) -> None:
    start = NOW - timedelta(days=30)
    first = rsps.get(
        ZD_TICKETS,
        json={"tickets": [ticket(1)], "after_cursor": "A", "end_of_stream": False},
        match=[
            matchers.query_param_matcher(
                {
                    "start_time": str(int(start.timestamp())),
                    "include": "metric_sets",
                    "per_page": "1000",
                }
            )
        ],
    )
    # a short page that is not the end: keep going (never stop on page size)
    rsps.get(
        ZD_TICKETS,
        json={"tickets": [], "after_cursor": "B", "end_of_stream": False},
        match=[matchers.query_param_matcher({"cursor": "A"}, strict_match=False)],
    )
    rsps.get(
        ZD_TICKETS,
        json={"tickets": [ticket(2, "deleted", None)], "after_cursor": "C", "end_of_stream": True},
        match=[matchers.query_param_matcher({"cursor": "B"}, strict_match=False)],
    )
    pages = list(zendesk().tickets(start=start))
    assert [p.cursor for p in pages] == ["A", "B", "C"]
    deleted = pages[2].records[0]
    assert deleted.deleted and deleted.status == "deleted" and deleted.account_id is None
    assert "Basic " in first.calls[0].request.headers["Authorization"]


def test_start_time_is_never_within_the_last_minute(rsps: responses.RequestsMock) -> None:
    latest = int((NOW - timedelta(minutes=1)).timestamp())
    rsps.get(
        ZD_TICKETS,
        json={"tickets": [], "after_cursor": "A", "end_of_stream": True},
        match=[matchers.query_param_matcher({"start_time": str(latest)}, strict_match=False)],
    )
    assert len(list(zendesk().tickets(start=NOW))) == 1


def test_422_bad_start_time_is_fatal(rsps: responses.RequestsMock) -> None:
    rsps.get(ZD_TICKETS, status=422, json={"error": "InvalidValue", "description": "start_time"})
    with pytest.raises(FatalHttpError):
        list(zendesk().tickets(start=NOW - timedelta(days=1)))


def test_organizations_follow_has_more_with_page_after(rsps: responses.RequestsMock) -> None:
    org = {"id": 5, "name": "Acme", "external_id": "acme.com", "domain_names": ["acme.com"]}
    rsps.get(
        f"{BASE}/organizations.json",
        json={"organizations": [org], "meta": {"has_more": True, "after_cursor": "p2"}},
        match=[matchers.query_param_matcher({"page[size]": "100"})],
    )
    rsps.get(
        f"{BASE}/organizations.json",
        json={"organizations": [{**org, "id": 6}], "meta": {"has_more": False}},
        match=[matchers.query_param_matcher({"page[size]": "100", "page[after]": "p2"})],
    )
    pages = list(zendesk().organizations())
    assert [a.id for p in pages for a in p.records] == ["5", "6"]
    assert pages[0].records[0].external_id == "acme.com"
    started = str(int((NOW - timedelta(minutes=1)).timestamp()))
    assert [p.cursor for p in pages] == [None, started]  # unordered: only the end commits


def test_organizations_later_runs_use_the_time_based_export(rsps: responses.RequestsMock) -> None:
    cursor = int(NOW.timestamp()) - 86_400
    start = cursor - 2 * 86_400  # the lookback
    org = {"id": 5, "name": "Acme", "external_id": "acme.com", "updated_at": "2024-03-09T00:00:00Z"}
    url = f"{BASE}/incremental/organizations.json"
    rsps.get(
        url,
        json={"organizations": [org], "count": 1, "end_time": cursor + 50, "end_of_stream": False},
        match=[matchers.query_param_matcher({"start_time": str(start), "per_page": "1000"})],
    )
    rsps.get(
        url,
        json={"organizations": [], "count": 0, "end_time": cursor + 50, "end_of_stream": True},
        match=[matchers.query_param_matcher({"start_time": str(cursor + 50)}, strict_match=False)],
    )
    pages = list(zendesk().organizations(str(cursor)))
    assert [p.cursor for p in pages] == [str(cursor + 50)] * 2
    assert pages[0].records[0].external_id == "acme.com"


def test_organizations_export_stuck_on_one_end_time_raises(rsps: responses.RequestsMock) -> None:
    cursor = int(NOW.timestamp())
    body = {"organizations": [], "count": 1000, "end_time": cursor - 10, "end_of_stream": False}
    rsps.get(f"{BASE}/incremental/organizations.json", json=body)  # end_time == start_time
    with pytest.raises(PaginationLoopError):
        list(zendesk(ratings_lookback=timedelta(seconds=10)).organizations(str(cursor)))


def test_ratings_windows_join_organizations_through_tickets(rsps: responses.RequestsMock) -> None:
    zd = zendesk(ratings_window=timedelta(days=10), initial_history=timedelta(days=15))
    rsps.get(  # the ticket export teaches the connector ticket 1 → org 7
        ZD_TICKETS, json={"tickets": [ticket(1)], "after_cursor": "A", "end_of_stream": True}
    )
    list(zd.tickets(start=NOW - timedelta(days=1)))
    end = NOW - timedelta(minutes=1)
    begin = end - timedelta(days=15)
    middle = begin + timedelta(days=10)
    rating = {"score": "good", "created_at": "2024-03-01T00:00:00Z", "requester_id": 9}
    rsps.get(
        f"{BASE}/satisfaction_ratings.json",
        json={
            "satisfaction_ratings": [{**rating, "id": 100, "ticket_id": 1}],
            "meta": {"has_more": True, "after_cursor": "r2"},
        },
        match=[
            matchers.query_param_matcher(
                {
                    "start_time": str(int(begin.timestamp())),
                    "end_time": str(int(middle.timestamp())),
                    "page[size]": "100",
                }
            )
        ],
    )
    rsps.get(
        f"{BASE}/satisfaction_ratings.json",
        json={
            "satisfaction_ratings": [
                {**rating, "id": 101, "ticket_id": 2, "score": "bad"},
                {**rating, "id": 102, "ticket_id": 3, "score": "offered"},
            ],
            "meta": {"has_more": False},
        },
        match=[matchers.query_param_matcher({"page[after]": "r2"}, strict_match=False)],
    )
    rsps.get(  # ticket 2 is unknown to the run and to the lookup: fetched with show_many
        f"{BASE}/tickets/show_many.json",
        json={"tickets": [ticket(2, org=8)]},
        match=[matchers.query_param_matcher({"ids": "2"})],
    )
    rsps.get(
        f"{BASE}/satisfaction_ratings.json",
        json={"satisfaction_ratings": [], "meta": {"has_more": False}},
        match=[
            matchers.query_param_matcher(
                {"start_time": str(int(middle.timestamp())), "end_time": str(int(end.timestamp()))},
                strict_match=False,
            )
        ],
    )
    lookups: list[list[str]] = []

    def store_lookup(ids: object) -> dict[str, str | None]:
        lookups.append(sorted(ids))  # type: ignore[call-overload]
        return {"3": "9"}

    pages = list(zd.satisfaction_ratings(ticket_orgs=store_lookup))
    records = [r for p in pages for r in p.records]
    assert [(r.id, r.account_id, r.score) for r in records] == [
        ("100", "7", 1.0),
        ("101", "8", 0.0),
    ]
    assert lookups == [["2", "3"]]
    assert [p.cursor for p in pages] == [str(int(middle.timestamp())), str(int(end.timestamp()))]
