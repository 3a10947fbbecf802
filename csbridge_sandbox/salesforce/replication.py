"""Salesforce replication resources: `GET /sobjects/{Obj}/deleted/?start=&end=` and
`/updated/?start=&end=` (what simple-salesforce's `SFType.deleted()`/`updated()` call),
the other way to see deletions besides `queryAll ... WHERE IsDeleted = true`."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.salesforce.http import SfHttpError, not_found, sf_json
from csbridge_sandbox.salesforce.soql import parse_datetime
from csbridge_sandbox.salesforce.store import SalesforceStore
from csbridge_sandbox.salesforce.values import format_datetime


def _window(request: Request) -> tuple[datetime, datetime]:
    try:
        start = parse_datetime(request.query_params["start"].replace(" ", "+"))
        end = parse_datetime(request.query_params["end"].replace(" ", "+"))
    except (KeyError, ValueError) as exc:
        raise SfHttpError(
            400, "MISSING_ARGUMENT", "start and end must be ISO-8601 date-times with a time zone"
        ) from exc
    if end <= start:
        raise SfHttpError(400, "INVALID_REPLICATION_DATE", "end must be after start")
    return start, end


def replication_routes(store: SalesforceStore, prefix: str) -> list[BaseRoute]:
    """Routes for the deleted/updated replication resources."""

    async def changes(request: Request) -> Response:
        odef = store.sobject(str(request.path_params["sobject"]))
        if odef is None:
            raise not_found()
        start, end = _window(request)
        deleted = request.url.path.rstrip("/").endswith("deleted")
        with store.lock:
            rows = [
                r
                for r in store.records[odef.name.lower()].values()
                if r["IsDeleted"] == deleted and start <= r["SystemModstamp"] < end
            ]
        covered = format_datetime(end)
        if deleted:
            earliest = min((r["SystemModstamp"] for r in rows), default=start)
            return sf_json(
                {
                    "deletedRecords": [
                        {"id": r["Id"], "deletedDate": format_datetime(r["SystemModstamp"])}
                        for r in rows
                    ],
                    "earliestDateAvailable": format_datetime(earliest),
                    "latestDateCovered": covered,
                }
            )
        return sf_json({"ids": [r["Id"] for r in rows], "latestDateCovered": covered})

    base = prefix + "/sobjects/{sobject}"
    return [Route(base + p, changes) for p in ("/deleted", "/deleted/", "/updated", "/updated/")]
