"""Unit tests for the pure parts of the connectors: paginators, parsers, builders, the fold."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from csbridge.connectors.hubspot.streams import AfterPaginator
from csbridge.connectors.mixpanel.export import (
    ExportTruncated,
    MalformedExport,
    parse_events,
    split_lines,
)
from csbridge.connectors.mixpanel.usage import CompactKeySet, UsageFold
from csbridge.connectors.salesforce.soql import FieldMap, SalesforceCursor, incremental_query
from csbridge.connectors.salesforce.streams import NextRecordsUrlPaginator
from csbridge.connectors.values import (
    domain_from_website,
    opportunity_kind,
    roles_from,
    seniority_from_title,
)
from csbridge.connectors.zendesk.parse import parse_organization, parse_rating, parse_ticket
from csbridge.connectors.zendesk.streams import EndOfStreamPaginator, HasMorePaginator
from csbridge.http.paginate import PaginationLoopError

# --- paginators -------------------------------------------------------------------------


def test_end_of_stream_paginator_ignores_empty_pages_and_stops_on_marker() -> None:
    pager = EndOfStreamPaginator()
    assert pager.advance({"tickets": [], "after_cursor": "a", "end_of_stream": False}) == "a"
    assert pager.advance({"tickets": [], "after_cursor": "b", "end_of_stream": False}) == "b"
    assert pager.advance({"tickets": [], "after_cursor": "b", "end_of_stream": True}) is None
    assert pager.finished and pager.token == "b" and pager.pages == 3


def test_repeated_token_raises() -> None:
    pager = EndOfStreamPaginator(first_token="x")
    with pytest.raises(PaginationLoopError):
        pager.advance({"after_cursor": "x", "end_of_stream": False})
    pager = HasMorePaginator()
    pager.advance({"meta": {"has_more": True, "after_cursor": "p1"}})
    with pytest.raises(PaginationLoopError):
        pager.advance({"meta": {"has_more": True, "after_cursor": "p1"}})


@pytest.mark.parametrize(
    ("pager", "body"),
    [
        (HasMorePaginator(), {"meta": {"has_more": False, "after_cursor": "z"}}),
        (NextRecordsUrlPaginator(), {"done": True, "records": []}),
        (AfterPaginator(), {"results": []}),
    ],
)
def test_paginators_stop_on_their_end_marker(pager: object, body: dict[str, object]) -> None:
    assert pager.advance(body) is None  # type: ignore[attr-defined]
    assert pager.finished  # type: ignore[attr-defined]


def test_after_paginator_follows_paging_next() -> None:
    pager = AfterPaginator()
    assert pager.advance({"paging": {"next": {"after": "100"}}}) == "100"
    assert pager.advance({"paging": {"next": {"after": "200"}}}) == "200"
    assert pager.advance({}) is None


# --- Mixpanel line stream and fold ---------------------------------------------------------


def _line(name: str, t: int, user: str, insert: str, domain: object = "acme.com") -> bytes:
    props = {"time": t, "distinct_id": user, "$insert_id": insert, "company_domain": domain}
    return json.dumps({"event": name, "properties": props}).encode()


def test_split_lines_handles_chunk_boundaries_and_keeps_carriage_returns_inside() -> None:
    body = b'{"a":1}\n{"b":"x\ry"}\n\n{"c":3}'
    chunks = [body[i : i + 3] for i in range(0, len(body), 3)]
    assert list(split_lines(chunks)) == [b'{"a":1}', b'{"b":"x\ry"}', b"", b'{"c":3}']


def test_parse_events_rejoins_split_records_and_raises_on_terminated_early() -> None:
    lines = [b'{"event":"a","properties":{"note":"line one', b'line two"}}', b'{"event":"b"}']
    events = list(parse_events(lines))
    assert [e["event"] for e in events] == ["a", "b"]
    assert events[0]["properties"]["note"] == "line one\nline two"
    with pytest.raises(ExportTruncated):
        list(parse_events([b'{"event":"a"}', b"terminated early"]))
    with pytest.raises(MalformedExport):
        list(parse_events([b'{"event":"a"', b"nope"] + [b"x"] * 60))


def test_compact_key_set_is_exact_and_grows() -> None:
    keys = CompactKeySet(capacity=4)
    assert all(keys.add(k) for k in range(1, 5000))
    assert not any(keys.add(k) for k in range(1, 5000))
    assert keys.count == 4999


def test_fold_dedupes_counts_sessions_features_and_uses_project_timezone() -> None:
    base = int(datetime(2024, 3, 1, 23, 30, tzinfo=UTC).timestamp())
    lines = [
        _line("Login", base, "u1", "i1"),
        _line("Login", base, "u1", "i1"),  # duplicate $insert_id
        _line("Report", base + 60, "u1", "i2"),
        _line("Report", base + 3 * 3600, "u1", "i3"),  # new session, next UTC day
        _line("Login", base + 120, "u2", "i4", domain=["ACME.com", "beta.io"]),
        _line("Login", base + 180, "u3", "i5", domain=None),
    ]
    fold = UsageFold("company_domain", timezone="America/New_York", key_features=["Report"])
    fold.add_all(parse_events(lines))
    days = {(d.account_id, d.day): d for d in fold.usage_days()}
    acme = days[("acme.com", date(2024, 3, 1))]  # 23:30 UTC is still Mar 1 in New York
    assert (acme.events, acme.active_users, acme.sessions) == (4, 2, 3)
    assert acme.feature_events == {"Report": 2}
    assert days[("beta.io", date(2024, 3, 1))].events == 1
    assert fold.stats.duplicates == 1 and fold.stats.unattributed == 1
    assert acme.last_event_at == datetime.fromtimestamp(base + 3 * 3600, tz=UTC)
    assert fold.usage_days(first=date(2024, 3, 2)) == []


def test_fold_reads_gzip_stream() -> None:
    body = gzip.compress(
        b"\n".join(_line("Login", 1_700_000_000 + i, "u", f"i{i}") for i in range(5))
    )
    stream = gzip.GzipFile(fileobj=__import__("io").BytesIO(body))
    fold = UsageFold("company_domain")
    fold.add_all(parse_events(split_lines(iter(lambda: stream.read(7), b""))))
    assert sum(d.events for d in fold.usage_days()) == 5


# --- Zendesk parsing ----------------------------------------------------------------------


def test_parse_ticket_with_metric_set_and_deleted() -> None:
    raw = {
        "id": 35436,
        "organization_id": 509974,
        "requester_id": 7,
        "status": "solved",
        "priority": "urgent",
        "type": "incident",
        "created_at": "2009-07-20T22:55:29Z",
        "updated_at": "2011-05-05T10:38:52Z",
        "satisfaction_rating": {"score": "good", "id": 1},
        "tags": ["vip"],
        "metric_set": {
            "solved_at": "2011-05-09T10:38:52Z",
            "reply_time_in_minutes": {"business": 737, "calendar": 2391},
            "full_resolution_time_in_minutes": {"calendar": 10},
            "reopens": 2,
        },
    }
    ticket = parse_ticket(raw)
    assert (ticket.id, ticket.account_id, ticket.priority) == ("35436", "509974", "urgent")
    assert (ticket.first_reply_minutes, ticket.full_resolution_minutes, ticket.reopens) == (
        2391,
        10,
        2,
    )
    assert ticket.satisfaction_score == "good" and not ticket.deleted
    gone = parse_ticket({"id": 1, "status": "deleted", "updated_at": "2020-01-01T00:00:00Z"})
    assert gone.deleted and gone.created_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_parse_organization_and_rating() -> None:
    org = parse_organization(
        {"id": 5, "name": "Acme", "external_id": "acme.com", "domain_names": ["Acme.com"]}
    )
    assert (org.external_id, org.domain, org.domains) == ("acme.com", "acme.com", ("acme.com",))
    rating = parse_rating(
        {"id": 9, "ticket_id": 3, "score": "bad", "created_at": "2024-01-01T00:00:00Z"}, "5"
    )
    assert rating is not None and (rating.score, rating.account_id, rating.kind) == (
        0.0,
        "5",
        "csat",
    )
    assert (
        parse_rating({"id": 9, "score": "offered", "created_at": "2024-01-01T00:00:00Z"}, None)
        is None
    )


# --- Salesforce builders --------------------------------------------------------------------


def test_incremental_query_tie_break_and_lookback() -> None:
    cursor = SalesforceCursor(datetime(2024, 5, 20, 20, 49, 32, tzinfo=UTC), "001B")
    exact = incremental_query("Account", ["Name"], cursor)
    assert (
        "WHERE (SystemModstamp > 2024-05-20T20:49:32.000Z OR "
        "(SystemModstamp = 2024-05-20T20:49:32.000Z AND Id > '001B'))"
    ) in exact
    assert exact.endswith("ORDER BY SystemModstamp, Id")
    assert exact.startswith("SELECT Id, SystemModstamp, IsDeleted, Name FROM Account")
    loose = incremental_query("Account", ["Name"], cursor, lookback=timedelta(minutes=10))
    assert "WHERE SystemModstamp >= 2024-05-20T20:39:32.000Z ORDER BY" in loose
    assert SalesforceCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Chief Customer Officer", "executive"),
        ("CEO & Founder", "executive"),
        ("SVP Sales", "vp"),
        ("Vice President, Ops", "vp"),
        ("Director of IT", "director"),
        ("Head of Support", "director"),
        ("Support Manager", "manager"),
        ("Software Engineer", "individual"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_seniority_from_title(title: str | None, level: str) -> None:
    assert seniority_from_title(title) == level


def test_roles_kinds_domains_and_field_resolution() -> None:
    assert roles_from(["Champion;Exec Sponsor", None]) == ("champion", "executive_sponsor")
    assert [
        opportunity_kind(t) for t in ("Renewal", "Upsell", "Downgrade", "New Business", "")
    ] == [
        "renewal",
        "upsell",
        "downgrade",
        "new_business",
        "other",
    ]
    assert domain_from_website("https://www.Acme.com/about") == "acme.com"
    fm = FieldMap({"arr": ("ARR__c", "AnnualRevenue"), "owner": ("Owner.Email",)}, custom=("X__c",))
    assert fm.resolve(["Id", "annualrevenue", "OwnerId"]) == {
        "arr": "annualrevenue",
        "owner": "Owner.Email",
    }
    assert fm.resolve(["ARR__c"]) == {"arr": "ARR__c"}
    assert fm.custom_fields(["x__c"]) == ["x__c"]
