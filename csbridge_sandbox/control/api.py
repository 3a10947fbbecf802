"""Sandbox control: call statistics and fault injection, the same on every emulator.

`install(app, hooks)` puts a `Control` on `app.state.control` (in tests:
`sandbox.control("hubspot")`) and an outermost middleware that serves, without auth,
rate limits or being counted:

- `GET /_sandbox/stats`: `{"calls", "writes", "records_written", "by_route", "by_status"}`
  since start or the last reset. `by_route` keys are `"<METHOD> <route template>"` with
  object types filled in and ids as `{id}` (`"POST /crm/v3/objects/companies/batch/update"`,
  `"PATCH /services/data/v59.0/sobjects/Account/{id}"`). A write is any POST, PATCH, PUT or
  DELETE except the reads that use POST (search, batch/read, the OAuth token, engage).
  `records_written` counts records created, updated or deleted (a Composite or Bulk job
  counts every record it wrote, though it is one call).
- `POST /_sandbox/stats/reset`: zero the counters.
- `GET /_sandbox/faults` lists what is armed; `POST /_sandbox/faults` arms a fault (a JSON
  object) or several (an array), 201, or 400 naming the bad field; `DELETE` disarms all.

Fault specs (`control_faults.py`), each consumed as it fires:
- `{"kind": "status", "status": 429|500|503|..., "count": 1, "match": "POST /crm/v3/objects"}`
  answers with the vendor's own error body and headers, before anything is committed
  (`retry_after` adds a `Retry-After` header where the vendor would not).
- `{"kind": "timeout_after_commit", "count": 1, "match": "...", "delay": 5}` serves and
  commits the request, then holds the answer back `delay` seconds, so a client with a
  shorter read timeout times out although the write happened.
- `{"kind": "reject_record", "object": "companies"|"Account"|..., "id": "...", "count": -1,
  "message": "..."}` fails updates of that record per record (HubSpot 207 VALIDATION_ERROR,
  Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION in Collections results or Bulk failedResults)
  while the rest of the batch lands.
- `{"kind": "api_usage", "used": U, "max": M}` (Salesforce): the org's daily counter reads
  U/M from now on, counts on, and answers 403 REQUEST_LIMIT_EXCEEDED once used >= max.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from csbridge_sandbox.common import MALFORMED_INPUT
from csbridge_sandbox.control.faults import FaultError
from csbridge_sandbox.control.state import Control, Hooks

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/_sandbox"
MAX_BODY = 65_536


def install(app: Starlette, hooks: Hooks) -> Control:
    """Give `app` its Control and the outermost middleware serving `/_sandbox/*`."""
    control = Control(hooks, app.router.routes)
    app.add_middleware(ControlMiddleware, control=control)
    app.state.control = control
    return control


class ControlMiddleware:
    """Serves the control endpoints, counts every other call and fires request faults."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if path == PREFIX or path.startswith(PREFIX + "/"):
            response = await _answer(self.control, Request(scope, receive))
            await response(scope, receive, send)
            return
        control, method = self.control, scope["method"]
        control.count_call(method, path)
        fault = control.take_request_fault(method, control.hooks.route_path(path))

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                control.count_status(int(message["status"]))
            await send(message)

        if fault is None:
            await self.app(scope, receive, counted)
        elif fault.kind == "status":
            await Request(scope, receive).body()  # drained, never used: nothing is committed
            await control.hooks.error(fault, path)(scope, receive, counted)
        else:
            held: list[Message] = []

            async def hold(message: Message) -> None:
                if message["type"] == "http.response.start":
                    control.count_status(int(message["status"]))
                held.append(message)

            await self.app(scope, receive, hold)  # served and committed
            try:
                await asyncio.wait_for(_disconnect(receive), fault.delay)
                return  # the client gave up waiting: the answer is lost, as on a real network
            except TimeoutError:
                pass
            for message in held:
                await send(message)


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _answer(control: Control, request: Request) -> Response:
    path, method = request.url.path.rstrip("/"), request.method
    if path == PREFIX + "/stats" and method == "GET":
        return JSONResponse(control.stats())
    if path == PREFIX + "/stats/reset" and method == "POST":
        control.reset_stats()
        return JSONResponse(control.stats())
    if path != PREFIX + "/faults":
        return JSONResponse(
            {"error": f"no control endpoint {method} {path}; see csbridge_sandbox/control/api.py"},
            404,
        )
    if method == "GET":
        return JSONResponse({"faults": control.armed()})
    if method == "DELETE":
        control.clear()
        return JSONResponse({"faults": []})
    if method != "POST":
        return JSONResponse({"error": "use GET, POST or DELETE on /_sandbox/faults"}, 405)
    raw = await request.body()
    try:
        if len(raw) > MAX_BODY:
            raise FaultError(f"body: at most {MAX_BODY} bytes")
        body = json.loads(raw or b"null")
        armed = control.arm_all(body if isinstance(body, list) else [body])
    except MALFORMED_INPUT as exc:  # FaultError (a ValueError), bad or absurdly nested JSON
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse({"faults": armed}, 201)
