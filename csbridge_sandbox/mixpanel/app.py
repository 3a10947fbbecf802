"""Mixpanel emulator: raw export and engage (reference/zendesk-mixpanel-api.md Part B, D6-D8).

Auth: service account (Basic `user:secret`, base64 or plain text; needs `project_id`),
project secret (Basic base64 `secret:` or `secret`), or Bearer. Errors are
`{"request": "<path?query>", "error": "..."}`. With `rate_limits="realistic"` the export
allows 60 queries/hour and 3/second, and the query API (engage) 60/hour; excess gets 429
with Mixpanel's rate-limit message (no `Retry-After`: unverified that Mixpanel sends one).
Group profiles: `data_group_id=1` is the `company_domain` group key.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from csbridge_sandbox.common import MALFORMED_INPUT, SlidingWindow, basic_credentials, bearer_token
from csbridge_sandbox.control.api import install
from csbridge_sandbox.control.faults import Fault
from csbridge_sandbox.control.state import Hooks
from csbridge_sandbox.mixpanel.export import JsonLinesResponse, MixpanelError, export_lines
from csbridge_sandbox.mixpanel.where import WhereError, compile_where
from csbridge_sandbox.world.model import World

PROJECT_ID = 1000001
GROUP_KEY_ID = "1"
GROUP_KEY = "company_domain"
ENGAGE_PAGE_SIZE = 1000
UNLIMITED = 1_000_000
MAX_FORM_BYTES = 1_000_000
ASGIResponse = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[Request, dict[str, str]], Awaitable[ASGIResponse]]
Endpoint = Callable[[Request], Awaitable[ASGIResponse]]


def _request_text(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _error(request: Request, status: int, error: str) -> JSONResponse:
    return JSONResponse({"request": _request_text(request), "error": error}, status)


class Limits:
    """Per-project buckets: export 60/h + 3/s, query API 60/h."""

    def __init__(self, realistic: bool) -> None:
        hourly = 60 if realistic else UNLIMITED
        self.export_hour = SlidingWindow(hourly, 3600.0)
        self.export_second = SlidingWindow(3 if realistic else UNLIMITED, 1.0)
        self.query_hour = SlidingWindow(hourly, 3600.0)

    def refuse(self, export: bool) -> str | None:
        """The rate-limit message if this call is over a limit, else None (call counted)."""
        if export:
            if self.export_second.take():
                return (
                    f"Query rate limit exceeded for project_id: {PROJECT_ID}. "
                    "More than 3 queries per second."
                )
            hour = self.export_hour
        else:
            hour = self.query_hour
        if hour.take():
            used = hour.limit + 1
            return (
                f"Query rate limit exceeded for project_id: {PROJECT_ID}. 1/5 queries "
                f"running concurrently and {used}/{hour.limit} queries running in the "
                "last hour."
            )
        return None


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise MixpanelError(413, "request body too large")
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _authorize(request: Request, params: dict[str, str]) -> Response | None:
    header = request.headers.get("authorization")
    creds = basic_credentials(header)
    if creds is None and bearer_token(header) is None:
        return _error(request, 401, "Unable to authenticate request")
    service_account = creds is not None and bool(creds[0]) and bool(creds[1])
    if creds is not None and not creds[0]:
        return _error(request, 401, "Unable to authenticate request")
    project = params.get("project_id")
    if project is None:
        if service_account:
            return _error(request, 400, "project_id is required when using a service account")
        return None
    if project != str(PROJECT_ID):
        return _error(request, 403, f"Permission denied for project_id {project}")
    return None


def _endpoint(export: bool) -> Callable[[Handler], Endpoint]:
    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> ASGIResponse:
            try:
                params = await _params(request)
            except MixpanelError as exc:
                return _error(request, exc.status, exc.error)
            denied = _authorize(request, params)
            if denied is not None:
                return denied
            message = request.app.state.limits.refuse(export)
            if message:
                return _error(request, 429, message)
            try:
                response = await handler(request, params)
            except MixpanelError as exc:
                return _error(request, exc.status, exc.error)
            return response

        return endpoint

    return wrap


@_endpoint(export=True)
async def export(request: Request, params: dict[str, str]) -> ASGIResponse:
    """GET /api/2.0/export: JSON Lines of raw events."""
    world: World = request.app.state.world
    lines = export_lines(world, params)
    gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    return JsonLinesResponse(lines, gzip)


def group_profiles(world: World) -> list[dict[str, Any]]:
    """One profile per `company_domain` group (including the unmatched ones)."""
    accounts = world.accounts_by_domain
    today = world.now.date()
    out = []
    for plan in world.usage_plans:
        account = accounts.get(plan.domain)
        last_seen = (plan.silent_since or today) - timedelta(days=1)
        props: dict[str, Any] = {
            "$name": account.name if account else plan.domain,
            "$created": datetime.combine(plan.start, datetime.min.time(), UTC).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "$last_seen": f"{last_seen.isoformat()}T23:00:00",
            "company_domain": plan.domain,
        }
        if account:
            props.update(plan=account.plan, seats=account.seats, industry=account.industry)
        out.append({"$distinct_id": plan.domain, "$properties": props})
    return out


def user_profiles(world: World) -> list[dict[str, Any]]:
    """One profile per active product user."""
    today = world.now.date()
    out = []
    for plan in world.usage_plans:
        last_seen = (plan.silent_since or today) - timedelta(days=1)
        for email in plan.users:
            out.append(
                {
                    "$distinct_id": email,
                    "$properties": {
                        "$email": email,
                        "company_domain": plan.domain,
                        "$last_seen": f"{last_seen.isoformat()}T22:00:00",
                    },
                }
            )
    return out


@_endpoint(export=False)
async def engage(request: Request, params: dict[str, str]) -> ASGIResponse:
    """GET/POST /api/2.0/engage (and /api/query/engage): profiles, paged by session_id + page."""
    world: World = request.app.state.world
    group = params.get("data_group_id")
    if group is not None and group != GROUP_KEY_ID:
        raise MixpanelError(400, f"data_group_id {group} is not a group key of this project")
    cache: dict[str, list[dict[str, Any]]] = request.app.state.profiles
    kind = "groups" if group else "users"
    if kind not in cache:
        cache[kind] = group_profiles(world) if group else user_profiles(world)
    profiles = cache[kind]
    if params.get("where"):
        try:
            keep = compile_where(params["where"])
        except WhereError as exc:
            raise MixpanelError(400, f"invalid 'where' expression: {exc}") from None
        profiles = [p for p in profiles if keep(p["$properties"])]
    try:
        page = int(params.get("page", "0"))
        size = min(int(params.get("page_size", ENGAGE_PAGE_SIZE)), ENGAGE_PAGE_SIZE)
    except ValueError:
        raise MixpanelError(400, "'page' and 'page_size' must be integers") from None
    session = params.get("session_id")
    if page > 0 and not session:
        raise MixpanelError(400, "session_id is required when page is greater than 0")
    sessions: set[str] = request.app.state.sessions
    if session and session not in sessions:
        raise MixpanelError(400, "session_id is invalid or expired")
    if not session:
        session = f"{int(datetime.now(UTC).timestamp())}-{secrets.token_hex(4).upper()}"
        sessions.add(session)
    results = profiles[page * size : (page + 1) * size]
    body: dict[str, Any] = {
        "page": page,
        "page_size": size,
        "session_id": session,
        "status": "ok",
        "results": results,
    }
    if page == 0:
        body["total"] = len(profiles)
    return JSONResponse(body)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, getattr(exc, "status_code", 404), "Not Found")


async def _malformed(request: Request, exc: Exception) -> Response:
    return _error(request, 400, f"{type(exc).__name__}: {str(exc)[:200]}")


def make_app(world: World, *, rate_limits: str = "off") -> Starlette:
    """The Mixpanel emulator for `world` (export and engage on one host)."""
    routes = [
        Route("/api/2.0/export", export, methods=["GET"]),
        Route("/api/2.0/export/", export, methods=["GET"]),
        Route("/api/2.0/engage", engage, methods=["GET", "POST"]),
        Route("/api/query/engage", engage, methods=["GET", "POST"]),
    ]
    handlers: dict[Any, Any] = {
        **dict.fromkeys(MALFORMED_INPUT, _malformed),
        404: _not_found,
        405: _not_found,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.world = world
    app.state.limits = Limits(rate_limits == "realistic")
    app.state.sessions = set()
    app.state.profiles = {}
    install(app, Hooks(error=_fault_response))
    return app


def _fault_response(fault: Fault, path: str) -> Response:
    """An armed status fault: Mixpanel's `{"request", "error"}` body for that status."""
    error = (
        f"Query rate limit exceeded for project_id: {PROJECT_ID}. More than 3 queries per second."
        if fault.status == 429
        else "Unauthorized"
        if fault.status == 401
        else "Internal server error"
    )
    response = JSONResponse({"request": path, "error": error}, fault.status)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response
