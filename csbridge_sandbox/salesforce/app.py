"""Salesforce REST API emulator: OAuth token, versions, SOQL query/queryAll with
`nextRecordsUrl` paging, sObject CRUD/describe/upsert, limits; Collections, Bulk API 2.0
and Tooling `CustomField` live in their own modules.

Served over TLS by the runner because simple-salesforce always builds https:// URLs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.common import MALFORMED_INPUT
from csbridge_sandbox.control.api import install
from csbridge_sandbox.control.state import Hooks
from csbridge_sandbox.salesforce.bulk import bulk_routes
from csbridge_sandbox.salesforce.collections import collection_routes
from csbridge_sandbox.salesforce.composite import CompositeTarget, composite_routes
from csbridge_sandbox.salesforce.http import (
    ApiUsage,
    SalesforceGate,
    SfHttpError,
    fault_response,
    not_found,
    read_json,
    sf_error,
    sf_json,
)
from csbridge_sandbox.salesforce.replication import replication_routes
from csbridge_sandbox.salesforce.schema import ObjectDef, describe, normalise_id
from csbridge_sandbox.salesforce.soql import SoqlError
from csbridge_sandbox.salesforce.store import QueryResult, Record, SalesforceStore
from csbridge_sandbox.salesforce.tooling import tooling_routes
from csbridge_sandbox.salesforce.values import RecordError, render
from csbridge_sandbox.world.build import World

VERSIONS = [f"{v}.0" for v in range(31, 67)]
DEFAULT_BATCH = 2000
DAILY_LIMIT = 100_000
ORG_ID = "00DSb0000000001EAA"


class QueryCursors:
    """Open query locators: `01g…` id -> the full ordered result (kept for the last 100)."""

    def __init__(self) -> None:
        self.open: OrderedDict[str, QueryResult] = OrderedDict()
        self._ids = itertools.count(1)

    def add(self, result: QueryResult) -> str:
        """Register a result set; returns its locator id."""
        locator = f"01gSb{next(self._ids):013d}"
        self.open[locator] = result
        while len(self.open) > 100:
            self.open.popitem(last=False)
        return locator


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), 200), 2000)
    return DEFAULT_BATCH


def _page(result: QueryResult, locator: str, offset: int, size: int, version: str) -> Any:
    end = offset + size
    body: dict[str, Any] = {"totalSize": result.total, "done": end >= result.total}
    if end < result.total:
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
    body["records"] = result.render(offset, end)
    return body


def _routes(
    store: SalesforceStore, usage: ApiUsage, cursors: QueryCursors, target: CompositeTarget
) -> list[BaseRoute]:
    def version_of(request: Request) -> str:
        version = str(request.path_params["version"])
        if version not in VERSIONS:
            raise not_found()
        return version

    def sobject_of(request: Request) -> ObjectDef:
        odef = store.sobject(str(request.path_params["sobject"]))
        if odef is None:
            raise not_found()
        return odef

    async def token(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        form = {k: v[-1] for k, v in parse_qs(body).items()}
        grant = str(form.get("grant_type") or "")
        client_id = str(form.get("client_id") or "")
        auth = request.headers.get("authorization", "")
        if grant == "client_credentials" and auth.lower().startswith("basic "):
            try:
                client_id = base64.b64decode(auth[6:]).decode().partition(":")[0]
            except ValueError:
                client_id = ""
        if grant not in {"client_credentials", "password"}:
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        if not client_id:
            return JSONResponse(
                {"error": "invalid_client_id", "error_description": "client identifier invalid"},
                400,
            )
        if grant == "password" and not (form.get("username") and form.get("password")):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "authentication failure"}, 400
            )
        issued = str(int(time.time() * 1000))
        access = f"{ORG_ID[:15]}!AQ{hashlib.sha256((client_id + issued).encode()).hexdigest()}"
        base = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse(
            {
                "access_token": access,
                "instance_url": base,
                "id": f"{base}/id/{ORG_ID}/{store.integration_user}",
                "token_type": "Bearer",
                "issued_at": issued,
                "scope": "api",
                "signature": base64.b64encode(hashlib.sha256(access.encode()).digest()).decode(),
            }
        )

    async def versions(request: Request) -> Response:
        return sf_json(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    async def resources(request: Request) -> Response:
        v = version_of(request)
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling")
        return sf_json({n: f"/services/data/v{v}/{n}" for n in names})

    async def limits(request: Request) -> Response:
        version_of(request)
        remaining = max(usage.limit - usage.used, 0)
        return sf_json(
            {
                "DailyApiRequests": {"Max": usage.limit, "Remaining": remaining},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
            }
        )

    async def query(request: Request) -> Response:
        v = version_of(request)
        text = request.query_params.get("q")
        if text is None:
            raise SfHttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        include_deleted = request.url.path.rstrip("/").endswith("queryAll")
        size = _batch_size(request)

        def run() -> Any:
            try:
                result = store.query(text, include_deleted=include_deleted, version=v)
            except SoqlError as exc:
                raise SfHttpError(400, exc.code, exc.message) from exc
            if not result.rows:
                return {"totalSize": result.total, "done": True, "records": []}
            return _page(result, cursors.add(result), 0, size, v)

        # SOQL over a large org is CPU work: keep it off the event loop the emulators share
        return sf_json(await run_in_threadpool(run))

    async def query_more(request: Request) -> Response:
        v = version_of(request)
        locator, _, offset = str(request.path_params["locator"]).rpartition("-")
        result = cursors.open.get(locator)
        if result is None or not offset.isdigit() or int(offset) > result.total:
            raise SfHttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        page = await run_in_threadpool(_page, result, locator, int(offset), _batch_size(request), v)
        return sf_json(page)

    async def describe_global(request: Request) -> Response:
        v = version_of(request)
        objs = [
            {
                k: d[k]
                for k in (
                    "name",
                    "label",
                    "keyPrefix",
                    "custom",
                    "createable",
                    "updateable",
                    "queryable",
                    "urls",
                )
            }
            for d in (describe(o, v) for o in store.schema.values())
        ]
        return sf_json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objs})

    async def sobject_root(request: Request) -> Response:
        v, odef = version_of(request), sobject_of(request)
        if request.method == "GET":
            info = describe(odef, v)
            return sf_json(
                {
                    "objectDescribe": {k: val for k, val in info.items() if k != "fields"},
                    "recentItems": [],
                }
            )
        data = await read_json(request)
        if not isinstance(data, dict):
            raise SfHttpError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        with store.lock:
            try:
                values = store.validate(odef, data, creating=True)
            except RecordError as err:
                return sf_json([err.as_top_level()], 400)
            new_id = store.create(odef, values)
        return sf_json({"id": new_id, "success": True, "errors": []}, 201)

    async def sobject_describe(request: Request) -> Response:
        return sf_json(describe(sobject_of(request), version_of(request)))

    async def record(request: Request) -> Response:
        v, odef = version_of(request), sobject_of(request)
        raw_id = str(request.path_params["record_id"])
        record_id = normalise_id(raw_id)
        if record_id is None or not record_id.startswith(odef.key_prefix):
            raise SfHttpError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw_id}",
            )
        with store.lock:
            found = store.records[odef.name.lower()].get(record_id)
            if found is None:
                raise not_found()
            if found["IsDeleted"]:
                raise SfHttpError(404, "ENTITY_IS_DELETED", "entity is deleted")
            if request.method == "GET":
                return sf_json(_render_record(store, odef, found, request, v))
            if request.method == "DELETE":
                try:
                    store.check_write(record_id, validated=False)
                except RecordError as err:
                    return sf_json([err.as_top_level()], 400)
                store.delete(found)
                return Response(status_code=204)
            data = await read_json(request)
            if not isinstance(data, dict):
                raise SfHttpError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
            try:
                store.check_write(record_id)
                store.update(odef, found, store.validate(odef, data, creating=False))
            except RecordError as err:
                return sf_json([err.as_top_level()], 400)
        return Response(status_code=204)

    async def by_external_id(request: Request) -> Response:
        v, odef = version_of(request), sobject_of(request)
        fname, value = str(request.path_params["field"]), str(request.path_params["value"])
        blob, blob_id = odef.get(value), normalise_id(fname)
        if blob is not None and blob.type == "base64" and blob_id and request.method == "GET":
            with store.lock:  # GET /sobjects/ContentNote/{id}/Content: the blob itself
                found = store.live(odef, blob_id)
                if found is None:
                    raise not_found()
                data = base64.b64decode(found.get(blob.name) or "")
            return Response(data, media_type="application/octet-stream")
        fdef = odef.get(fname)
        if fdef is None or not (fdef.external_id or fdef.name == "Id"):
            raise SfHttpError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {fname}",
            )
        with store.lock:
            hits = [
                r
                for r in store.records[odef.name.lower()].values()
                if not r["IsDeleted"] and str(r.get(fdef.name)) == value
            ]
            if request.method == "GET":
                if not hits:
                    raise not_found()
                return sf_json(_render_record(store, odef, hits[0], request, v))
            if len(hits) > 1:
                return sf_json([store.attributes(odef, r, v)["url"] for r in hits], 300)
            data = await read_json(request)
            if not isinstance(data, dict):
                raise SfHttpError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
            try:
                values = store.validate(odef, data, creating=not hits)
                if hits:
                    store.check_write(str(hits[0]["Id"]))
                    store.update(odef, hits[0], values)
                    rid, created = str(hits[0]["Id"]), False
                else:
                    rid, created = store.create(odef, {**values, fdef.name: value}), True
            except RecordError as err:
                return sf_json([err.as_top_level()], 400)
        body = {"id": rid, "success": True, "errors": [], "created": created}
        return sf_json(body, 201 if created else 200)

    prefix = "/services/data/v{version}"
    return [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/data", versions),
        Route("/services/data/", versions),
        Route(prefix, resources),
        Route(prefix + "/", resources),
        Route(prefix + "/limits", limits),
        Route(prefix + "/limits/", limits),
        *(Route(prefix + p, query) for p in ("/query", "/query/", "/queryAll", "/queryAll/")),
        Route(prefix + "/query/{locator}", query_more),
        Route(prefix + "/queryAll/{locator}", query_more),
        Route(prefix + "/sobjects", describe_global),
        Route(prefix + "/sobjects/", describe_global),
        Route(prefix + "/sobjects/{sobject}", sobject_root, methods=["GET", "POST"]),
        Route(prefix + "/sobjects/{sobject}/", sobject_root, methods=["GET", "POST"]),
        *replication_routes(store, prefix),
        Route(prefix + "/sobjects/{sobject}/describe", sobject_describe),
        Route(prefix + "/sobjects/{sobject}/describe/", sobject_describe),
        Route(
            prefix + "/sobjects/{sobject}/{record_id}", record, methods=["GET", "PATCH", "DELETE"]
        ),
        Route(
            prefix + "/sobjects/{sobject}/{field}/{value}", by_external_id, methods=["GET", "PATCH"]
        ),
        *collection_routes(store, prefix),
        *composite_routes(store, prefix, target),
        *bulk_routes(store, prefix),
        *tooling_routes(store, prefix),
    ]


def _render_record(
    store: SalesforceStore, odef: ObjectDef, record: Record, request: Request, version: str
) -> Record:
    wanted = request.query_params.get("fields")
    names = [f.strip() for f in wanted.split(",")] if wanted else None
    out: Record = {"attributes": store.attributes(odef, record, version)}
    for fdef in odef.fields.values():
        if names is None or fdef.name.lower() in {n.lower() for n in names}:
            out[fdef.name] = render(record.get(fdef.name))
    return out


async def _sf_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SfHttpError)
    return sf_error(exc.status, exc.code, exc.message, exc.fields)


async def _malformed(request: Request, exc: Exception) -> Response:
    return sf_error(400, "JSON_PARSER_ERROR", f"{type(exc).__name__}: {str(exc)[:200]}")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if status == 405:
        return sf_error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are GET",
        )
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def make_app(
    world: World, *, rate_limits: str = "off", daily_api_limit: int | None = None
) -> Starlette:
    """The Salesforce emulator for `world`. The daily API quota (`Sforce-Limit-Info` and
    `/limits`) is `daily_api_limit` or 100,000; it is enforced with 403
    REQUEST_LIMIT_EXCEEDED when `rate_limits="realistic"` or an explicit limit is given.
    Stats and faults: `/_sandbox/*`, see control.py."""
    store = SalesforceStore(world)
    usage = ApiUsage(
        limit=daily_api_limit or DAILY_LIMIT,
        enforce=rate_limits == "realistic" or daily_api_limit is not None,
    )
    handlers: dict[Any, Any] = {
        **dict.fromkeys(MALFORMED_INPUT, _malformed),
        SfHttpError: _sf_http_error,
        404: _method_not_allowed,
        405: _method_not_allowed,
    }
    target = CompositeTarget()
    app = Starlette(
        routes=_routes(store, usage, QueryCursors(), target), exception_handlers=handlers
    )
    target.app = ExceptionMiddleware(app.router, handlers=handlers)
    app.add_middleware(SalesforceGate, usage=usage)
    app.state.store = store
    app.state.usage = usage

    def sobject_name(name: str) -> str | None:
        odef = store.sobject(name)
        return odef.name if odef is not None and odef.name != "User" else None

    control = install(
        app,
        Hooks(
            error=lambda fault, path: fault_response(fault.status, fault.retry_after),
            canonical_object=sobject_name,
            canonical_id=lambda raw: normalise_id(raw) or raw,
            records_written=lambda: store.records_written,
            quota=usage,
        ),
    )
    store.reject = control.take_rejection
    return app
