"""The Zendesk emulator over real HTTP, against reference/zendesk-mixpanel-api.md Part A."""

from __future__ import annotations

import base64
import time
from typing import Any

import requests

from csbridge_sandbox.common import SlidingWindow
from csbridge_sandbox.runner import Sandbox
from csbridge_sandbox.zendesk.state import ZendeskState

ZENDESK_AUTH = ("admin@example.com/token", "sandbox-token")


def get(sandbox: Sandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(
        sandbox.urls["zendesk"] + path, params=params, auth=ZENDESK_AUTH, timeout=10
    )


def state(sandbox: Sandbox) -> ZendeskState:
    found: ZendeskState = sandbox.apps["zendesk"].state.zendesk
    return found


def visible_ids(sandbox: Sandbox) -> set[int]:
    """Tickets the exports may show: all but those changed within the last minute."""
    cutoff = time.time() - 60
    return {i for i, generated in state(sandbox).generated.items() if generated < cutoff}


def test_cursor_export_reaches_end_of_stream_with_every_ticket(sandbox: Sandbox) -> None:
    first = get(
        sandbox,
        "/api/v2/incremental/tickets/cursor.json",
        start_time=0,
        include="metric_sets",
        per_page=300,
    )
    assert first.status_code == 200
    body = first.json()
    assert body["before_cursor"] is None and body["before_url"] is None
    seen = [t["id"] for t in body["tickets"]]
    pages = 1
    while not body["end_of_stream"]:
        url = body["after_url"]
        assert url.startswith(sandbox.urls["zendesk"] + "/api/v2/incremental/tickets/cursor")
        body = requests.get(url, auth=ZENDESK_AUTH, timeout=10).json()
        assert "metric_sets" in url and all("metric_set" in t for t in body["tickets"])
        seen += [t["id"] for t in body["tickets"]]
        pages += 1
    assert pages > 1
    assert set(seen) == visible_ids(sandbox)  # every ticket once, deleted included
    assert len(seen) == len(set(seen))
    ticket = first.json()["tickets"][0]
    assert ticket["url"] == f"{sandbox.urls['zendesk']}/api/v2/tickets/{ticket['id']}.json"
    metrics = ticket["metric_set"]
    assert metrics["ticket_id"] == ticket["id"]
    assert set(metrics["reply_time_in_minutes"]) == {"calendar", "business"}
    # the stored after_cursor resumes later without a start_time: nothing new yet
    again = get(sandbox, "/api/v2/incremental/tickets/cursor", cursor=body["after_cursor"]).json()
    assert again["tickets"] == [] and again["end_of_stream"] is True


def test_updated_ticket_comes_back_after_the_hidden_minute(sandbox: Sandbox) -> None:
    zd = state(sandbox)
    body = get(sandbox, "/api/v2/incremental/tickets/cursor", start_time=0, per_page=1000).json()
    while not body["end_of_stream"]:
        body = requests.get(body["after_url"], auth=ZENDESK_AUTH, timeout=10).json()
    target = next(t for t in zd.tickets.values() if t.status == "open")
    real_clock = zd.clock
    zd.update_ticket(target.id, status="solved")
    page = get(sandbox, "/api/v2/incremental/tickets/cursor", cursor=body["after_cursor"]).json()
    assert page["tickets"] == []  # changed within the last minute: not exported yet
    try:
        zd.clock = lambda: real_clock() + 61
        page = get(
            sandbox, "/api/v2/incremental/tickets/cursor", cursor=body["after_cursor"]
        ).json()
    finally:
        zd.clock = real_clock
    assert [(t["id"], t["status"]) for t in page["tickets"]] == [(target.id, "solved")]
    assert page["tickets"][0]["generated_timestamp"] >= int(time.time()) - 5


def test_start_time_rules(sandbox: Sandbox) -> None:
    too_recent = get(sandbox, "/api/v2/incremental/tickets/cursor", start_time=int(time.time()))
    assert too_recent.status_code == 422
    assert too_recent.json() == {
        "error": "InvalidValue",
        "description": "Too recent start_time. Use a start_time older than 1 minute",
    }
    future = get(sandbox, "/api/v2/incremental/tickets", start_time=int(time.time()) + 3600)
    assert future.status_code == 422
    missing = get(sandbox, "/api/v2/incremental/tickets/cursor")
    assert missing.status_code == 400 and missing.json()["error"] == "InvalidValue"
    bad = get(sandbox, "/api/v2/incremental/tickets", start_time="yesterday")
    assert bad.status_code == 400
    assert get(sandbox, "/api/v2/incremental/tickets/cursor", cursor="!!").status_code == 400


def test_time_based_export_repeats_the_boundary_and_always_has_next_page(
    sandbox: Sandbox,
) -> None:
    start = 0
    ids: list[int] = []
    pages = 0
    while True:
        body = get(
            sandbox, "/api/v2/incremental/tickets.json", start_time=start, per_page=250
        ).json()
        pages += 1
        assert body["count"] == len(body["tickets"])
        assert body["next_page"].startswith(sandbox.urls["zendesk"])
        assert f"start_time={body['end_time']}" in body["next_page"]
        stamps = [t["generated_timestamp"] for t in body["tickets"]]
        assert stamps == sorted(stamps) and stamps[0] >= start
        assert body["end_time"] == stamps[-1]
        ids += [t["id"] for t in body["tickets"]]
        if body["end_of_stream"]:
            break
        start = body["end_time"]
    assert pages > 1
    assert len(ids) > len(set(ids))  # boundary tickets come back on the next page
    assert set(ids) == visible_ids(sandbox)


def test_exclude_deleted(sandbox: Sandbox) -> None:
    body = get(
        sandbox,
        "/api/v2/incremental/tickets.json",
        start_time=0,
        per_page=1000,
        exclude_deleted="true",
    ).json()
    statuses = {t["status"] for t in body["tickets"]}
    assert "deleted" not in statuses
    assert "deleted" in {t.status for t in state(sandbox).tickets.values()}


def test_organizations_cursor_pagination_to_the_last_page(sandbox: Sandbox) -> None:
    body = get(sandbox, "/api/v2/organizations.json", **{"page[size]": 50}).json()
    names = [o["name"] for o in body["organizations"]]
    while body["meta"]["has_more"]:
        assert body["links"]["next"].startswith(sandbox.urls["zendesk"])
        body = requests.get(body["links"]["next"], auth=ZENDESK_AUTH, timeout=10).json()
        names += [o["name"] for o in body["organizations"]]
    assert body["links"]["next"] is None
    world = sandbox.world
    assert len(names) == len(world.zendesk_orgs)
    org = get(sandbox, f"/api/v2/organizations/{world.accounts[0].zendesk_org_id}").json()
    assert org["organization"]["domain_names"] == [world.accounts[0].domain]
    assert org["organization"]["external_id"] == world.accounts[0].domain
    too_big = get(sandbox, "/api/v2/organizations", **{"page[size]": 101})
    assert too_big.status_code == 400


def test_organizations_offset_pagination(sandbox: Sandbox) -> None:
    body = get(sandbox, "/api/v2/organizations", per_page=100).json()
    assert body["count"] == len(sandbox.world.zendesk_orgs)
    assert len(body["organizations"]) == 100 and body["previous_page"] is None
    second = requests.get(body["next_page"], auth=ZENDESK_AUTH, timeout=10).json()
    assert second["next_page"] is None and second["previous_page"]
    assert get(sandbox, "/api/v2/organizations", page=101).status_code == 400


def test_satisfaction_ratings_filter_by_score_and_time(sandbox: Sandbox) -> None:
    ratings = state(sandbox).ratings
    middle = ratings[len(ratings) // 2].created_at.timestamp()
    collected = []
    body = get(
        sandbox,
        "/api/v2/satisfaction_ratings.json",
        score="bad",
        start_time=int(middle),
        **{"page[size]": 20},
    ).json()
    collected += body["satisfaction_ratings"]
    while body["meta"]["has_more"]:
        body = requests.get(body["links"]["next"], auth=ZENDESK_AUTH, timeout=10).json()
        collected += body["satisfaction_ratings"]
    expected = [r.id for r in ratings if r.score == "bad" and r.created_at.timestamp() >= middle]
    assert [r["id"] for r in collected] == expected and expected
    assert "organization_id" not in collected[0]
    end = get(sandbox, "/api/v2/satisfaction_ratings", end_time=int(middle)).json()
    assert all(
        r["created_at"] <= ratings[len(ratings) // 2].created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for r in end["satisfaction_ratings"]
    )
    assert get(sandbox, "/api/v2/satisfaction_ratings", score="great").status_code == 400


def test_users_and_tickets_lookups(sandbox: Sandbox) -> None:
    zd = state(sandbox)
    ticket = next(t for t in zd.tickets.values() if t.status != "deleted")
    body = get(sandbox, f"/api/v2/tickets/{ticket.id}.json").json()["ticket"]
    assert body["organization_id"] == ticket.org_id
    requester = get(sandbox, f"/api/v2/users/{ticket.requester_id}").json()["user"]
    assert requester["organization_id"] == ticket.org_id and requester["role"] == "end-user"
    many = get(
        sandbox, "/api/v2/users/show_many.json", ids=f"{ticket.requester_id},{ticket.assignee_id}"
    ).json()
    assert {u["id"] for u in many["users"]} == {ticket.requester_id, ticket.assignee_id}
    assert get(sandbox, "/api/v2/tickets/1/metrics").json() == {
        "error": "RecordNotFound",
        "description": "Not found",
    }
    assert get(sandbox, "/api/v2/no_such_thing").status_code == 404


def test_auth_schemes(sandbox: Sandbox) -> None:
    url = sandbox.urls["zendesk"] + "/api/v2/organizations.json"
    ok = [
        {"Authorization": "Basic " + base64.b64encode(b"a@b.example/token:t").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"a@b.example:password").decode()},
        {"Authorization": "Bearer oauth-token"},
    ]
    for headers in ok:
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
    for headers in (
        {},
        {"Authorization": "Basic " + base64.b64encode(b"a@b/token:").decode()},
        {"Authorization": "Token abc"},
    ):
        denied = requests.get(url, headers=headers, timeout=10)
        assert denied.status_code == 401
        assert denied.json() == {"error": "Couldn't authenticate you"}
        assert denied.headers["WWW-Authenticate"] == 'Basic realm="Web Password"'
    bearer = requests.get(url, headers={"Authorization": "Bearer "}, timeout=10)
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"


def test_realistic_export_limit_is_ten_per_minute(realistic: Sandbox) -> None:
    codes = []
    for _ in range(11):
        response = get(realistic, "/api/v2/incremental/tickets.json", start_time=0, per_page=1)
        codes.append(response.status_code)
    assert codes == [200] * 10 + [429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"] == "APIRateLimitExceeded"
    assert "remaining=0" in response.headers["Zendesk-RateLimit-incremental-exports"]
    # other endpoints still answer, with the account headers
    ok = get(realistic, "/api/v2/organizations")
    assert ok.status_code == 200 and ok.headers["X-Rate-Limit"] == "700"


def test_account_limit_answers_429_in_plain_text(realistic: Sandbox) -> None:
    limits = realistic.apps["zendesk"].state.limits
    limits.account = SlidingWindow(3, 60.0)  # a small bucket, same code path as 700/min
    codes = [get(realistic, "/api/v2/users").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = get(realistic, "/api/v2/users")
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert refused.text == "Number of allowed API requests per minute exceeded"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"


def test_incremental_organizations_and_users_reach_the_end(sandbox: Sandbox) -> None:
    for key, total in (
        ("organizations", len(sandbox.world.zendesk_orgs)),
        ("users", len(sandbox.world.zendesk_users)),
    ):
        start, seen, pages = 0, set(), 0
        while True:
            body = get(
                sandbox, f"/api/v2/incremental/{key}.json", start_time=start, per_page=100
            ).json()
            pages += 1
            assert body["count"] == len(body[key]) and body["next_page"]
            seen |= {x["id"] for x in body[key]}
            if body["end_of_stream"]:
                break
            start = body["end_time"]
        assert len(seen) == total and pages > 1
    body = get(sandbox, "/api/v2/incremental/users/cursor.json", start_time=0, per_page=200).json()
    ids = [u["id"] for u in body["users"]]
    while not body["end_of_stream"]:
        body = requests.get(body["after_url"], auth=ZENDESK_AUTH, timeout=10).json()
        ids += [u["id"] for u in body["users"]]
    assert sorted(ids) == sorted(u.id for u in sandbox.world.zendesk_users)
