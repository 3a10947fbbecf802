"""HubSpot properties API routes: `/crm/v3/properties/{objectType}` (list, get, create 201,
patch, archive 204, batch create/read) and `/groups` (list, get, create 201)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.hubspot.http import HsError, hs_json, read_json
from csbridge_sandbox.hubspot.properties import FIELD_TYPES, TYPES, Prop
from csbridge_sandbox.hubspot.store import HubSpotStore, iso

_NAME = r"^[a-z][a-z0-9_]*$"


def build_property(store: HubSpotStore, obj_type: str, body: Any) -> Prop:
    """A new Prop from a PropertyCreate body, refusing what HubSpot refuses."""
    if not isinstance(body, dict):
        raise HsError(400, "Invalid input JSON: expected an object")
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise HsError(400, f"Missing required fields: {missing}")
    name = str(body["name"])
    if not re.match(_NAME, name):
        raise HsError(
            400,
            f"Property name '{name}' must start with a lowercase letter and "
            "contain only lowercase letters, digits and underscores",
        )
    if body["type"] not in TYPES or body["fieldType"] not in FIELD_TYPES:
        raise HsError(400, f"Invalid type/fieldType: {body['type']}/{body['fieldType']}")
    if body["groupName"] not in store.groups[obj_type]:
        raise HsError(400, f"Property group {body['groupName']} does not exist")
    options = body.get("options") or []
    if body["type"] == "enumeration" and not options:
        raise HsError(400, "Enumeration properties require at least one option")
    if body["type"] == "enumeration" and body["fieldType"] not in {
        "select",
        "radio",
        "checkbox",
        "booleancheckbox",
    }:
        raise HsError(400, f"fieldType {body['fieldType']} is not valid for an enumeration")
    existing = store.props[obj_type].get(name)
    if existing is not None and not existing.archived:
        raise HsError(409, f"A property named '{name}' already exists.", "CONFLICT")
    return Prop(
        name,
        str(body["label"]),
        str(body["type"]),
        str(body["fieldType"]),
        str(body["groupName"]),
        [
            {
                "label": o.get("label"),
                "value": o.get("value"),
                "displayOrder": o.get("displayOrder", i),
                "hidden": bool(o.get("hidden")),
            }
            for i, o in enumerate(options)
        ],
        unique=bool(body.get("hasUniqueValue", False)),
        hubspot_defined=False,
        description=str(body.get("description", "")),
        created_at=iso(store.clock()),
    )


def property_routes(store: HubSpotStore) -> list[BaseRoute]:
    """Routes for properties and property groups."""

    def obj_type(request: Request) -> str:
        return store.object_type(str(request.path_params["object_type"]))

    async def collection(request: Request) -> Response:
        kind = obj_type(request)
        if request.method == "GET":
            archived = request.query_params.get("archived", "false") == "true"
            return hs_json(
                {
                    "results": [
                        p.to_json() for p in store.props[kind].values() if p.archived == archived
                    ]
                }
            )
        prop = build_property(store, kind, await read_json(request))
        with store.lock:
            store.props[kind][prop.name] = prop
        return hs_json(prop.to_json(), 201)

    async def one(request: Request) -> Response:
        kind = obj_type(request)
        name = str(request.path_params["name"])
        prop = store.props[kind].get(name)
        if prop is None or prop.archived:
            raise HsError(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        if request.method == "DELETE":
            if prop.hubspot_defined:
                raise HsError(400, f"{name} is a HubSpot defined property and cannot be archived")
            prop.archived = True
            return Response(status_code=204)
        if request.method == "PATCH":
            body = await read_json(request)
            if not isinstance(body, dict):
                raise HsError(400, "Invalid input JSON: expected an object")
            if prop.hubspot_defined and set(body) - {"label", "description"}:
                raise HsError(
                    400,
                    f"{name} is a HubSpot defined property; only label and description can change",
                )
            prop.label = str(body.get("label", prop.label))
            prop.description = str(body.get("description", prop.description))
            if "options" in body:
                prop.options = list(body["options"])
        return hs_json(prop.to_json())

    async def batch_create(request: Request) -> Response:
        kind = obj_type(request)
        body = await read_json(request)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HsError(400, "Invalid input JSON: inputs is required")
        props = [build_property(store, kind, item) for item in inputs]
        with store.lock:
            for prop in props:
                store.props[kind][prop.name] = prop
        now = iso(store.clock())
        return hs_json(
            {
                "status": "COMPLETE",
                "results": [p.to_json() for p in props],
                "startedAt": now,
                "completedAt": now,
            },
            201,
        )

    async def batch_read(request: Request) -> Response:
        kind = obj_type(request)
        body = await read_json(request)
        names = [str(i.get("name")) for i in (body or {}).get("inputs", [])]
        found = [store.props[kind][n] for n in names if n in store.props[kind]]
        missing = [n for n in names if n not in store.props[kind]]
        now = iso(store.clock())
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": [p.to_json() for p in found],
            "startedAt": now,
            "completedAt": now,
        }
        if missing:
            out["numErrors"] = len(missing)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Unable to find property {n}",
                    "context": {"name": [n]},
                }
                for n in missing
            ]
        return hs_json(out, 207 if missing else 200)

    async def groups(request: Request) -> Response:
        kind = obj_type(request)
        if request.method == "GET":
            return hs_json({"results": list(store.groups[kind].values())})
        body = await read_json(request)
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise HsError(400, "Missing required fields: name, label")
        name = str(body["name"])
        if name in store.groups[kind]:
            raise HsError(409, f"A property group named '{name}' already exists.", "CONFLICT")
        group = {
            "name": name,
            "label": str(body["label"]),
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        store.groups[kind][name] = group
        return hs_json(group, 201)

    async def group(request: Request) -> Response:
        found = store.groups[obj_type(request)].get(str(request.path_params["name"]))
        if found is None:
            raise HsError(404, "Unable to find property group", "OBJECT_NOT_FOUND")
        return hs_json(found)

    base = "/crm/v3/properties/{object_type}"
    return [
        Route(base, collection, methods=["GET", "POST"]),
        Route(base + "/groups", groups, methods=["GET", "POST"]),
        Route(base + "/groups/{name}", group),
        Route(base + "/batch/create", batch_create, methods=["POST"]),
        Route(base + "/batch/read", batch_read, methods=["POST"]),
        Route(base + "/{name}", one, methods=["GET", "PATCH", "DELETE"]),
    ]
