"""The Mixpanel emulator over real HTTP, against reference/zendesk-mixpanel-api.md Part B."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta
from typing import Any

import pytest
import requests

from csbridge_sandbox.runner import Sandbox
from csbridge_sandbox.world.usage import iter_events_between

AUTH = ("sandbox.sa", "sandbox-secret")
PROJECT = 1000001


def export(sandbox: Sandbox, stream: bool = False, **params: Any) -> requests.Response:
    """An export without compression (requests asks for gzip by default)."""
    params.setdefault("project_id", PROJECT)
    return requests.get(
        sandbox.urls["mixpanel"] + "/api/2.0/export",
        params=params,
        auth=AUTH,
        timeout=30,
        stream=stream,
        headers={"Accept-Encoding": "identity"},
    )


def lines(response: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.iter_lines() if line]


def day(sandbox: Sandbox, back: int) -> str:
    return (sandbox.world.now.date() - timedelta(days=back)).isoformat()


def test_export_is_inclusive_jsonl_and_gzip_when_asked(sandbox: Sandbox) -> None:
    world = sandbox.world
    first, last = day(sandbox, 3), day(sandbox, 2)
    response = export(sandbox, from_date=first, to_date=last)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers.get("Content-Encoding") is None
    got = lines(response)
    expected = list(
        iter_events_between(
            world, world.now.date() - timedelta(days=3), world.now.date() - timedelta(days=2)
        )
    )
    assert got == expected and len(got) > 100
    days = {e["properties"]["time"] // 86_400 for e in got}
    assert len(days) == 2  # both bounds included
    raw = requests.get(
        sandbox.urls["mixpanel"] + "/api/2.0/export",
        auth=AUTH,
        timeout=30,
        params={"project_id": PROJECT, "from_date": first, "to_date": last},
        headers={"Accept-Encoding": "gzip"},
        stream=True,
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(raw.raw.read(decode_content=False))
    assert [json.loads(x) for x in body.splitlines()] == expected


def test_small_body_is_not_compressed(sandbox: Sandbox) -> None:
    response = export(
        sandbox, stream=True, from_date=day(sandbox, 2), to_date=day(sandbox, 2), limit=1
    )
    assert response.headers.get("Content-Encoding") is None
    assert len(lines(response)) == 1


def test_event_where_and_limit_filters(sandbox: Sandbox) -> None:
    domain = next(p.domain for p in sandbox.world.usage_plans if p.profile == "champion")
    other = next(p.domain for p in sandbox.world.usage_plans if p.profile == "healthy")
    span = {"from_date": day(sandbox, 7), "to_date": day(sandbox, 1)}
    one = lines(export(sandbox, **span, where=f'properties["company_domain"] == "{domain}"'))
    assert one and {e["properties"]["company_domain"] for e in one} == {domain}
    both = lines(
        export(sandbox, **span, where=f'properties["company_domain"] in ["{domain}", "{other}"]')
    )
    assert {e["properties"]["company_domain"] for e in both} == {domain, other}
    logins = lines(export(sandbox, **span, event='["Logged In", "Ran Report"]'))
    assert {e["event"] for e in logins} == {"Logged In", "Ran Report"}
    assert len(lines(export(sandbox, **span, limit=7))) == 7
    cutoff = one[len(one) // 2]["properties"]["time"]
    later = lines(
        export(
            sandbox,
            **span,
            where=f'properties["company_domain"] == "{domain}" '
            f'and properties["$time"] >= datetime({cutoff})',
        )
    )
    assert later and all(e["properties"]["time"] >= cutoff for e in later)
    in_ms = lines(export(sandbox, **span, limit=1, time_in_ms="true"))
    assert in_ms[0]["properties"]["time"] > 10**12


def test_duplicates_share_an_insert_id(sandbox: Sandbox) -> None:
    got = lines(export(sandbox, from_date=day(sandbox, 30), to_date=day(sandbox, 1)))
    ids = [e["properties"]["$insert_id"] for e in got]
    assert len(ids) > len(set(ids))


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"to_date": "2026-01-01"}, 400, "'from_date' is a required parameter"),
        (
            {"from_date": "2026-01-01", "to_date": "2999-01-01"},
            400,
            "to_date cannot be later than today",
        ),
        (
            {"from_date": "2026-01-05", "to_date": "2026-01-01"},
            400,
            "from_date cannot be later than to_date",
        ),
        (
            {"from_date": "2026-01-01", "to_date": "2026-01-01", "limit": 100_001},
            400,
            "'limit' cannot be over 100000",
        ),
        (
            {"from_date": "2026-01-01", "to_date": "2026-01-01", "event": "Logged In"},
            400,
            "'event' must be a JSON array of event names",
        ),
    ],
)
def test_export_errors(sandbox: Sandbox, params: dict[str, Any], status: int, error: str) -> None:
    response = export(sandbox, **params)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["request"].startswith("/api/2.0/export?")


def test_where_outside_the_subset_is_a_400(sandbox: Sandbox) -> None:
    response = export(
        sandbox, from_date=day(sandbox, 2), to_date=day(sandbox, 2), where='properties["x"] ~= 3'
    )
    assert response.status_code == 400 and "where" in response.json()["error"]


def test_auth_forms_and_project_id(sandbox: Sandbox) -> None:
    url = sandbox.urls["mixpanel"] + "/api/2.0/export"
    span = {"from_date": day(sandbox, 2), "to_date": day(sandbox, 2), "limit": "1"}
    forms = {
        "base64 service account": "Basic " + base64.b64encode(b"sa:secret").decode(),
        "plain-text service account": "Basic sa:secret",
        "project secret with colon": "Basic " + base64.b64encode(b"projsecret:").decode(),
        "project secret without colon": "Basic " + base64.b64encode(b"projsecret").decode(),
    }
    for name, header in forms.items():
        response = requests.get(
            url,
            params={**span, "project_id": str(PROJECT)},
            headers={"Authorization": header},
            timeout=10,
        )
        assert response.status_code == 200, name
    no_project = requests.get(url, params=span, auth=AUTH, timeout=10)
    assert no_project.status_code == 400 and "project_id" in no_project.json()["error"]
    secret_only = requests.get(
        url, params=span, timeout=10, headers={"Authorization": forms["project secret with colon"]}
    )
    assert secret_only.status_code == 200
    for headers in (
        {},
        {"Authorization": "Basic"},
        {"Authorization": "Basic " + base64.b64encode(b":x").decode()},
    ):
        denied = requests.get(url, params=span, headers=headers, timeout=10)
        assert denied.status_code == 401
        assert denied.json()["error"] == "Unable to authenticate request"
    wrong = requests.get(url, params={**span, "project_id": "42"}, auth=AUTH, timeout=10)
    assert wrong.status_code == 403


def test_engage_group_profiles_page_to_the_end(sandbox: Sandbox) -> None:
    url = sandbox.urls["mixpanel"] + "/api/2.0/engage"
    form = {"project_id": PROJECT, "data_group_id": "1", "page_size": 50}
    first = requests.post(url, data=form, auth=AUTH, timeout=10).json()
    assert first["status"] == "ok" and first["page"] == 0
    total = first["total"]
    assert total == len(sandbox.world.usage_plans)
    results = list(first["results"])
    page, body = 0, first
    while len(body["results"]) >= body["page_size"]:
        page += 1
        body = requests.post(
            url,
            auth=AUTH,
            timeout=10,
            data={**form, "session_id": first["session_id"], "page": page},
        ).json()
        assert "total" not in body
        results += body["results"]
    assert len(results) == total
    domains = {r["$distinct_id"] for r in results}
    assert {a.domain for a in sandbox.world.accounts} <= domains
    assert any(r["$properties"].get("plan") for r in results)
    no_session = requests.post(url, data={**form, "page": 1}, auth=AUTH, timeout=10)
    assert no_session.status_code == 400
    where = requests.get(
        sandbox.urls["mixpanel"] + "/api/query/engage",
        auth=AUTH,
        timeout=10,
        params={**form, "where": 'properties["plan"] == "enterprise"'},
    ).json()
    assert where["total"] > 0
    assert all(r["$properties"]["plan"] == "enterprise" for r in where["results"])
    bad_group = requests.post(url, data={**form, "data_group_id": "9"}, auth=AUTH, timeout=10)
    assert bad_group.status_code == 400


def test_realistic_limits_three_per_second_and_sixty_per_hour(realistic: Sandbox) -> None:
    span = {"from_date": day(realistic, 2), "to_date": day(realistic, 2), "limit": 1}
    codes = [export(realistic, **span).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    limits = realistic.apps["mixpanel"].state.limits
    limits.export_second.limit = 1000  # leave the per-second bucket out of the hourly check
    codes = [export(realistic, **span).status_code for _ in range(58)]
    assert codes == [200] * 57 + [429]
    refused = export(realistic, **span)
    assert refused.status_code == 429
    assert "61/60 queries" in refused.json()["error"]
    engage = requests.get(
        realistic.urls["mixpanel"] + "/api/2.0/engage",
        auth=AUTH,
        timeout=10,
        params={"project_id": PROJECT, "data_group_id": "1"},
    )
    assert engage.status_code == 200  # the query API has its own hourly bucket


def test_without_limit_the_export_returns_every_event_in_range(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`limit` caps the export only when it is sent (100,000 is its maximum value, not a
    default): a 2,000-account week is ~200,000 events and must come back whole."""
    from csbridge_sandbox.mixpanel import export as mixpanel_export

    monkeypatch.setattr(mixpanel_export, "MAX_LIMIT", 5)
    day = sandbox.world.now.date() - timedelta(days=3)
    params = {"from_date": day.isoformat(), "to_date": day.isoformat()}
    body = b"".join(mixpanel_export.export_lines(sandbox.world, params))
    expected = sum(1 for _ in iter_events_between(sandbox.world, day, day))
    assert body.count(b"\n") == expected > 5
