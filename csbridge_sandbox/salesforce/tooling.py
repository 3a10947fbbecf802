"""Tooling API `CustomField`: how `csbridge init-crm` adds `__c` fields.

The REST data API cannot create fields; the realistic choice for a small, synchronous
change is the Tooling API: `POST /services/data/vXX.X/tooling/sobjects/CustomField/` with
`{"FullName": "Account.Health_Score__c", "Metadata": {"label", "type", ...}}` answered
201 `{"id": "00N…", "success": true, "errors": [], "warnings": [], "infos": []}`. Existing
fields can be listed with `tooling/query?q=SELECT Id, DeveloperName, TableEnumOrId FROM
CustomField WHERE TableEnumOrId = 'Account'` or read from `describe`.

Task and Event fields are defined on Activity, as in a real org: `Activity.Key__c`
adds the field to both; `Task.Key__c` is refused.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.salesforce.http import SfHttpError, read_json, sf_json
from csbridge_sandbox.salesforce.schema import FieldDef, ObjectDef, make_id
from csbridge_sandbox.salesforce.soql import SoqlError, parse
from csbridge_sandbox.salesforce.soql_eval import execute
from csbridge_sandbox.salesforce.store import SalesforceStore

# Metadata API field type -> describe type
TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Email": "email",
    "Url": "url",
    "Phone": "phone",
}
_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_COLUMNS = ("Id", "DeveloperName", "TableEnumOrId", "FullName", "NamespacePrefix")


def _integrity(message: str) -> SfHttpError:
    return SfHttpError(400, "FIELD_INTEGRITY_EXCEPTION", message, [])


def field_from_metadata(name: str, meta: dict[str, Any]) -> FieldDef:
    """Build a FieldDef from CustomField Metadata, refusing what Salesforce would refuse."""
    kind = meta.get("type")
    if kind not in TYPES:
        raise _integrity(f"Invalid field type: {kind}")
    label = meta.get("label")
    if not isinstance(label, str) or not label:
        raise SfHttpError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Label]", ["Label"]
        )
    fdef = FieldDef(
        name, TYPES[kind], label, custom=True, external_id=bool(meta.get("externalId", False))
    )
    if kind == "Text":
        length = meta.get("length")
        if not isinstance(length, int) or not 1 <= length <= 255:
            raise _integrity("Length: a Text field needs a length between 1 and 255")
        fdef.length = length
    if kind == "LongTextArea":
        length = meta.get("length")
        if (
            not isinstance(length, int)
            or not 256 <= length <= 131072
            or not meta.get("visibleLines")
        ):
            raise _integrity("Length and visibleLines are required for a Long Text Area field")
        fdef.length = length
    if kind in {"Number", "Currency", "Percent"}:
        precision, scale = meta.get("precision"), meta.get("scale")
        if (
            not isinstance(precision, int)
            or not isinstance(scale, int)
            or not (1 <= precision <= 18 and 0 <= scale <= precision)
        ):
            raise _integrity(
                "Precision and scale are required (precision 1-18, scale <= precision)"
            )
        fdef.precision, fdef.scale = precision, scale
    if kind == "Checkbox":
        default = str(meta.get("defaultValue", "")).lower()
        if default not in {"true", "false"}:
            raise _integrity("Checkbox fields require a default value (defaultValue)")
        fdef.default, fdef.nillable = default == "true", False
    if kind in {"Picklist", "MultiselectPicklist"}:
        value_set = meta.get("valueSet") or {}
        values = (value_set.get("valueSetDefinition") or {}).get("value") or []
        names = tuple(str(v.get("fullName")) for v in values if isinstance(v, dict))
        if not names:
            raise _integrity("Picklist fields need valueSet.valueSetDefinition.value entries")
        if kind == "MultiselectPicklist" and not meta.get("visibleLines"):
            raise _integrity("visibleLines is required for a Multi-Select Picklist field")
        fdef.picklist, fdef.restricted = names, bool(value_set.get("restricted", False))
    if fdef.external_id and kind not in {"Text", "Number", "Email"}:
        raise _integrity("External ID is only available for Text, Number and Email fields")
    return fdef


def tooling_routes(store: SalesforceStore, prefix: str) -> list[BaseRoute]:
    """Routes for Tooling `CustomField` create/read/update (PATCH answers 204, e.g. to add
    picklist values) and a CustomField-only tooling query."""
    created: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def create(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            raise _integrity("FullName and Metadata are required")
        object_name, _, field_name = str(body.get("FullName", "")).partition(".")
        if object_name.lower() in {"task", "event"}:
            raise _integrity(
                f"Custom fields of {object_name} are defined on Activity: "
                f"use FullName Activity.{field_name}"
            )
        activity = object_name.lower() == "activity"
        odef = store.sobject("Task" if activity else object_name)
        if odef is None or odef.name == "User":
            raise _integrity(f"Cannot find an entity named {object_name}")
        if not _NAME.match(field_name):
            raise _integrity(
                f"Invalid field name: {field_name} (must end in __c, letters, "
                "digits and single underscores)"
            )
        fdef = field_from_metadata(field_name, body["Metadata"])
        with store.lock:
            if odef.get(field_name) is not None:
                raise SfHttpError(
                    400,
                    "DUPLICATE_VALUE",
                    "duplicate value found: <unknown> "
                    "duplicates value on record with id: <unknown>",
                    [],
                )
            for target in _activity_objects(store) if activity else [odef]:
                target.add(fdef)
                for record in store.records[target.name.lower()].values():
                    record[fdef.name] = fdef.default
            field_id = make_id("00N", next(ids))
            created[field_id] = {
                "Id": field_id,
                "DeveloperName": field_name.removesuffix("__c"),
                "TableEnumOrId": "Activity" if activity else odef.name,
                "FullName": f"{'Activity' if activity else odef.name}.{field_name}",
                "NamespacePrefix": None,
                "Metadata": body["Metadata"],
            }
        return sf_json(
            {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    async def one(request: Request) -> Response:
        row = created.get(str(request.path_params["field_id"]))
        if row is None:
            raise SfHttpError(404, "NOT_FOUND", "The requested resource does not exist")
        if request.method == "GET":
            return sf_json({"attributes": {"type": "CustomField"}, **row})
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            raise _integrity("Metadata is required")
        table = str(row["TableEnumOrId"])
        odef = store.sobject("Task" if table == "Activity" else table)
        name = f"{row['DeveloperName']}__c"
        fdef = field_from_metadata(name, body["Metadata"])
        with store.lock:
            assert odef is not None
            old = odef.get(name)
            if old is None or old.type != fdef.type:
                raise _integrity(f"Changing the type of {name} is not supported here")
            for target in _activity_objects(store) if table == "Activity" else [odef]:
                target.add(fdef)  # stored values stay, as when an admin edits a field
            row["Metadata"] = body["Metadata"]
        return Response(status_code=204)

    async def query(request: Request) -> Response:
        try:
            parsed = parse(request.query_params.get("q", ""))
            if parsed.sobject.lower() != "customfield":
                raise SoqlError(
                    "INVALID_TYPE",
                    f"sObject type '{parsed.sobject}' is not "
                    "supported by this emulator's Tooling API",
                )
            for path in parsed.fields:
                if len(path) != 1 or path[0] not in _COLUMNS:
                    raise SoqlError(
                        "INVALID_FIELD",
                        f"No such column '{'.'.join(path)}' on entity 'CustomField'",
                    )
            rows = execute(parsed, list(created.values()), lambda r, p: r.get(p[0]), store.today)
        except SoqlError as exc:
            raise SfHttpError(400, exc.code, exc.message) from exc
        records = [
            {"attributes": {"type": "CustomField"}, **{p[0]: r[p[0]] for p in parsed.fields}}
            for r in rows
        ]
        return sf_json(
            {
                "size": len(records),
                "totalSize": len(records),
                "done": True,
                "entityTypeName": "CustomField",
                "records": records,
            }
        )

    base = prefix + "/tooling"
    return [
        Route(base + "/sobjects/CustomField", create, methods=["POST"]),
        Route(base + "/sobjects/CustomField/", create, methods=["POST"]),
        Route(base + "/sobjects/CustomField/{field_id}", one, methods=["GET", "PATCH"]),
        Route(base + "/query", query),
        Route(base + "/query/", query),
    ]


def _activity_objects(store: SalesforceStore) -> list[ObjectDef]:
    """Task and Event: the objects an Activity custom field lands on."""
    return [odef for name in ("Task", "Event") if (odef := store.sobject(name)) is not None]
