"""Every emulator route, fuzzed over real HTTP: malformed input is the vendor's own 4xx (issue 13).

The routes are walked from each Starlette app (plus the `/_sandbox` control endpoints every
emulator serves), so a route added later is fuzzed without touching this file. Path
parameters mix real names with junk; query parameters and JSON keys are drawn from the
names the emulator's own source reads, so cases get past the first check and into the
handlers. Each case is authenticated (a bearer token every emulator accepts) and must
answer below 500; a 4xx must carry the vendor's error body (HubSpot `status`, `message`,
`category`, `correlationId`; Salesforce `[{"message", "errorCode"}]`; Zendesk and Mixpanel
`{"error", ...}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Route
from test_salesforce_api import serve

import csbridge_sandbox
from csbridge_sandbox.hubspot import app as hubspot
from csbridge_sandbox.mixpanel import app as mixpanel
from csbridge_sandbox.salesforce import app as salesforce
from csbridge_sandbox.world.build import build_world
from csbridge_sandbox.zendesk import app as zendesk

WORLD = build_world(accounts=12, seed=21, now=datetime(2026, 11, 23, tzinfo=UTC))
SANDBOX = Path(csbridge_sandbox.__file__).parent
CONTROL = [("/_sandbox/stats", "GET"), ("/_sandbox/stats/reset", "POST")] + [
    ("/_sandbox/faults", method) for method in ("GET", "POST", "DELETE", "PUT")
]
# Real names for path parameters, so some cases reach the record-level code.
PATH_VALUES = {
    "object_type": ["companies", "contacts", "deals", "tasks", "notes", "0-1", "calls"],
    "to_type": ["companies", "contacts", "deals", "tasks"],
    "sobject": ["Account", "Contact", "Opportunity", "Task", "User", "CustomField"],
    "field": ["Id", "Name", "csbridge_key__c"],
    "kind": ["successfulResults", "failedResults", "unprocessedrecords"],
    "name": ["csbridge_health_score", "name", "csbridge"],
}
ODD_TEXT = ["", "0", "-1", "1e9", "9" * 30, "null", "true", "[]", "{}", "NaN", "a,b", "é", "%00"]


def _routes(app: Starlette) -> list[tuple[str, str]]:
    """(path template, method) for every route the app declares, HEAD aside."""
    found = []
    for route in app.routes:
        assert isinstance(route, Route), route
        found += [(route.path, m) for m in sorted(route.methods or {"GET"}) if m != "HEAD"]
    return found


def _names(prefixes: tuple[str, ...]) -> list[str]:
    """String keys the vendor's modules read (`.get("x")`, `["x"]`, `getlist("x")`)."""
    pattern = re.compile(r'(?:\.get\(|getlist\(|\[)"([A-Za-z_$][\w.\[\]$]{0,39})"')
    names: set[str] = set()
    for module in SANDBOX.rglob("*.py"):  # one folder per vendor
        if module.relative_to(SANDBOX).as_posix().startswith(prefixes):
            names.update(pattern.findall(module.read_text(encoding="utf-8")))
    return sorted(names)


def _is_hubspot(body: Any) -> bool:
    keys = {"status", "message", "category", "correlationId"}
    return isinstance(body, dict) and keys <= body.keys() and body["status"] == "error"


def _is_salesforce(body: Any) -> bool:
    if isinstance(body, dict):  # the OAuth endpoint answers as OAuth does
        return {"error", "error_description"} <= body.keys()
    return (
        isinstance(body, list)
        and len(body) > 0
        and all(isinstance(e, dict) and {"message", "errorCode"} <= e.keys() for e in body)
    )


def _has_error(body: Any) -> bool:
    return isinstance(body, dict) and "error" in body


VENDORS: dict[str, tuple[Callable[..., Starlette], tuple[str, ...], Callable[[Any], bool]]] = {
    "zendesk": (zendesk.make_app, ("zendesk",), _has_error),
    "mixpanel": (mixpanel.make_app, ("mixpanel",), _has_error),
    "salesforce": (salesforce.make_app, ("salesforce",), _is_salesforce),
    "hubspot": (hubspot.make_app, ("hubspot",), _is_hubspot),
}


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, tuple[httpx.Client, Starlette]]]:
    """The four emulators on their own small world (fuzzed writes touch nothing shared)."""
    clients: dict[str, tuple[httpx.Client, Starlette]] = {}
    contexts = []
    try:
        for vendor, (make, _, _) in VENDORS.items():
            app = make(WORLD)
            context = serve(app)
            base = context.__enter__()
            contexts.append(context)
            headers = {"Authorization": "Bearer sandbox-fuzz"}
            clients[vendor] = (httpx.Client(base_url=base, headers=headers, timeout=10), app)
        yield clients
    finally:
        for client, _ in clients.values():
            client.close()
        for context in reversed(contexts):
            context.__exit__(None, None, None)


