"""HubSpot CRM emulator: v3 objects (companies, contacts, deals, tasks, read-only
feedback_submissions) with list/get/create/update/archive, batch, search, properties,
v4 associations and owners, behind a private-app bearer check and HubSpot's rate limits.

The SDK (hubspot-api-client 12.x) targets it with `HubSpot(access_token=..., host=url)`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.common import MALFORMED_INPUT, absolute
from csbridge_sandbox.control.api import install
from csbridge_sandbox.control.state import Hooks
from csbridge_sandbox.hubspot.batch import batch_routes, object_kind
from csbridge_sandbox.hubspot.http import (
    HsError,
    HubSpotGate,
    Limits,
    dated_alias,
    error_body,
    fault_response,
    hs_json,
    not_found,
    read_json,
)
from csbridge_sandbox.hubspot.properties_api import property_routes
from csbridge_sandbox.hubspot.search import search_routes
from csbridge_sandbox.hubspot.seed import seed_portal
from csbridge_sandbox.hubspot.store import (
    OBJECT_TYPES,
    READ_ONLY_TYPES,
    SINGULAR,
    HubSpotStore,
    iso,
)
from csbridge_sandbox.world.build import World

MAX_PAGE = 100


def list_param(request: Request, name: str) -> list[str] | None:
    """A list query parameter given repeated (`a=1&a=2`) or comma-separated (`a=1,2`)."""
    values = [part for raw in request.query_params.getlist(name) for part in raw.split(",")]
    cleaned = [v.strip() for v in values if v.strip()]
    return cleaned or None


def _object_routes(store: HubSpotStore) -> list[BaseRoute]:
    async def collection(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=request.method == "POST")
        if request.method == "POST":
            body = await read_json(request)
            if not isinstance(body, dict):
                raise HsError(400, "Invalid input JSON: expected an object")
            with store.lock:
                clean = store.checked(obj_type, body.get("properties") or {}, creating=True)
                obj = store.create(obj_type, clean)
                try:
                    store.inline_associations(obj_type, obj.id, body.get("associations"))
                except HsError:
                    del store.objects[obj_type][obj.id]
                    raise
                return hs_json(store.render(obj, list(clean)), 201)
        params = request.query_params
        try:
            limit = min(max(int(params.get("limit", "10")), 1), MAX_PAGE)
        except ValueError as exc:
            raise HsError(400, "limit must be an integer") from exc
        archived = params.get("archived", "false") == "true"
        after = params.get("after")
        with store.lock:
            if after and not after.isdigit():
                raise HsError(400, f"Invalid after value: {after}")
            rows = store.page_after(obj_type, int(after or 0), limit + 1, archived)
            page = rows[:limit]
            body_out: dict[str, Any] = {
                "results": [
                    store.render(
                        o,
                        list_param(request, "properties"),
                        list_param(request, "associations"),
                        list_param(request, "propertiesWithHistory"),
                    )
                    for o in page
                ]
            }
        if len(rows) > limit:
            next_after = rows[limit].id
            query = {k: v for k, v in params.items() if k != "after"}
            link = absolute(request, request.url.path, {**query, "after": next_after})
            body_out["paging"] = {"next": {"after": next_after, "link": link}}
        return hs_json(body_out)

    async def one(request: Request) -> Response:
        obj_type = object_kind(store, request, writing=request.method != "GET")
        object_id = str(request.path_params["object_id"])
        id_property = request.query_params.get("idProperty")
        with store.lock:
            if request.method == "DELETE":
                obj = store.get(obj_type, object_id)
                if obj is not None:
                    store.archive(obj)
                return Response(status_code=204)
            archived = request.query_params.get("archived", "false") == "true"
            obj = store.get(obj_type, object_id, id_property, archived)
            if obj is None:
                raise not_found(object_id)
            if request.method == "PATCH":
                body = await read_json(request)
                props = body.get("properties") if isinstance(body, dict) else None
                clean = store.checked(obj_type, props or {}, creating=False)
                rejected = store.rejection(obj)
                if rejected is not None:
                    raise HsError(400, rejected["message"], context=rejected["context"])
                store.update(obj, clean)
                return hs_json(store.render(obj, list(clean)))
            return hs_json(
                store.render(
                    obj,
                    list_param(request, "properties"),
                    list_param(request, "associations"),
                    list_param(request, "propertiesWithHistory"),
                )
            )

    base = "/crm/v3/objects/{object_type}"
    return [
        Route(base, collection, methods=["GET", "POST"]),
        Route(base + "/", collection, methods=["GET", "POST"]),
        *batch_routes(store),
        *search_routes(store),
        Route(base + "/{object_id}", one, methods=["GET", "PATCH", "DELETE"]),
    ]


def _association_routes(store: HubSpotStore) -> list[BaseRoute]:
    def resolve(request: Request, side: str) -> tuple[str, str]:
        obj_type = store.object_type(str(request.path_params[f"{side}_type"]))
        object_id = str(request.path_params[f"{side}_id"])
        if store.get(obj_type, object_id) is None:
            raise not_found(object_id)
        return obj_type, object_id

    def result(from_id: str, to_id: str, type_id: int, now: str) -> dict[str, Any]:
        return {
            "status": "COMPLETE",
            "results": [
                {
                    "from": {"id": from_id},
                    "to": {"id": to_id},
                    "associationSpec": {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": type_id,
                    },
                }
            ],
            "startedAt": now,
            "completedAt": now,
        }

    async def default(request: Request) -> Response:
        (f_type, f_id), (t_type, t_id) = resolve(request, "from"), resolve(request, "to")
        with store.lock:
            type_id = store.associate(f_type, f_id, t_type, t_id)
        return hs_json(result(f_id, t_id, type_id, iso(store.clock())))

    async def labelled(request: Request) -> Response:
        (f_type, f_id), (t_type, t_id) = resolve(request, "from"), resolve(request, "to")
        if request.method == "DELETE":
            with store.lock:
                store.dissociate(f_type, f_id, t_type, t_id)
            return Response(status_code=204)
        specs = await read_json(request)
        if not isinstance(specs, list) or not specs:
            raise HsError(400, "Invalid input JSON: expected a list of association specs")
        with store.lock:
            for spec in specs:
                store.associate(
                    f_type,
                    f_id,
                    t_type,
                    t_id,
                    int(spec.get("associationTypeId", 0)),
                    str(spec.get("associationCategory", "HUBSPOT_DEFINED")),
                )
        return hs_json(
            {
                "fromObjectTypeId": OBJECT_TYPES[f_type],
                "fromObjectId": int(f_id),
                "toObjectTypeId": OBJECT_TYPES[t_type],
                "toObjectId": int(t_id),
                "labels": [],
            },
            201,
        )

    async def listing(request: Request) -> Response:
        f_type, f_id = resolve(request, "from")
        t_type = store.object_type(str(request.path_params["to_type"]))
        grouped: dict[str, list[dict[str, Any]]] = {}
        for edge in store.edges(f_type, f_id, t_type):
            grouped.setdefault(edge.to_id, []).append(
                {"category": edge.category, "typeId": edge.type_id, "label": None}
            )
        return hs_json(
            {"results": [{"toObjectId": int(k), "associationTypes": v} for k, v in grouped.items()]}
        )

    async def batch_default(request: Request) -> Response:
        f_type = store.object_type(str(request.path_params["from_type"]))
        t_type = store.object_type(str(request.path_params["to_type"]))
        body = await read_json(request)
        inputs = (body or {}).get("inputs") or []
        results = []
        with store.lock:
            for item in inputs:
                f_id, t_id = str(item["from"]["id"]), str(item["to"]["id"])
                if store.get(f_type, f_id) is None or store.get(t_type, t_id) is None:
                    raise HsError(400, f"Could not associate {f_id} with {t_id}: not found")
                type_id = store.associate(f_type, f_id, t_type, t_id)
                results.extend(result(f_id, t_id, type_id, "")["results"])
        now = iso(store.clock())
        return hs_json(
            {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        )

    async def batch_read(request: Request) -> Response:
        f_type = store.object_type(str(request.path_params["from_type"]))
        t_type = store.object_type(str(request.path_params["to_type"]))
        body = await read_json(request)
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HsError(400, "Invalid input JSON: inputs is required")
        if len(inputs) > 1000:
            raise HsError(400, "The maximum number of inputs supported in a batch is 1000")
        results, errors = [], []
        with store.lock:
            for item in inputs:
                f_id = str(item.get("id"))
                grouped: dict[str, list[dict[str, Any]]] = {}
                for edge in store.edges(f_type, f_id, t_type):
                    grouped.setdefault(edge.to_id, []).append(
                        {"category": edge.category, "typeId": edge.type_id, "label": None}
                    )
                if not grouped:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                            "message": f"No {SINGULAR[t_type]} is associated with "
                            f"{SINGULAR[f_type]} {f_id}.",
                            "context": {"fromObjectId": [f_id], "toObjectType": [SINGULAR[t_type]]},
                        }
                    )
                    continue
                results.append(
                    {
                        "from": {"id": f_id},
                        "to": [
                            {"toObjectId": int(k), "associationTypes": v}
                            for k, v in grouped.items()
                        ],
                    }
                )
        now = iso(store.clock())
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if errors:
            out["numErrors"], out["errors"] = len(errors), errors
        return hs_json(out, 207 if errors else 200)

    base = "/crm/v4/objects/{from_type}/{from_id}/associations"
    return [
        Route(base + "/default/{to_type}/{to_id}", default, methods=["PUT"]),
        Route(base + "/{to_type}/{to_id}", labelled, methods=["PUT", "DELETE"]),
        Route(base + "/{to_type}", listing),
        Route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/read", batch_read, methods=["POST"]
        ),
        Route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/associate/default",
            batch_default,
            methods=["POST"],
        ),
    ]


def _owner_routes(store: HubSpotStore) -> list[BaseRoute]:
    async def owners(request: Request) -> Response:
        email = request.query_params.get("email")
        archived = request.query_params.get("archived", "false") == "true"
        rows = [
            o
            for o in store.owners
            if (email is None or o["email"] == email) and o["archived"] == archived
        ]
        limit = min(int(request.query_params.get("limit", "100")), 500)
        after = int(request.query_params.get("after", "0") or 0)
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return hs_json(body)

    async def owner(request: Request) -> Response:
        wanted = str(request.path_params["owner_id"])
        for row in store.owners:
            if row["id"] == wanted:
                return hs_json(row)
        raise not_found(wanted)

    return [
        Route("/crm/v3/owners", owners),
        Route("/crm/v3/owners/", owners),
        Route("/crm/v3/owners/{owner_id}", owner),
    ]


async def _hs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HsError)
    return hs_json(error_body(exc.message, exc.category, **exc.extra), exc.status)


async def _malformed(request: Request, exc: Exception) -> Response:
    message = f"Invalid input JSON: {type(exc).__name__}: {str(exc)[:200]}"
    return hs_json(error_body(message, "VALIDATION_ERROR"), 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = int(getattr(exc, "status_code", 500))
    message = "Method not allowed" if status == 405 else "resource not found"
    return hs_json(
        error_body(message, "OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR"), status
    )


def make_app(
    world: World,
    *,
    rate_limits: str = "off",
    ten_second_max: int = 190,
    daily_max: int = 1_000_000,
    search_per_second: int = 5,
    retry_after: int | None = None,
    search_lag: float = 0.0,
) -> Starlette:
    """The HubSpot emulator for `world`. With `rate_limits="realistic"` each token gets
    `ten_second_max` calls per rolling 10 s (429 TEN_SECONDLY_ROLLING) and
    `search_per_second` searches per second; `retry_after` adds a Retry-After header to
    429s (off by default: on GET it makes the SDK's urllib3 retry silently). `search_lag`
    delays by that many seconds the moment a created object becomes visible to search, as
    HubSpot's search index does (reads by id and listing see it at once)."""
    store = HubSpotStore(search_lag=search_lag)
    seed_portal(store, world)
    limits = Limits(
        enforce=rate_limits == "realistic",
        ten_second_max=ten_second_max,
        daily_max=daily_max,
        search_per_second=search_per_second,
        retry_after=retry_after,
    )
    routes = [
        *_object_routes(store),
        *property_routes(store),
        *_association_routes(store),
        *_owner_routes(store),
    ]
    handlers: dict[Any, Any] = {
        **dict.fromkeys(MALFORMED_INPUT, _malformed),
        HsError: _hs_error,
        404: _http_error,
        405: _http_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.add_middleware(HubSpotGate, limits=limits)
    app.state.store = store
    app.state.limits = limits

    def object_type(name: str) -> str | None:
        try:
            canonical = store.object_type(name)
        except HsError:
            return None
        return None if canonical in READ_ONLY_TYPES else canonical

    control = install(
        app,
        Hooks(
            error=lambda fault, path: fault_response(limits, fault.status, fault.retry_after),
            canonical_object=object_type,
            records_written=lambda: store.records_written,
            route_path=dated_alias,
        ),
    )
    store.reject = control.take_rejection
    return app
