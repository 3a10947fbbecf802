"""Zendesk Support emulator (reference/zendesk-mixpanel-api.md Part A and the Part D checklist).

Auth: Basic `{email}/token:{token}`, Basic `{email}:{password}` or Bearer; anything else gets
401 `{"error":"Couldn't authenticate you"}`. Every path also answers with a `.json` suffix and
every URL in a body points back at this server. With `rate_limits="realistic"` the account
allows 700 requests/min and the incremental exports 10/min: the account limit answers 429
with Zendesk's plain-text body, the export limit with the JSON body Zendesk sends for it
(airbytehq/airbyte#11899); both carry `Retry-After`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from csbridge_sandbox.common import (
    MALFORMED_INPUT,
    SlidingWindow,
    base_url,
    basic_credentials,
    bearer_token,
)
from csbridge_sandbox.control.api import install
from csbridge_sandbox.control.state import Hooks
from csbridge_sandbox.world.model import World
from csbridge_sandbox.zendesk.export import cursor_export, time_export
from csbridge_sandbox.zendesk.export_more import (
    organizations_export,
    users_cursor_export,
    users_export,
)
from csbridge_sandbox.zendesk.http import ZendeskError, fault_response, int_param, paginate
from csbridge_sandbox.zendesk.render import (
    epoch,
    metric_set,
    organization_json,
    rating_json,
    ticket_json,
    user_json,
)
from csbridge_sandbox.zendesk.state import ZendeskState

ACCOUNT_LIMIT = 700
EXPORT_LIMIT = 10
UNLIMITED = 1_000_000
Handler = Callable[[Request], Awaitable[dict[str, Any]]]
RATING_SCORES = {
    "offered": {"offered"},
    "unoffered": {"unoffered"},
    "received": {"good", "bad"},
    "received_with_comment": {"good", "bad"},
    "received_without_comment": {"good", "bad"},
    "good": {"good"},
    "good_with_comment": {"good"},
    "good_without_comment": {"good"},
    "bad": {"bad"},
    "bad_with_comment": {"bad"},
    "bad_without_comment": {"bad"},
}


def _unauthorized(request: Request) -> Response | None:
    header = request.headers.get("authorization")
    if header and header.strip().lower().startswith("bearer"):
        if bearer_token(header):
            return None
        body = {
            "error": "invalid_token",
            "error_description": "The access token provided is "
            "expired, revoked, malformed or invalid for other reasons.",
        }
        return JSONResponse(body, 401)
    creds = basic_credentials(header)
    if creds:
        user, secret = creds
        email = user[: -len("/token")] if user.endswith("/token") else user
        if email and "@" in email and secret:
            return None
    return JSONResponse(
        {"error": "Couldn't authenticate you"},
        401,
        headers={"WWW-Authenticate": 'Basic realm="Web Password"'},
    )


class Limits:
    """The account bucket and the incremental-export bucket."""

    def __init__(self, realistic: bool) -> None:
        self.realistic = realistic
        self.account = SlidingWindow(ACCOUNT_LIMIT if realistic else UNLIMITED, 60.0)
        self.export = SlidingWindow(EXPORT_LIMIT if realistic else UNLIMITED, 60.0)

    def check(self, export: bool) -> tuple[Response | None, dict[str, str]]:
        """Count the call; return a 429 response when over a limit, and the headers to send."""
        wait = self.account.take()
        headers = {
            "X-Rate-Limit": str(self.account.limit),
            "X-Rate-Limit-Remaining": str(self.account.remaining()),
            "ratelimit-limit": str(self.account.limit),
            "ratelimit-remaining": str(self.account.remaining()),
            "ratelimit-reset": str(self.account.resets_in()),
        }
        if wait:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            body = "Number of allowed API requests per minute exceeded"
            return PlainTextResponse(body, 429, headers=headers), headers
        if export:
            wait = self.export.take()
            headers["Zendesk-RateLimit-incremental-exports"] = (
                f"total={self.export.limit}; remaining={self.export.remaining()}; "
                f"resets={self.export.resets_in()}"
            )
            if wait:
                headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                error = {
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed "
                    "incremental export API requests per minute exceeded",
                }
                return JSONResponse(error, 429, headers=headers), headers
        return None, headers


def _endpoint(handler: Handler, export: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        denied = _unauthorized(request)
        if denied is not None:
            return denied
        limits: Limits = request.app.state.limits
        refused, headers = limits.check(export)
        if refused is not None:
            return refused
        try:
            body = await handler(request)
        except ZendeskError as exc:
            response = exc.response()
            response.headers.update(headers)
            return response
        raw = json.dumps(body, separators=(",", ":")).encode()
        return Response(raw, 200, headers=headers, media_type="application/json; charset=utf-8")

    return endpoint


def _state(request: Request) -> ZendeskState:
    state: ZendeskState = request.app.state.zendesk
    return state


async def organizations(request: Request) -> dict[str, Any]:
    """GET /api/v2/organizations: cursor (`page[size]`) or offset pagination, 100 max."""
    base = base_url(request)
    return paginate(
        request,
        "organizations",
        _state(request).orgs,
        lambda o: o.id,
        lambda o: organization_json(base, o),
    )


async def organization(request: Request) -> dict[str, Any]:
    """GET /api/v2/organizations/{id}."""
    org = _state(request).orgs_by_id.get(int(request.path_params["id"]))
    if org is None:
        raise ZendeskError(404, "RecordNotFound", "Not found")
    return {"organization": organization_json(base_url(request), org)}


async def users(request: Request) -> dict[str, Any]:
    """GET /api/v2/users (cursor or offset pagination)."""
    base = base_url(request)
    return paginate(
        request, "users", _state(request).users, lambda u: u.id, lambda u: user_json(base, u)
    )


async def user(request: Request) -> dict[str, Any]:
    """GET /api/v2/users/{id}."""
    found = _state(request).users_by_id.get(int(request.path_params["id"]))
    if found is None:
        raise ZendeskError(404, "RecordNotFound", "Not found")
    return {"user": user_json(base_url(request), found)}


async def users_show_many(request: Request) -> dict[str, Any]:
    """GET /api/v2/users/show_many?ids=1,2 (at most 100 ids)."""
    raw = request.query_params.get("ids", "")
    try:
        ids = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ZendeskError(400, "InvalidValue", "ids must be integers") from None
    if len(ids) > 100:
        raise ZendeskError(400, "InvalidValue", "show_many accepts at most 100 ids")
    by_id = _state(request).users_by_id
    base = base_url(request)
    return {"users": [user_json(base, by_id[i]) for i in ids if i in by_id]}


async def ticket(request: Request) -> dict[str, Any]:
    """GET /api/v2/tickets/{id}."""
    state = _state(request)
    found = state.tickets.get(int(request.path_params["id"]))
    if found is None or found.status == "deleted":
        raise ZendeskError(404, "RecordNotFound", "Not found")
    rating = state.ratings_by_ticket.get(found.id)
    data = ticket_json(base_url(request), found, state.generated[found.id], rating, False)
    return {"ticket": data}


async def ticket_metrics(request: Request) -> dict[str, Any]:
    """GET /api/v2/tickets/{id}/metrics."""
    found = _state(request).tickets.get(int(request.path_params["id"]))
    if found is None:
        raise ZendeskError(404, "RecordNotFound", "Not found")
    return {"ticket_metric": metric_set(found)}


async def satisfaction_ratings(request: Request) -> dict[str, Any]:
    """GET /api/v2/satisfaction_ratings: `score`, `start_time`/`end_time` on created_at."""
    state = _state(request)
    score = request.query_params.get("score")
    if score is not None and score not in RATING_SCORES:
        raise ZendeskError(400, "InvalidValue", f"score {score!r} is not a valid score filter")
    start = int_param(request, "start_time")
    end = int_param(request, "end_time")
    wanted = RATING_SCORES.get(score or "")
    chosen = [
        r
        for r in state.ratings
        if (wanted is None or r.score in wanted)
        and (not score or not score.endswith("_with_comment") or r.comment)
        and (not score or not score.endswith("_without_comment") or not r.comment)
        and (start is None or epoch(r.created_at) >= start)
        and (end is None or epoch(r.created_at) <= end)
    ]
    base = base_url(request)
    return paginate(
        request, "satisfaction_ratings", chosen, lambda r: r.id, lambda r: rating_json(base, r)
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        return JSONResponse({"error": "InvalidEndpoint", "description": "Method not allowed"}, 405)
    return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, 404)


async def _malformed(request: Request, exc: Exception) -> Response:
    return ZendeskError(400, "InvalidValue", f"{type(exc).__name__}: {str(exc)[:200]}").response()


def _routes() -> list[Route]:
    table: list[tuple[str, Handler, bool]] = [
        ("/api/v2/incremental/tickets/cursor", cursor_export, True),
        ("/api/v2/incremental/tickets", time_export, True),
        ("/api/v2/incremental/organizations", organizations_export, True),
        ("/api/v2/incremental/users/cursor", users_cursor_export, True),
        ("/api/v2/incremental/users", users_export, True),
        ("/api/v2/organizations", organizations, False),
        ("/api/v2/organizations/{id:int}", organization, False),
        ("/api/v2/users/show_many", users_show_many, False),
        ("/api/v2/users", users, False),
        ("/api/v2/users/{id:int}", user, False),
        ("/api/v2/tickets/{id:int}", ticket, False),
        ("/api/v2/tickets/{id:int}/metrics", ticket_metrics, False),
        ("/api/v2/satisfaction_ratings", satisfaction_ratings, False),
    ]
    routes = []
    for path, handler, export in table:
        endpoint = _endpoint(handler, export)
        routes.append(Route(path, endpoint, methods=["GET"]))
        routes.append(Route(path + ".json", endpoint, methods=["GET"]))
    return routes


def make_app(world: World, *, rate_limits: str = "off") -> Starlette:
    """The Zendesk emulator for `world`; `app.state.zendesk` holds its mutable state."""
    handlers: dict[Any, Any] = {
        **dict.fromkeys(MALFORMED_INPUT, _malformed),
        404: _not_found,
        405: _not_found,
    }
    app = Starlette(routes=_routes(), exception_handlers=handlers)
    app.state.zendesk = ZendeskState(world)
    app.state.limits = Limits(rate_limits == "realistic")
    install(app, Hooks(error=lambda fault, path: fault_response(fault.status, fault.retry_after)))
    return app
