"""What `csbridge init-crm` must create in a CRM, and the steps from what exists. Pure.

The wanted schema comes from the field mapping (every `write:` entry, the task key
field, and for HubSpot the property group) with picklist values from the scoring model
and the rules: `health_status` offers the model's band names, `nps_category` the three
NPS categories, `health_segment` the segment names of the model's segment matrix (a text
field when the model has none), `tags` the rules' owned tags. The `read:` entries are
picklists CSMs fill in (strategic fit, expansion potential): high, medium, low.

`diff` compares that with what the CRM reports and returns one `Step` per group and
field: `create` (missing), `update` (a picklist lacks values: only the missing ones are
added; values csbridge no longer uses are kept, since records may hold them), `ok`, or
`conflict` (a field of another type, or one the integration user cannot edit; csbridge
never changes or deletes a field it did not create).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from csbridge.errors import VENDOR_TEXT_MAX, CsbridgeError, one_line
from csbridge.http.errors import Classifier, Fatal, MissingFieldError, Ok, ResponseLike, Verdict
from csbridge.mappings.fields import CrmFieldMapping, FieldType

Action = Literal["create", "update", "ok", "conflict"]
NPS_CATEGORIES = ("detractor", "passive", "promoter")
ATTRIBUTE_LEVELS = ("high", "medium", "low")
TASK_KEY_LABEL = "csbridge Task Key"
NOTE_KEY_LABEL = "csbridge Note Key"
TASK_KEY_LENGTH = 255


@dataclass(frozen=True)
class WantedField:
    """A field csbridge writes: API name, label, type, picklist values.

    `key` marks the task key field, which csbridge looks tasks up by (so it should be
    indexed: an External ID in Salesforce). `note` says why it differs from the mapping.
    """

    object: str
    name: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()
    key: bool = False
    note: str = ""


@dataclass(frozen=True)
class ExistingField:
    """A field as the CRM describes it; `type` None is a type csbridge never writes."""

    object: str
    name: str
    type: FieldType | None
    options: tuple[str, ...] = ()
    writable: bool = True


@dataclass(frozen=True)
class WantedSchema:
    """Everything one CRM needs: property groups (HubSpot: object, name) and fields."""

    crm: str
    groups: tuple[tuple[str, str], ...]
    fields: tuple[WantedField, ...]


@dataclass(frozen=True)
class Step:
    """One group or field and what to do about it; `add` lists picklist values to add."""

    action: Action
    object: str
    name: str
    reason: str
    field: WantedField | None = None
    add: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """ "group" or "field"."""
        return "field" if self.field is not None else "group"


def option_label(value: str) -> str:
    """A display label for a picklist value: "at_risk" → "At Risk", "Promoter" unchanged."""
    if value != value.lower():
        return value
    return " ".join(word.capitalize() for word in value.replace("_", " ").split())


def wanted_schema(
    mapping: CrmFieldMapping,
    bands: Sequence[str],
    segments: Sequence[str] | None,
    owned_tags: Sequence[str],
) -> WantedSchema:
    """The fields and groups csbridge needs in `mapping.crm`.

    `segments` None means the model has no segment matrix: `health_segment` becomes a
    text field (it holds whatever segment a later model names). A picklist whose values
    are unknown, or empty, is an error naming the field and the fix.
    """
    values: dict[str, tuple[str, ...]] = {
        "health_status": tuple(bands),
        "nps_category": NPS_CATEGORIES,
        "tags": tuple(owned_tags),
    }
    if segments is not None:
        values["health_segment"] = tuple(dict.fromkeys(segments))
    fields = []
    for internal, spec in mapping.write.items():
        kind: FieldType = spec.type
        options: tuple[str, ...] = ()
        note = ""
        if kind in ("picklist", "multipicklist"):
            if internal == "health_segment" and segments is None:
                kind, note = "text", "text: the scoring model has no segment matrix"
            elif internal not in values:
                raise CsbridgeError(
                    f"{mapping.crm} mapping write.{internal}: csbridge does not know the "
                    f"values of this {kind}; map it as type text"
                )
            elif not values[internal]:
                raise CsbridgeError(
                    f"{mapping.crm} mapping write.{internal}: no values to offer "
                    "(owned_tags is empty); list the tags csbridge owns in the rules file"
                )
            else:
                options = values[internal]
        fields.append(
            WantedField(mapping.object, spec.api_name, spec.label, kind, options, False, note)
        )
    for spec in mapping.read.values():
        picklist = spec.type in ("picklist", "multipicklist")
        options = (spec.options or ATTRIBUTE_LEVELS) if picklist else ()
        fields.append(WantedField(mapping.object, spec.api_name, spec.label, spec.type, options))
    task = mapping.task
    fields.append(WantedField(task.object, task.key_field, TASK_KEY_LABEL, "text", key=True))
    keyed = [task.object]
    if mapping.note is not None:
        notes = mapping.note
        fields.append(WantedField(notes.object, notes.key_field, NOTE_KEY_LABEL, "text", key=True))
        keyed.append(notes.object)
    groups: tuple[tuple[str, str], ...] = ()
    if mapping.crm == "hubspot" and not mapping.group:
        raise CsbridgeError("hubspot mapping: group is missing; name the property group to use")
    if mapping.group:
        groups = tuple((obj, mapping.group) for obj in dict.fromkeys((mapping.object, *keyed)))
    return WantedSchema(mapping.crm, groups, tuple(fields))


def diff(
    wanted: WantedSchema,
    groups: Iterable[tuple[str, str]],
    fields: Iterable[ExistingField],
) -> list[Step]:
    """The steps from what exists to what is wanted, groups first, in mapping order.

    Names compare case-insensitively (Salesforce API names are; HubSpot's are lower case).
    """
    have_groups = {(obj.lower(), name.lower()) for obj, name in groups}
    have = {(f.object.lower(), f.name.lower()): f for f in fields}
    steps = [
        Step("ok", obj, name, "exists")
        if (obj.lower(), name.lower()) in have_groups
        else Step("create", obj, name, "missing")
        for obj, name in wanted.groups
    ]
    for want in wanted.fields:
        found = have.get((want.object.lower(), want.name.lower()))
        steps.append(_field_step(want, found))
    return steps


def _field_step(want: WantedField, found: ExistingField | None) -> Step:
    if found is None:
        return Step("create", want.object, want.name, want.note or "missing", want)
    if found.type != want.type:
        shown = found.type or "another type"
        return Step(
            "conflict",
            want.object,
            want.name,
            f"exists as {shown}, csbridge writes {want.type}: change the mapping's "
            "api_name or the field's type",
            want,
        )
    if not found.writable:
        return Step(
            "conflict",
            want.object,
            want.name,
            "exists but the integration user cannot edit it: grant Edit access "
            "(field-level security)",
            want,
        )
    missing = tuple(v for v in want.options if v not in set(found.options))
    if missing:
        return Step("update", want.object, want.name, f"add {', '.join(missing)}", want, missing)
    return Step("ok", want.object, want.name, "exists", want)


def summary(steps: Iterable[Step]) -> dict[str, int]:
    """How many steps of each action."""
    counts = {action: 0 for action in ("create", "update", "ok", "conflict")}
    for step in steps:
        counts[step.action] += 1
    return counts


def answer_refusals(classify: Classifier) -> Classifier:
    """`classify`, except that a final refusal (400, 403, 404, 409 judged fatal) is returned
    to the caller, who reads the CRM's message from the body. Quota stops, rate limits and
    retryable answers keep their meaning."""

    def wrapped(response: ResponseLike) -> Verdict:
        verdict = classify(response)
        if response.status_code in (400, 403, 404, 409) and isinstance(verdict, Fatal):
            return Ok()
        return verdict

    return wrapped


def refusal_message(response: ResponseLike, limit: int = VENDOR_TEXT_MAX) -> str:
    """The CRM's own message from an error body (HubSpot `message`, Salesforce
    `[{"errorCode", "message"}]`), on one line and shortened; "refused" if there is none."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = {"message": f"{body[0].get('errorCode', '')}: {body[0].get('message', '')}"}
    text = str(body.get("message", "")) if isinstance(body, dict) else ""
    return one_line(text or "refused", limit)


# How each CRM names a field it does not have (Salesforce SOQL / sObject writes, HubSpot
# property validation): the sign that `csbridge init-crm` has not been run.
MISSING_FIELD = re.compile(r"No such column '([^']+)'|Property \\?\"([^\"\\]+)\\?\" does not exist")


def check_missing_field(system: str, endpoint: str, message: str) -> None:
    """Raise `MissingFieldError` when a CRM's refusal `message` says a field does not exist."""
    found = MISSING_FIELD.search(message)
    if found is not None:
        field = found.group(1) or found.group(2)
        raise MissingFieldError(
            system,
            endpoint,
            f"the CRM has no field {field}; run `csbridge init-crm` first "
            "(or fix the field mapping)",
        )
