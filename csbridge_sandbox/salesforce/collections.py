"""sObject Collections (`/composite/sobjects`): create (POST), update (PATCH), upsert by
external id (PATCH `/{Obj}/{Field}`) and delete (DELETE `?ids=`), at most 200 records,
`allOrNone`, per-record results `{"id", "success", "errors": [{statusCode, message, fields}]}`
in request order. A well-formed request answers 200 even when every record failed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.salesforce.http import SfHttpError, read_json, sf_json
from csbridge_sandbox.salesforce.schema import ObjectDef, normalise_id
from csbridge_sandbox.salesforce.store import Record, SalesforceStore
from csbridge_sandbox.salesforce.values import RecordError

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
# (kind, sobject, record or None, values, external key) planned per input record
Plan = tuple[str, ObjectDef, Record | None, Record, Any]


def _too_many() -> SfHttpError:
    return SfHttpError(
        400,
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )


def _failure(err: RecordError, record_id: str | None = None) -> dict[str, Any]:
    return {"id": record_id, "success": False, "errors": [err.as_result()]}


async def _body(request: Request) -> tuple[bool, list[Any]]:
    data = await read_json(request)
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise SfHttpError(400, "JSON_PARSER_ERROR", 'Expected {"records": [...]}')
    if len(data["records"]) > MAX_RECORDS:
        raise _too_many()
    return bool(data.get("allOrNone", False)), data["records"]


def _type_of(store: SalesforceStore, item: Any, default: ObjectDef | None) -> ObjectDef:
    if not isinstance(item, dict):
        raise RecordError("INVALID_INPUT", "Each record must be a JSON object")
    attrs = item.get("attributes")
    name = attrs.get("type") if isinstance(attrs, dict) else None
    odef = store.sobject(str(name)) if name else default
    if odef is None:
        raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
    return odef


def _plan_one(
    store: SalesforceStore, kind: str, item: Any, ext: tuple[ObjectDef, str] | None
) -> Plan:
    if ext is not None:
        odef, fname = ext
        key = item.get(fname) if isinstance(item, dict) else None
        if key in (None, ""):
            raise RecordError("MISSING_ARGUMENT", f"{fname} not specified", [fname])
        hits = [
            r
            for r in store.records[odef.name.lower()].values()
            if not r["IsDeleted"] and str(r.get(fname)) == str(key)
        ]
        if len(hits) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID",
                f"{fname}: more than one record found for external id field",
                [fname],
            )
        if hits:
            store.check_write(str(hits[0]["Id"]))
        values = store.validate(odef, item, creating=not hits)
        return ("upsert", odef, hits[0] if hits else None, values, key)
    odef = _type_of(store, item, None)
    if kind == "create":
        if any(k.lower() == "id" for k in item):
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        return ("create", odef, None, store.validate(odef, item, creating=True), None)
    raw_id = next((v for k, v in item.items() if k.lower() == "id"), None)
    if not raw_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    record_id = normalise_id(str(raw_id))
    if record_id is None or not record_id.startswith(odef.key_prefix):
        raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", [])
    record = store.records[odef.name.lower()].get(record_id)
    if record is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if record["IsDeleted"]:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
    store.check_write(record_id)
    return ("update", odef, record, store.validate(odef, item, creating=False), None)


def _run(
    store: SalesforceStore,
    kind: str,
    all_or_none: bool,
    items: list[Any],
    ext: tuple[ObjectDef, str] | None = None,
) -> list[dict[str, Any]]:
    with store.lock:
        plans: list[Plan | RecordError] = []
        for item in items:
            try:
                plans.append(_plan_one(store, kind, item, ext))
            except RecordError as err:
                plans.append(err)
        failed = any(isinstance(p, RecordError) for p in plans)
        results: list[dict[str, Any]] = []
        for plan in plans:
            if isinstance(plan, RecordError):
                results.append(_failure(plan))
            elif all_or_none and failed:
                rid = plan[2]["Id"] if plan[2] else None
                results.append(_failure(ROLLED_BACK, rid))
            else:
                results.append(_apply(store, plan))
        return results


def _apply(store: SalesforceStore, plan: Plan) -> dict[str, Any]:
    kind, odef, record, values, _key = plan
    if record is not None:
        store.update(odef, record, values)
        result: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
        if kind == "upsert":
            result["created"] = False
        return result
    new_id = store.create(odef, values)
    result = {"id": new_id, "success": True, "errors": []}
    if kind == "upsert":
        result["created"] = True
    return result


def collection_routes(store: SalesforceStore, prefix: str) -> list[BaseRoute]:
    """Routes for `/composite/sobjects` under the versioned prefix."""

    async def collections(request: Request) -> Response:
        if request.method == "DELETE":
            return sf_json(_delete(store, request))
        all_or_none, items = await _body(request)
        kind = "create" if request.method == "POST" else "update"
        return sf_json(_run(store, kind, all_or_none, items))

    async def upsert(request: Request) -> Response:
        odef = store.sobject(str(request.path_params["sobject"]))
        fdef = odef.get(str(request.path_params["field"])) if odef else None
        if odef is None or fdef is None or not fdef.external_id:
            raise SfHttpError(
                404,
                "NOT_FOUND",
                "Provided external ID field does not exist or is "
                f"not accessible: {request.path_params['field']}",
            )
        all_or_none, items = await _body(request)
        return sf_json(_run(store, "upsert", all_or_none, items, (odef, fdef.name)))

    return [
        Route(prefix + "/composite/sobjects", collections, methods=["POST", "PATCH", "DELETE"]),
        Route(prefix + "/composite/sobjects/", collections, methods=["POST", "PATCH", "DELETE"]),
        Route(prefix + "/composite/sobjects/{sobject}/{field}", upsert, methods=["PATCH"]),
    ]


def _delete(store: SalesforceStore, request: Request) -> list[dict[str, Any]]:
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if not ids:
        raise SfHttpError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"
    with store.lock:
        found: list[Record | RecordError] = []
        for raw in ids:
            hit = store.find(raw)
            if normalise_id(raw) is None:
                found.append(RecordError("MALFORMED_ID", f"malformed id {raw}"))
            elif hit is None:
                found.append(
                    RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                )
            elif hit[1]["IsDeleted"]:
                found.append(RecordError("ENTITY_IS_DELETED", "entity is deleted"))
            else:
                try:
                    store.check_write(str(hit[1]["Id"]), validated=False)
                    found.append(hit[1])
                except RecordError as err:
                    found.append(err)
        failed = any(isinstance(f, RecordError) for f in found)
        results = []
        for raw, item in zip(ids, found, strict=True):
            if isinstance(item, RecordError):
                results.append(_failure(item, raw))
            elif all_or_none and failed:
                results.append(_failure(ROLLED_BACK, str(item["Id"])))
            else:
                store.delete(item)
                results.append({"id": item["Id"], "success": True, "errors": []})
        return results
