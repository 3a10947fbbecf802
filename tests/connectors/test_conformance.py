"""The connector conformance suite: every connector's main stream passes the same tests.

Last page, empty page, 429 then success (the Retry-After wait asserted), a 5xx storm that
gives up within the policy's bounds, cursors that never move backwards and a repeated
pagination token that raises. No network: `responses` with ordered registries and every
registered answer required to be used; `time.sleep` is patched so backoff is instant.
"""

from __future__ import annotations

import pytest
import responses
from connector_cases import CASES, HTTP, Case

from csbridge.http.errors import RetriesExhaustedError
from csbridge.http.paginate import PaginationLoopError


def _read(case: Case, n_pages: int) -> tuple[list[int], list[str | None]]:
    client = case.make_client()
    keys: list[int] = []
    cursors: list[str | None] = []
    for page in case.run(client, case.start_for(n_pages)):
        keys.extend(case.record_key(r) for r in page.records)
        cursors.append(page.cursor)
    return keys, cursors


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reads_every_page_and_stops_after_the_last(
    case: Case, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    case.register(rsps, [[1, 2, 3], [4, 5], [6]])
    keys, cursors = _read(case, 3)
    assert sorted(keys) == [1, 2, 3, 4, 5, 6]
    assert len(cursors) == 3
    assert sum(sleeps) == 0  # no 429 met, no backoff


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_empty_page(case: Case, rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    case.register(rsps, [[]])
    keys, cursors = _read(case, 1)
    assert keys == [] and len(cursors) == 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_429_then_success_waits_retry_after(
    case: Case, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    method, url = case.first_request
    rsps.add(method, url, status=429, headers={"Retry-After": "7"}, body="slow down")
    case.register(rsps, [[1, 2]])
    keys, _ = _read(case, 1)
    assert sorted(keys) == [1, 2]
    assert 7.0 in sleeps


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_5xx_storm_gives_up_within_the_bound(
    case: Case, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    method, url = case.first_request
    calls = [rsps.add(method, url, status=503, body="down") for _ in range(HTTP.max_attempts)]
    with pytest.raises(RetriesExhaustedError):
        _read(case, 1)
    assert all(call.call_count == 1 for call in calls)
    assert 0 < sum(sleeps) <= HTTP.max_retry_seconds


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cursor_never_moves_backwards(
    case: Case, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    case.register(rsps, [[1, 2], [], [3, 4], [5]])
    start = case.start_for(4)
    _, cursors = _read(case, 4)
    seen = [c for c in cursors if c is not None]
    assert seen, "a stream must report its cursor"
    keys = [case.cursor_key(c) for c in ([start] if start else []) + seen]
    assert keys == sorted(keys)
    assert keys[-1] > keys[0]  # records after the start (or the first page) moved it on


@pytest.mark.parametrize("case", [c for c in CASES if c.paginated], ids=lambda c: c.name)
def test_repeated_pagination_token_raises(
    case: Case, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    case.register(rsps, [[1, 2], [3, 4], [5]], repeat_token=True)
    with pytest.raises(PaginationLoopError):
        _read(case, 3)
    rsps.assert_all_requests_are_fired = False  # the third page is never asked for