def _json(keys: list[str]) -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.sampled_from(ODD_TEXT + keys)
        | st.text(max_size=8)
    )
    key = st.sampled_from(keys) | st.text(max_size=6)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=5),
        max_leaves=12,
    )


def _bodies(keys: list[str]) -> st.SearchStrategy[bytes | None]:
    """No body, broken bytes, a form, random JSON, and most often a vendor-shaped object
    whose values have the wrong types (`{"inputs": [1]}`, `{"filterGroups": [{"filters": 2}]}`)."""
    malformed = st.sampled_from(
        [b"{", b"[1,", b"\xff\xfe", b"{'a': 1}", b"1e999", b"a=%ZZ&b", b"[" * 5000]
    )
    form = st.dictionaries(st.sampled_from(keys), st.sampled_from(ODD_TEXT), max_size=4).map(
        lambda pairs: "&".join(f"{k}={quote(v)}" for k, v in pairs.items()).encode()
    )
    key = st.sampled_from(keys)
    leaf = st.sampled_from([None, True, -1, 2**70, 1.5, "x", "", [], {}, [1], [None], ["x"]])
    inner = st.dictionaries(key, leaf | st.lists(leaf, max_size=2), min_size=1, max_size=3)
    shaped = st.dictionaries(
        key, leaf | st.lists(inner | leaf, min_size=1, max_size=2) | inner, min_size=1, max_size=3
    ) | st.lists(inner | leaf, max_size=2)
    as_json = (shaped | shaped | _json(keys)).map(lambda value: json.dumps(value).encode())
    return as_json | st.none() | malformed | form | st.binary(max_size=24)


@st.composite
def _cases(draw: st.DrawFn, routes: list[tuple[str, str]], keys: list[str]) -> dict[str, Any]:
    template, method = draw(st.sampled_from(routes))

    def fill(match: re.Match[str]) -> str:
        values = PATH_VALUES.get(match.group(1), [])
        raw = draw(st.sampled_from(values + ODD_TEXT[1:]) | st.text(min_size=1, max_size=10))
        return quote(raw, safe="")

    params = draw(
        st.dictionaries(
            st.sampled_from(keys), st.sampled_from(ODD_TEXT + keys) | st.text(max_size=8)
        )
    )
    return {
        "method": draw(st.sampled_from([method, method, method, "PATCH", "PUT"])),
        "url": re.sub(r"\{(\w+)(?::\w+)?\}", fill, template),
        "params": params,
        "content": draw(_bodies(keys)),
    }


FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_no_emulator_route_answers_5xx(
    vendor: str, served: dict[str, tuple[httpx.Client, Starlette]]
) -> None:
    client, app = served[vendor]
    _, prefixes, vendor_shaped = VENDORS[vendor]
    routes = _routes(app) + CONTROL
    keys = _names((*prefixes, "common", "control"))

    @FUZZ
    @given(case=_cases(routes, keys))
    def check(case: dict[str, Any]) -> None:
        response = client.request(**case)
        if case["url"].startswith("/_sandbox"):
            client.delete("/_sandbox/faults")  # an armed fault would 5xx the next case
        assert response.status_code < 500, (case, response.text)
        if 400 <= response.status_code < 500 and not case["url"].startswith("/_sandbox"):
            assert vendor_shaped(response.json()), (case, response.status_code, response.text)

    check()


def test_fuzzing_reaches_every_route_of_every_emulator() -> None:
    # The walk finds the routes that the fuzz draws from: a vendor's batch and search too.
    hubspot_routes = {path for path, _ in _routes(hubspot.make_app(WORLD))}
    assert "/crm/v3/objects/{object_type}/search" in hubspot_routes
    assert "/crm/v3/objects/{object_type}/batch/update" in hubspot_routes
    assert {"inputs", "filterGroups", "properties"} <= set(_names(("hubspot",)))
    assert len(_routes(salesforce.make_app(WORLD))) > 30


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/crm/v3/objects/companies/batch/update", {"inputs": [1]}),
        ("/crm/v3/objects/companies/batch/create", {"inputs": [{"properties": [None]}]}),
        ("/crm/v3/objects/companies/batch/read", "x"),
        ("/crm/v3/objects/companies/search", {"filterGroups": [{"filters": 2}]}),
    ],
)
def test_hubspot_batch_and_search_answer_malformed_bodies_with_its_400(
    path: str, body: Any, served: dict[str, tuple[httpx.Client, Starlette]]
) -> None:
    client, _ = served["hubspot"]
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["status"], error["category"]) == ("error", "VALIDATION_ERROR")
    assert error["message"].startswith("Invalid input JSON") and error["correlationId"]
