"""HubSpot properties for `csbridge init-crm`: read the groups and properties, create the
missing ones, add missing options to an enumeration (properties API v3, over `ApiClient`).

Type mapping (csbridge → HubSpot type/fieldType): number → number/number, text →
string/textarea (the task key: string/text), date → date/date, datetime → datetime/date,
picklist → enumeration/select, multipicklist → enumeration/checkbox, boolean →
bool/booleancheckbox with the options true and false.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests

from csbridge.connectors.crm_schema import (
    ExistingField,
    Step,
    WantedField,
    answer_refusals,
    option_label,
    refusal_message,
)
from csbridge.errors import CsbridgeError
from csbridge.http.client import ApiClient
from csbridge.http.errors import json_object
from csbridge.mappings.fields import FieldType

BASE = "/crm/v3/properties"
GROUP_LABEL = "Customer health (csbridge)"
DESCRIPTION = "Written by csbridge (customer health sync); do not edit by hand."
_TYPES: dict[FieldType, tuple[str, str]] = {
    "number": ("number", "number"),
    "text": ("string", "textarea"),
    "date": ("date", "date"),
    "datetime": ("datetime", "date"),
    "picklist": ("enumeration", "select"),
    "multipicklist": ("enumeration", "checkbox"),
    "boolean": ("bool", "booleancheckbox"),
}
_BOOLEAN_OPTIONS = ("true", "false")


def field_type(prop: dict[str, Any]) -> FieldType | None:
    """csbridge's type for a property from the API (None: a type csbridge never writes)."""
    kind, shown = prop.get("type"), prop.get("fieldType")
    if kind == "enumeration":
        return "multipicklist" if shown == "checkbox" else "picklist"
    plain: dict[Any, FieldType] = {
        "number": "number",
        "string": "text",
        "date": "date",
        "datetime": "datetime",
        "bool": "boolean",
    }
    return plain.get(kind)


def property_body(want: WantedField, group: str) -> dict[str, Any]:
    """The PropertyCreate body for one wanted field."""
    kind, shown = _TYPES[want.type]
    if want.key:
        shown = "text"
    body: dict[str, Any] = {
        "name": want.name,
        "label": want.label,
        "type": kind,
        "fieldType": shown,
        "groupName": group,
        "description": DESCRIPTION,
    }
    values = _BOOLEAN_OPTIONS if want.type == "boolean" else want.options
    if values:
        body["options"] = options(values)
    return body


def options(values: Iterable[str], start: int = 0) -> list[dict[str, Any]]:
    """Option objects for enumeration values, numbered from `start`."""
    return [
        {"label": option_label(v), "value": v, "displayOrder": start + i, "hidden": False}
        for i, v in enumerate(values)
    ]


class HubspotSchema:
    """The property groups and properties of some HubSpot object types."""

    def __init__(self, client: ApiClient, group: str) -> None:
        """`client` answers refusals (400, 403, 404, 409) to us from now on, so that their
        messages can be shown."""
        client.classify = answer_refusals(client.classify)
        self.client = client
        self.group = group

    def groups(self, objects: Iterable[str]) -> list[tuple[str, str]]:
        """(object, group name) of every property group of these objects."""
        found = []
        for obj in objects:
            body = self._get(f"{BASE}/{obj}/groups", f"GET properties/{obj}/groups")
            found += [(obj, str(g["name"])) for g in body.get("results") or []]
        return found

    def fields(self, objects: Iterable[str]) -> list[ExistingField]:
        """Every (non-archived) property of these objects."""
        found = []
        for obj in objects:
            body = self._get(f"{BASE}/{obj}", f"GET properties/{obj}")
            for prop in body.get("results") or []:
                meta = prop.get("modificationMetadata") or {}
                found.append(
                    ExistingField(
                        obj,
                        str(prop["name"]),
                        field_type(prop),
                        tuple(str(o.get("value")) for o in prop.get("options") or []),
                        writable=not meta.get("readOnlyValue", False),
                    )
                )
        return found

    def apply(self, step: Step) -> None:
        """Carry out one `create` or `update` step (other actions write nothing)."""
        obj = step.object
        if step.field is None and step.action == "create":
            body = {"name": step.name, "label": GROUP_LABEL, "displayOrder": -1}
            self._write("POST", f"{BASE}/{obj}/groups", f"POST properties/{obj}/groups", body)
        elif step.field is not None and step.action == "create":
            body = property_body(step.field, self.group)
            self._write("POST", f"{BASE}/{obj}", f"POST properties/{obj}", body)
        elif step.field is not None and step.action == "update":
            path = f"{BASE}/{obj}/{step.name}"
            current = self._get(path, f"GET properties/{obj}/{{name}}")
            kept = list(current.get("options") or [])
            have = {str(o.get("value")) for o in kept}
            added = options([v for v in step.add if v not in have], start=len(kept))
            body = {"options": kept + added}
            self._write("PATCH", path, f"PATCH properties/{obj}/{{name}}", body)

    def _get(self, path: str, endpoint: str) -> dict[str, Any]:
        return json_object("hubspot", endpoint, self._send("GET", path, endpoint))

    def _write(self, method: str, path: str, endpoint: str, body: dict[str, Any]) -> None:
        self._send(method, path, endpoint, body)

    def _send(
        self, method: str, path: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> requests.Response:
        # Schema writes are safe to resend: a create sent twice answers 409, never a copy.
        response = self.client.request(method, path, endpoint=endpoint, json=body, idempotent=True)
        status = response.status_code
        if status < 400 or (status == 409 and method == "POST"):
            return response
        if status == 403:
            raise CsbridgeError(
                f"hubspot {endpoint}: refused (HTTP 403); give the private app the "
                "crm.schemas.companies.write scope and write access to task properties, "
                "then rerun"
            )
        raise CsbridgeError(f"hubspot {endpoint}: HTTP {status}: {refusal_message(response)}")
