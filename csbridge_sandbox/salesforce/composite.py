"""Salesforce Composite (`POST /composite`): up to 25 subrequests run in order against the
same emulator, later ones referring to earlier results with `@{refId.field}` or
`@{refId.records[0].Id}`; the whole call counts as one API request. With `allOrNone` the
first failure rolls every change back and the other subrequests answer PROCESSING_HALTED.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.salesforce.http import SfHttpError, read_json, sf_json
from csbridge_sandbox.salesforce.store import SalesforceStore

MAX_SUBREQUESTS = 25
HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass
class CompositeTarget:
    """The app subrequests are sent to (the router behind the exception handlers, so the
    API-usage gate counts the composite call once); set by `make_app`."""

    app: ASGIApp | None = None


class _Unresolved(Exception):
    pass


def _lookup(results: dict[str, Any], ref: str, path: str) -> Any:
    if ref not in results:
        raise _Unresolved(ref)
    value = results[ref]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Unresolved(ref + path) from exc
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(results, whole.group(1), whole.group(2))
        return _REF.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    return value


async def _call(
    app: ASGIApp, method: str, url: str, body: Any, auth: bytes
) -> tuple[int, dict[str, str], Any]:
    path, _, query = url.partition("?")
    payload = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 443),
        "headers": [(b"authorization", auth), (b"content-type", b"application/json")],
    }
    messages = [{"type": "http.request", "body": payload, "more_body": False}]
    status, headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.update({k.decode(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    raw = b"".join(chunks)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    keep = {k: v for k, v in headers.items() if k.lower() in {"location"}}
    return status, keep, parsed


def composite_routes(
    store: SalesforceStore, prefix: str, target: CompositeTarget
) -> list[BaseRoute]:
    """The `/composite` route."""

    async def composite(request: Request) -> Response:
        body = await read_json(request)
        subs = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subs, list) or not subs:
            raise SfHttpError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        if len(subs) > MAX_SUBREQUESTS:
            raise SfHttpError(
                400,
                "INVALID_REQUEST",
                f"Composite requests can have at most {MAX_SUBREQUESTS} subrequests",
            )
        all_or_none = bool(body.get("allOrNone", False))
        auth = request.headers.get("authorization", "").encode("latin-1")
        assert target.app is not None
        snapshot = copy.deepcopy(store.records) if all_or_none else None
        results: dict[str, Any] = {}
        answers: list[dict[str, Any]] = []
        failed_at = None
        for i, sub in enumerate(subs):
            ref = str(sub.get("referenceId", f"ref{i}"))
            try:
                url = _substitute(str(sub.get("url", "")), results)
                payload = _substitute(sub.get("body"), results)
            except _Unresolved as exc:
                message = f"Invalid reference specified. No value for {exc} found in {ref}."
                halted = [{"errorCode": "PROCESSING_HALTED", "message": message}]
                answers.append(_answer(ref, 400, {}, halted))
                failed_at = i if failed_at is None else failed_at
                continue
            headers: dict[str, str] = {}
            if not url.startswith("/services/data/"):
                status = 400
                parsed: Any = [{"errorCode": "INVALID_URL", "message": f"Invalid url: {url}"}]
            else:
                status, headers, parsed = await _call(
                    target.app, str(sub.get("method", "GET")), url, payload, auth
                )
            results[ref] = parsed
            answers.append(_answer(ref, status, headers, parsed))
            if status >= 400 and failed_at is None:
                failed_at = i
                if all_or_none:
                    break
        if all_or_none and failed_at is not None:
            with store.lock:
                assert snapshot is not None
                store.records.clear()
                store.records.update(snapshot)
            halted = [{"errorCode": "PROCESSING_HALTED", "message": HALTED}]
            answers = [
                a if i == failed_at else _answer(a["referenceId"], 400, {}, halted)
                for i, a in enumerate(answers)
            ]
            answers += [
                _answer(str(s.get("referenceId", f"ref{i}")), 400, {}, halted)
                for i, s in enumerate(subs)
                if i >= len(answers)
            ]
        return sf_json({"compositeResponse": answers})

    return [
        Route(prefix + "/composite", composite, methods=["POST"]),
        Route(prefix + "/composite/", composite, methods=["POST"]),
    ]


def _answer(ref: str, status: int, headers: dict[str, str], body: Any) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}
