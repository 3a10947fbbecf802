"""Zendesk incremental ticket exports: cursor-based and time-based (reference A1.1, A1.2).

Rules reproduced: `start_time` is required on the first request only (cursor export) and must
be at least one minute in the past (422 `InvalidValue` "Too recent start_time..." otherwise);
the most recent minute is never returned; `per_page` up to 1000 (the default); `end_of_stream`
says the page reached the present; the time-based `next_page` is always present and restarts
at `end_time`, so boundary tickets repeat; `include=metric_sets,users,organizations`
side-loads; `exclude_deleted=true` hides deleted tickets.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from csbridge_sandbox.common import absolute, base_url
from csbridge_sandbox.world.model import Ticket
from csbridge_sandbox.zendesk.http import ZendeskError, decode_cursor, encode_cursor, int_param
from csbridge_sandbox.zendesk.render import organization_json, ticket_json, user_json
from csbridge_sandbox.zendesk.state import ZendeskState

MAX_EXPORT_PAGE = 1000
HIDDEN_SECONDS = 60


def _includes(request: Request) -> set[str]:
    raw = request.query_params.get("include", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _start_time(request: Request, state: ZendeskState) -> int | None:
    start = int_param(request, "start_time")
    if start is None:
        return None
    if start < 0:
        raise ZendeskError(400, "InvalidValue", "start_time must be a positive Unix epoch time")
    if start > state.now() - HIDDEN_SECONDS:
        raise ZendeskError(
            422, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute"
        )
    return start


def _per_page(request: Request) -> int:
    per_page = int_param(request, "per_page", MAX_EXPORT_PAGE) or MAX_EXPORT_PAGE
    return max(1, min(per_page, MAX_EXPORT_PAGE))


def _render(
    request: Request, state: ZendeskState, page: list[tuple[int, Ticket]]
) -> dict[str, Any]:
    base = base_url(request)
    includes = _includes(request)
    out: dict[str, Any] = {
        "tickets": [
            ticket_json(base, t, g, state.ratings_by_ticket.get(t.id), "metric_sets" in includes)
            for g, t in page
        ]
    }
    if "users" in includes:
        ids = sorted({t.requester_id for _, t in page} | {t.assignee_id for _, t in page})
        out["users"] = [user_json(base, state.users_by_id[i]) for i in ids]
    if "organizations" in includes:
        org_ids = sorted({t.org_id for _, t in page})
        out["organizations"] = [organization_json(base, state.orgs_by_id[i]) for i in org_ids]
    return out


def _keep(request: Request) -> dict[str, str | int]:
    return {
        k: v
        for k, v in request.query_params.items()
        if k in ("include", "exclude_deleted", "support_type_scope")
    }


async def cursor_export(request: Request) -> dict[str, Any]:
    """GET /api/v2/incremental/tickets/cursor: `start_time` first, then `cursor=after_cursor`."""
    state: ZendeskState = request.app.state.zendesk
    cursor = request.query_params.get("cursor")
    if cursor:
        text = decode_cursor(cursor)
        try:
            stamp, _, rest = text.partition(".0||")
            key = (int(stamp), int(rest.rstrip("|")))
        except ValueError:
            raise ZendeskError(400, "InvalidPaginationParameter", "cursor is invalid") from None
    else:
        start = _start_time(request, state)
        if start is None:
            raise ZendeskError(400, "InvalidValue", "start_time or cursor is required")
        key = (start, 0)
    exclude = request.query_params.get("exclude_deleted") == "true"
    visible = state.now() - HIDDEN_SECONDS
    page, more = state.changed_after(key, visible, _per_page(request), exclude)
    last = (page[-1][0], page[-1][1].id) if page else key
    after = encode_cursor(f"{last[0]}.0||{last[1]}|")
    params: dict[str, str | int] = {**_keep(request), "cursor": after}
    if "per_page" in request.query_params:
        params["per_page"] = _per_page(request)
    before = encode_cursor(f"{key[0]}.0||{key[1]}|") if cursor else None
    body = _render(request, state, page)
    body.update(
        after_cursor=after,
        after_url=absolute(request, "/api/v2/incremental/tickets/cursor.json", params),
        before_cursor=before,
        before_url=absolute(
            request, "/api/v2/incremental/tickets/cursor.json", {**params, "cursor": before}
        )
        if before
        else None,
        end_of_stream=not more,
    )
    return body


async def time_export(request: Request) -> dict[str, Any]:
    """GET /api/v2/incremental/tickets?start_time=: `count`, `end_time`, `next_page`."""
    state: ZendeskState = request.app.state.zendesk
    start = _start_time(request, state)
    if start is None:
        raise ZendeskError(400, "InvalidValue", "start_time is required")
    exclude = request.query_params.get("exclude_deleted") == "true"
    per_page = _per_page(request)
    visible = state.now() - HIDDEN_SECONDS
    page, more = state.changed_since(start, visible, per_page, exclude)
    end_time = page[-1][0] if page else start
    params: dict[str, str | int] = {**_keep(request), "start_time": end_time}
    if "per_page" in request.query_params:
        params["per_page"] = per_page
    body = _render(request, state, page)
    body.update(
        count=len(page),
        end_time=end_time,
        next_page=absolute(request, "/api/v2/incremental/tickets.json", params),
        end_of_stream=not more,
    )
    return body
