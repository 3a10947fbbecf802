"""Incremental exports of organizations and users (reference A1.3, C1, C3).

`/api/v2/incremental/organizations` and `/api/v2/incremental/users` are time-based (same
`count` / `end_time` / always-present `next_page` / `end_of_stream` contract as tickets);
`/api/v2/incremental/users/cursor` is cursor-based like the ticket cursor export. Records are
ordered by `updated_at`; they do not change in the sandbox after the world is built.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request

from csbridge_sandbox.common import absolute, base_url
from csbridge_sandbox.zendesk.export import HIDDEN_SECONDS, _per_page, _start_time
from csbridge_sandbox.zendesk.http import ZendeskError, decode_cursor, encode_cursor
from csbridge_sandbox.zendesk.render import epoch, organization_json, user_json
from csbridge_sandbox.zendesk.state import ZendeskState

T = TypeVar("T")


def _timeline(
    items: Sequence[T], stamp: Callable[[T], Any], ident: Callable[[T], int]
) -> list[tuple[int, int, T]]:
    return sorted(((epoch(stamp(x)), ident(x), x) for x in items), key=lambda e: e[:2])


def _window(
    line: list[tuple[int, int, Any]], key: tuple[int, int], visible: int, limit: int
) -> tuple[list[tuple[int, int, Any]], bool]:
    start = bisect.bisect_right(line, key, key=lambda e: e[:2])
    stop = bisect.bisect_left(line, (visible, 0), key=lambda e: e[:2])
    page = line[start : min(stop, start + limit)]
    return page, start + limit < stop


def _state(request: Request) -> ZendeskState:
    state: ZendeskState = request.app.state.zendesk
    return state


def _lines(state: ZendeskState) -> dict[str, list[tuple[int, int, Any]]]:
    if not state.timelines:
        state.timelines["organizations"] = _timeline(
            state.orgs, lambda o: o.updated_at, lambda o: o.id
        )
        state.timelines["users"] = _timeline(state.users, lambda u: u.updated_at, lambda u: u.id)
    return state.timelines


def _time_based(request: Request, key: str, path: str) -> dict[str, Any]:
    state = _state(request)
    start = _start_time(request, state)
    if start is None:
        raise ZendeskError(400, "InvalidValue", "start_time is required")
    per_page = _per_page(request)
    line = _lines(state)[key]
    page, more = _window(line, (start, 0), state.now() - HIDDEN_SECONDS, per_page)
    if more and page:  # keep every record sharing the last timestamp on this page
        tail, _ = _window(line, page[-1][:2], page[-1][0] + 1, 10**9)
        page = page + tail
        more = bisect.bisect_right(line, (page[-1][0], 10**18), key=lambda e: e[:2]) < len(line)
    base = base_url(request)
    render = organization_json if key == "organizations" else user_json
    end_time = page[-1][0] if page else start
    params: dict[str, str | int] = {"start_time": end_time}
    if "per_page" in request.query_params:
        params["per_page"] = per_page
    return {
        key: [render(base, x) for _, _, x in page],
        "count": len(page),
        "end_time": end_time,
        "next_page": absolute(request, path, params),
        "end_of_stream": not more,
    }


async def organizations_export(request: Request) -> dict[str, Any]:
    """GET /api/v2/incremental/organizations?start_time= (time-based)."""
    return _time_based(request, "organizations", "/api/v2/incremental/organizations.json")


async def users_export(request: Request) -> dict[str, Any]:
    """GET /api/v2/incremental/users?start_time= (time-based)."""
    return _time_based(request, "users", "/api/v2/incremental/users.json")


async def users_cursor_export(request: Request) -> dict[str, Any]:
    """GET /api/v2/incremental/users/cursor: `start_time` first, then `cursor`."""
    state = _state(request)
    cursor = request.query_params.get("cursor")
    if cursor:
        stamp, _, ident = decode_cursor(cursor).partition(":")
        if not (stamp.isdigit() and ident.isdigit()):
            raise ZendeskError(400, "InvalidPaginationParameter", "cursor is invalid")
        key = (int(stamp), int(ident))
    else:
        start = _start_time(request, state)
        if start is None:
            raise ZendeskError(400, "InvalidValue", "start_time or cursor is required")
        key = (start, 0)
    page, more = _window(
        _lines(state)["users"], key, state.now() - HIDDEN_SECONDS, _per_page(request)
    )
    last = page[-1][:2] if page else key
    after = encode_cursor(f"{last[0]}:{last[1]}")
    base = base_url(request)
    return {
        "users": [user_json(base, u) for _, _, u in page],
        "after_cursor": after,
        "after_url": absolute(request, "/api/v2/incremental/users/cursor.json", {"cursor": after}),
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": not more,
    }
