"""Salesforce custom fields for `csbridge init-crm`, through the Tooling API `CustomField`.

Existing fields come from `describe`; a missing field is created with
`POST tooling/sobjects/CustomField` (`FullName` "Account.Health_Score__c" and its
`Metadata`); a picklist lacking values is read (`tooling/query`, then the record) and
written back with the values added (`PATCH tooling/sobjects/CustomField/{id}`).

An org may refuse: the integration user lacks "Customize Application" (403
INSUFFICIENT_ACCESS...) or the Tooling API is off. Then `SetupRefusedError` is raised and
`setup_steps` gives the same fields as clicks in Setup. Fields created through the API
are visible to no profile until field-level security grants them: the integration user
must be able to read and edit them (a field it cannot see looks missing in `describe`,
and creating it again answers DUPLICATE_VALUE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import requests

from csbridge.config import HttpSettings, SalesforceSettings
from csbridge.connectors.crm_schema import (
    ExistingField,
    Step,
    WantedField,
    answer_refusals,
    option_label,
    refusal_message,
)
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import soql_string
from csbridge.connectors.salesforce.streams import login, trust_ca_bundle
from csbridge.errors import CsbridgeError
from csbridge.http.accounting import endpoint_label
from csbridge.http.client import ApiClient, CallAccounting
from csbridge.http.errors import json_object
from csbridge.mappings.fields import FieldType

DESCRIPTION = "Written by csbridge (customer health sync); do not edit by hand."
NUMBER_PRECISION, NUMBER_SCALE, TEXT_LENGTH, VISIBLE_LINES = 18, 2, 255, 4
REFUSALS = ("INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG", "FUNCTIONALITY_NOT_ENABLED")
_TYPES: dict[str, FieldType] = {
    "double": "number",
    "int": "number",
    "currency": "number",
    "percent": "number",
    "string": "text",
    "textarea": "text",
    "date": "date",
    "datetime": "datetime",
    "picklist": "picklist",
    "multipicklist": "multipicklist",
    "boolean": "boolean",
}


class SetupRefusedError(CsbridgeError):
    """The org does not let the integration user create or change fields."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"salesforce: the org refused to create fields through the API ({reason}); "
            'follow the setup steps above, or grant the integration user "Customize '
            'Application" and rerun'
        )
        self.reason = reason


def open_client(
    settings: SalesforceSettings, http: HttpSettings, accounting: CallAccounting | None = None
) -> ApiClient:
    """A logged-in REST client (OAuth client credentials), as the pull connector builds it."""
    client = salesforce_client(settings, http, accounting)
    trust_ca_bundle(settings, client)
    token = login(settings, client)
    client.session.headers["Authorization"] = f"Bearer {token}"
    return client


def metadata(want: WantedField) -> dict[str, Any]:
    """The Tooling `CustomField.Metadata` for one wanted field."""
    meta: dict[str, Any] = {"label": want.label, "description": DESCRIPTION}
    kinds: dict[FieldType, dict[str, Any]] = {
        "number": {"type": "Number", "precision": NUMBER_PRECISION, "scale": NUMBER_SCALE},
        "text": {"type": "Text", "length": TEXT_LENGTH},
        "date": {"type": "Date"},
        "datetime": {"type": "DateTime"},
        "boolean": {"type": "Checkbox", "defaultValue": "false"},
        "picklist": {"type": "Picklist", "valueSet": value_set(want.options)},
        "multipicklist": {
            "type": "MultiselectPicklist",
            "visibleLines": VISIBLE_LINES,
            "valueSet": value_set(want.options),
        },
    }
    meta.update(kinds[want.type])
    if want.key:
        meta["externalId"] = True  # indexed, so the lookup of a task by its key is fast
    return meta


def value_set(values: Iterable[str]) -> dict[str, Any]:
    """An unrestricted value set: a value written before init-crm adds it still lands."""
    return {
        "restricted": False,
        "valueSetDefinition": {"sorted": False, "value": [picklist_value(v) for v in values]},
    }


def picklist_value(value: str) -> dict[str, Any]:
    """One picklist value; its API name (`fullName`) is what csbridge writes."""
    return {"fullName": value, "label": option_label(value), "default": False}


