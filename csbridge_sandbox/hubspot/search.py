"""HubSpot CRM search (`POST /crm/v3/objects/{type}/search`): filterGroups (ORed) of filters
(ANDed), at most 5 groups, 10 filters per group and 25 in total; sorts; `query`; `limit` up
to 200; `after` as a string offset; `total` counts every match but paging stops at 10,000.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.hubspot.http import HsError, hs_json, read_json
from csbridge_sandbox.hubspot.properties import Prop
from csbridge_sandbox.hubspot.store import HsObject, HubSpotStore

MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 10, 25
MAX_LIMIT, RESULT_CAP = 200, 10_000
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
QUERY_PROPS = {
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
    "deals": ("dealname",),
    "tasks": ("hs_task_subject",),
    "feedback_submissions": ("hs_content",),
    "calls": ("hs_call_title", "hs_call_body"),
    "emails": ("hs_email_subject", "hs_email_text"),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "notes": ("hs_note_body",),
}


def _key(prop: Prop | None, value: Any) -> Any:
    """A comparable form of a value for this property type."""
    text = str(value)
    if prop is not None and prop.type == "number":
        try:
            return float(text)
        except ValueError:
            return None
    if prop is not None and prop.type in {"date", "datetime"}:
        if re.fullmatch(r"-?\d+", text):
            return float(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() * 1000
    return text.casefold()


def _token_match(value: str, token: str) -> bool:
    pattern = re.escape(token.casefold()).replace(r"\*", ".*")
    words = re.split(r"[\s@.,;:/_-]+", value.casefold())
    return any(re.fullmatch(pattern, w) for w in words) or (
        re.fullmatch(pattern, value.casefold()) is not None
    )


def _matches(obj: HsObject, flt: dict[str, Any], props: dict[str, Prop]) -> bool:
    name = str(flt.get("propertyName"))
    op = flt.get("operator", "EQ")
    raw = obj.properties.get(name)
    if op == "HAS_PROPERTY":
        return raw not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    if op in {"NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"} and raw in (None, ""):
        return True
    if raw in (None, ""):
        return False
    prop = props.get(name)
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        hit = _token_match(str(raw), str(flt.get("value", "")))
        return hit if op == "CONTAINS_TOKEN" else not hit
    if prop is not None and prop.field_type == "checkbox" and op in {"EQ", "NEQ", "IN", "NOT_IN"}:
        held = {part.casefold() for part in str(raw).split(";")}
        wanted = {str(v).casefold() for v in (flt.get("values") or [flt.get("value")])}
        hit = bool(held & wanted)
        return hit if op in {"EQ", "IN"} else not hit
    left = _key(prop, raw)
    if op in {"IN", "NOT_IN"}:
        hit = left in {_key(prop, v) for v in flt.get("values") or []}
        return hit if op == "IN" else not hit
    right = _key(prop, flt.get("value"))
    if op == "EQ":
        return bool(left == right)
    if op == "NEQ":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "BETWEEN":
            high = _key(prop, flt.get("highValue"))
            return bool(right <= left <= high)
        return bool(
            {"LT": left < right, "LTE": left <= right, "GT": left > right, "GTE": left >= right}[op]
        )
    except TypeError:
        return False


def _check_filters(groups: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(groups, list):
        raise HsError(400, "filterGroups must be a list")
    if len(groups) > MAX_GROUPS:
        raise HsError(400, f"Too many filter groups: {len(groups)}. The limit is {MAX_GROUPS}.")
    total = 0
    parsed = []
    for group in groups:
        filters = (group or {}).get("filters") or []
        if len(filters) > MAX_PER_GROUP:
            raise HsError(
                400, f"Too many filters in a group: {len(filters)}. The limit is {MAX_PER_GROUP}."
            )
        for flt in filters:
            if flt.get("operator", "EQ") not in OPERATORS:
                raise HsError(400, f"Unknown operator {flt.get('operator')}")
        total += len(filters)
        parsed.append(filters)
    if total > MAX_FILTERS:
        raise HsError(400, f"Too many filters: {total}. The limit is {MAX_FILTERS}.")
    return parsed


def _sorts(raw: Any) -> list[tuple[str, bool]]:
    out = []
    for item in raw or []:
        if isinstance(item, str):
            out.append((item.lstrip("-"), item.startswith("-")))
        elif isinstance(item, dict):
            out.append((str(item.get("propertyName")), item.get("direction") == "DESCENDING"))
    return out


def search(store: HubSpotStore, obj_type: str, body: Any) -> dict[str, Any]:
    """Run one search request and return the response body."""
    if not isinstance(body, dict):
        body = {}
    groups = _check_filters(body.get("filterGroups") or [])
    limit = int(body.get("limit") or 10)
    if not 1 <= limit <= MAX_LIMIT:
        raise HsError(400, f"limit must be between 1 and {MAX_LIMIT}")
    after = str(body.get("after") or "0")
    if not after.isdigit():
        raise HsError(400, f"Invalid after value: {after}")
    offset = int(after)
    if offset + limit > RESULT_CAP:
        raise HsError(
            400,
            "The search API can return at most 10,000 results per query; "
            "narrow the filters instead of paging past 10,000.",
        )
    props = store.props[obj_type]
    text = str(body.get("query") or "").strip()
    with store.lock:
        now = time.monotonic()
        rows = [
            o for o in store.objects[obj_type].values() if not o.archived and o.searchable_at <= now
        ]
        if groups:
            rows = [o for o in rows if any(all(_matches(o, f, props) for f in g) for g in groups)]
        if text:
            rows = [
                o
                for o in rows
                if any(
                    text.casefold() in str(o.properties.get(p, "")).casefold()
                    for p in QUERY_PROPS[obj_type]
                )
            ]
        rows.sort(key=lambda o: int(o.id))
        for name, descending in reversed(_sorts(body.get("sorts"))):
            present = [o for o in rows if o.properties.get(name) not in (None, "")]
            absent = [o for o in rows if o.properties.get(name) in (None, "")]
            prop = props.get(name)

            def sort_key(o: HsObject, n: str = name, p: Prop | None = prop) -> tuple[bool, Any]:
                value = _key(p, o.properties[n])
                return (value is None, value if value is not None else 0)

            present.sort(key=sort_key, reverse=descending)
            rows = present + absent
        page = rows[offset : offset + limit]
        result: dict[str, Any] = {
            "total": len(rows),
            "results": [store.render(o, body.get("properties")) for o in page],
        }
    end = offset + limit
    if end < len(rows) and end < RESULT_CAP:
        result["paging"] = {"next": {"after": str(end)}}
    return result


def search_routes(store: HubSpotStore) -> list[BaseRoute]:
    """The search route."""

    async def handler(request: Request) -> Response:
        obj_type = store.object_type(str(request.path_params["object_type"]))
        return hs_json(search(store, obj_type, await read_json(request)))

    return [Route("/crm/v3/objects/{object_type}/search", handler, methods=["POST"])]
