"""HubSpot CRM v3 batch endpoints: read/create/update/upsert/archive, at most 100 inputs
(50 for reads with propertiesWithHistory). Status codes as the SDK maps them: create 201,
read/update/upsert 200, any of them 207 with `numErrors`/`errors[]` on partial failure,
archive 204. Property validation errors fail the whole batch with 400 unless every input
carries an `objectWriteTraceId` (HubSpot's multi-status opt-in), then they are per-input.
A record under the reject_record fault (control.py) fails alone, 207, as a per-input
VALIDATION_ERROR whose context names its id, while the rest of the batch lands.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.hubspot.http import HsError, hs_json, read_json
from csbridge_sandbox.hubspot.properties import errors_message
from csbridge_sandbox.hubspot.store import READ_ONLY_TYPES, SINGULAR, HsObject, HubSpotStore, iso

MAX_INPUTS = 100
MAX_HISTORY_INPUTS = 50
TOO_MANY = (
    "The maximum number of inputs supported in a batch is 100. Please reduce the "
    "number of items and try again"
)


def _inputs(body: Any, cap: int = MAX_INPUTS) -> list[Any]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise HsError(400, "Invalid input JSON: inputs is required")
    if len(inputs) > cap:
        raise HsError(
            400,
            TOO_MANY
            if cap == MAX_INPUTS
            else (
                "The maximum number of inputs supported in a batch request for property histories "
                "is 50"
            ),
        )
    return inputs


def _response(
    store: HubSpotStore, results: list[dict[str, Any]], errors: list[dict[str, Any]], ok_status: int
) -> Response:
    now = iso(store.clock())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return hs_json(body, 207 if errors else ok_status)


def _not_found(obj_type: str, ids: list[str], verb: str = "get") -> dict[str, Any]:
    name = SINGULAR[obj_type].upper()
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not {verb} some {name} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ids},
    }


def _validation(errors: list[dict[str, Any]], trace: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": errors_message(errors),
        "context": {},
    }
    if trace is not None:
        out["context"] = {"objectWriteTraceId": [str(trace)]}
    return out


def _traced(error: dict[str, Any], trace: Any) -> dict[str, Any]:
    if trace is not None:
        error["context"]["objectWriteTraceId"] = [str(trace)]
    return error


def object_kind(store: HubSpotStore, request: Request, writing: bool = False) -> str:
    """The request's object type; a write to a read-only type (feedback) is a 405."""
    obj_type = store.object_type(str(request.path_params["object_type"]))
    if writing and obj_type in READ_ONLY_TYPES:
        raise HsError(
            405,
            "This API is read-only: feedback submissions cannot be created, updated or deleted",
            "METHOD_NOT_ALLOWED",
        )
    return obj_type


def batch_routes(store: HubSpotStore) -> list[BaseRoute]:
    """Routes for `/crm/v3/objects/{type}/batch/*`."""

    async def read(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=False)
        body = await read_json(request)
        history = (body or {}).get("propertiesWithHistory") or []
        inputs = _inputs(body, MAX_HISTORY_INPUTS if history else MAX_INPUTS)
        archived = request.query_params.get("archived", "false") == "true"
        id_property = (body or {}).get("idProperty")
        results, missing = [], []
        with store.lock:
            for item in inputs:
                obj = store.get(obj_type, str(item.get("id")), id_property, archived)
                if obj is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(store.render(obj, body.get("properties"), None, history))
        errors = [_not_found(obj_type, missing)] if missing else []
        return _response(store, results, errors, 200)

    async def create(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=True)
        inputs = _inputs(await read_json(request))
        multi = bool(inputs) and all(i.get("objectWriteTraceId") for i in inputs)
        results, errors = [], []
        with store.lock:
            planned = []
            for item in inputs:
                clean, problems = store.check(obj_type, item.get("properties") or {}, True)
                if problems and not multi:
                    raise HsError(400, errors_message(problems))
                if problems:
                    errors.append(_validation(problems, item.get("objectWriteTraceId")))
                else:
                    links = store.plan_associations(obj_type, item.get("associations"))
                    planned.append((clean, links))
            for clean, links in planned:
                obj = store.create(obj_type, clean)
                for to_type, to_id, type_id, category in links:
                    store.associate(obj_type, obj.id, to_type, to_id, type_id, category)
                results.append(store.render(obj, list(clean)))
        return _response(store, results, errors, 201)

    async def update(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=True)
        inputs = _inputs(await read_json(request))
        ids = [str(i.get("id")) for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise HsError(
                400, f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
            )
        multi = bool(inputs) and all(i.get("objectWriteTraceId") for i in inputs)
        results, errors, missing = [], [], []
        with store.lock:
            planned: list[tuple[HsObject, dict[str, str | None]]] = []
            for item in inputs:
                obj = store.get(obj_type, str(item.get("id")), item.get("idProperty"))
                if obj is None:
                    missing.append(str(item.get("id")))
                    continue
                clean, problems = store.check(obj_type, item.get("properties") or {}, False)
                if problems and not multi:
                    raise HsError(400, errors_message(problems))
                rejected = None if problems else store.rejection(obj)
                if problems:
                    errors.append(_validation(problems, item.get("objectWriteTraceId")))
                elif rejected is not None:
                    errors.append(_traced(rejected, item.get("objectWriteTraceId")))
                else:
                    planned.append((obj, clean))
            for obj, clean in planned:
                store.update(obj, clean)
                results.append(store.render(obj, list(clean)))
        if missing:
            errors.insert(0, _not_found(obj_type, missing, "update"))
        return _response(store, results, errors, 200)

    async def upsert(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=True)
        inputs = _inputs(await read_json(request))
        default_prop = request.query_params.get("idProperty")
        results, errors = [], []
        with store.lock:
            for item in inputs:
                id_property = item.get("idProperty") or default_prop
                prop = store.props[obj_type].get(str(id_property))
                if prop is None or not prop.unique:
                    raise HsError(400, f"idProperty {id_property} must be a unique-value property")
                key = str(item.get("id"))
                existing = store.get(obj_type, key, str(id_property))
                values = {**(item.get("properties") or {}), str(id_property): key}
                clean, problems = store.check(obj_type, values, existing is None)
                if problems:
                    errors.append(_validation(problems, item.get("objectWriteTraceId")))
                    continue
                rejected = store.rejection(existing) if existing is not None else None
                if rejected is not None:
                    errors.append(_traced(rejected, item.get("objectWriteTraceId")))
                    continue
                if existing is None:
                    obj = store.create(obj_type, clean)
                else:
                    store.update(existing, clean)
                    obj = existing
                results.append({**store.render(obj, list(clean)), "new": existing is None})
        return _response(store, results, errors, 200)

    async def archive(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=True)
        inputs = _inputs(await read_json(request))
        with store.lock:
            for item in inputs:
                obj = store.get(obj_type, str(item.get("id")))
                if obj is not None:
                    store.archive(obj)
        return Response(status_code=204)

    base = "/crm/v3/objects/{object_type}/batch"
    return [
        Route(base + "/read", read, methods=["POST"]),
        Route(base + "/create", create, methods=["POST"]),
        Route(base + "/update", update, methods=["POST"]),
        Route(base + "/upsert", upsert, methods=["POST"]),
        Route(base + "/archive", archive, methods=["POST"]),
    ]