class SalesforceSchema:
    """The fields of some sObjects, and the Tooling calls that add to them."""

    def __init__(self, client: ApiClient, api_version: str) -> None:
        """`client` answers refusals to us from now on, so their error codes can be read."""
        client.classify = answer_refusals(client.classify)
        self.client = client
        self.base = f"/services/data/v{api_version}"

    def groups(self, objects: Iterable[str]) -> list[tuple[str, str]]:
        """Salesforce has no property groups."""
        return []

    def fields(self, objects: Iterable[str]) -> list[ExistingField]:
        """Every field of these objects that the integration user can see (describe)."""
        found = []
        for obj in objects:
            path = f"/sobjects/{obj}/describe"
            body = json_object("salesforce", path, self._send("GET", path))
            for f in body.get("fields") or []:
                found.append(
                    ExistingField(
                        obj,
                        str(f["name"]),
                        _TYPES.get(str(f.get("type"))),
                        tuple(str(v["value"]) for v in f.get("picklistValues") or []),
                        writable=bool(f.get("updateable", True)),
                    )
                )
        return found

    def apply(self, step: Step) -> None:
        """Carry out one `create` or `update` field step (other steps write nothing)."""
        want = step.field
        if want is None or step.action not in ("create", "update"):
            return
        if step.action == "create":
            self._create(want)
            return
        developer = want.name.removesuffix("__c")
        soql = (
            "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE "
            f"DeveloperName = {soql_string(developer)} "
            f"AND TableEnumOrId = {soql_string(metadata_object(want.object))}"
        )
        query = self._send("GET", "/tooling/query", params={"q": soql})
        rows = json_object("salesforce", "/tooling/query", query)
        records = rows.get("records") or []
        if not records:
            raise CsbridgeError(
                f"salesforce {want.object}.{want.name}: not a custom field the Tooling API "
                "lists; add the values in Setup by hand"
            )
        path = f"/tooling/sobjects/CustomField/{records[0]['Id']}"
        meta = json_object("salesforce", path, self._send("GET", path)).get("Metadata")
        if not isinstance(meta, dict):
            # an org or proxy that strips Metadata: writing back a partial field would
            # wipe its settings, so stop and say how to add the values by hand
            raise CsbridgeError(
                f"salesforce {want.object}.{want.name}: the Tooling API answered the field "
                f"without its Metadata; add {', '.join(step.add)} to its values in Setup "
                "by hand and rerun"
            )
        meta = dict(meta)
        definition = meta.setdefault("valueSet", {}).setdefault("valueSetDefinition", {})
        definition["value"] = [*definition.get("value", []), *map(picklist_value, step.add)]
        self._send("PATCH", path, json={"Metadata": meta})

    def _create(self, want: WantedField) -> None:
        meta = metadata(want)
        body = {"FullName": f"{metadata_object(want.object)}.{want.name}", "Metadata": meta}
        path = "/tooling/sobjects/CustomField/"
        try:
            self._send("POST", path, json=body)
            return
        except _Refused as exc:
            if not (want.key and exc.code == "FIELD_INTEGRITY_EXCEPTION"):
                raise _create_error(want, exc) from None
        # the object does not allow an External ID here: a plain text field still works
        body["Metadata"] = {**meta, "externalId": False}
        try:
            self._send("POST", path, json=body)
        except _Refused as exc:
            raise _create_error(want, exc) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # labelled "<METHOD> <path>" (ids masked) so the command can count its write calls
        endpoint = f"{method} {endpoint_label(path)}"
        response = self.client.request(
            method, self.base + path, endpoint=endpoint, idempotent=method != "POST", **kwargs
        )
        status = response.status_code
        if status < 400:
            return response
        message = refusal_message(response)
        code = message.partition(":")[0]
        tooling = "/tooling/" in path
        if status == 403 or code.startswith(REFUSALS) or (tooling and status == 404):
            raise SetupRefusedError(f"HTTP {status} {code}".strip())
        if status == 404:
            raise CsbridgeError(f"salesforce {path}: not found; check the mapping's object names")
        raise _Refused(code, message)


def metadata_object(sobject: str) -> str:
    """The object a field is defined on: Task and Event fields are Activity fields."""
    return "Activity" if sobject in ("Task", "Event") else sobject


def _create_error(want: WantedField, exc: _Refused) -> CsbridgeError:
    where = f"salesforce {want.object}.{want.name}"
    if exc.code == "DUPLICATE_VALUE":
        return CsbridgeError(
            f"{where}: the field exists but the integration user cannot see it; grant it "
            "Read and Edit in field-level security and rerun"
        )
    return CsbridgeError(f"{where}: {exc.message}")


class _Refused(Exception):
    """A Salesforce error answer the caller may handle (code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def setup_steps(steps: Sequence[Step]) -> str:
    """The remaining `create` / `update` steps as clicks in Salesforce Setup."""
    lines = []
    pending = [s for s in steps if s.field is not None and s.action in ("create", "update")]
    for obj in dict.fromkeys(s.object for s in pending):
        shown = metadata_object(obj)
        shown += f" (the {obj} fields)" if shown != obj else ""
        lines.append(f"Setup → Object Manager → {shown} → Fields & Relationships:")
        lines += ["  " + _click(s, s.field) for s in pending if s.object == obj and s.field]
    if lines:
        lines.append(
            'On "Establish field-level security", make each new field Visible and not '
            "Read-Only for the integration user's profile (or permission set)."
        )
    return "\n".join(lines)


def _click(step: Step, want: WantedField) -> str:
    name = f'Field Label "{want.label}", Field Name {want.name.removesuffix("__c")}'
    if step.action == "update":
        return f"{want.label} ({want.name}) → Values → New: add {', '.join(step.add)}"
    detail = {
        "number": f"Number: {name}, Length {NUMBER_PRECISION - NUMBER_SCALE}, "
        f"Decimal Places {NUMBER_SCALE}",
        "text": f"Text: {name}, Length {TEXT_LENGTH}" + (", check External ID" if want.key else ""),
        "date": f"Date: {name}",
        "datetime": f"Date/Time: {name}",
        "boolean": f"Checkbox: {name}, Default Unchecked",
        "picklist": f"Picklist: {name}, values (one per line): {', '.join(want.options)}",
        "multipicklist": f"Picklist (Multi-Select): {name}, Visible Lines {VISIBLE_LINES}, "
        f"values (one per line): {', '.join(want.options)}",
    }[want.type]
    return f"New → {detail}"
