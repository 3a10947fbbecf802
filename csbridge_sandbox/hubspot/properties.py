"""HubSpot property definitions per object type, value validation on write, and the
properties API (`/crm/v3/properties/{objectType}` and `/groups`).

Values are strings in and out. `enumeration` properties must use one of their options;
with `fieldType: checkbox` (multi-select) the value is several options joined with `;`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}
FIELD_TYPES = {
    "textarea",
    "text",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "phonenumber",
    "html",
}
READ_ONLY = {
    "hs_object_id",
    "createdate",
    "hs_createdate",
    "hs_lastmodifieddate",
    "lastmodifieddate",
}
EPOCH = "2019-01-01T00:00:00.000Z"


@dataclass
class Prop:
    """One property definition as the properties API returns it."""

    name: str
    label: str
    type: str
    field_type: str
    group: str
    options: list[dict[str, Any]] = field(default_factory=list)
    unique: bool = False
    hubspot_defined: bool = True
    description: str = ""
    created_at: str = EPOCH
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": self.options,
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "formField": False,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.name in READ_ONLY,
            },
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": self.archived,
        }

    def option_values(self) -> list[str]:
        """The allowed values of an enumeration."""
        return [str(o.get("value")) for o in self.options]


def _opts(*values: str) -> list[dict[str, Any]]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


def _p(
    name: str,
    type_: str = "string",
    field_type: str = "text",
    group: str = "info",
    options: tuple[str, ...] = (),
    **kw: Any,
) -> Prop:
    label = name.removeprefix("hs_").replace("_", " ").capitalize()
    return Prop(name, label, type_, field_type, group, _opts(*options), **kw)


def _base(created: str, modified: str) -> list[Prop]:
    return [
        _p("hs_object_id", "number", "number", unique=True),
        _p(created, "datetime", "date"),
        _p(modified, "datetime", "date"),
        _p("hubspot_owner_id", "enumeration", "select"),
    ]


def default_properties() -> dict[str, dict[str, Prop]]:
    """Property definitions per object type (HubSpot-defined plus the portal's custom ones)."""
    cs: dict[str, Any] = {"group": "customer_success", "hubspot_defined": False}
    defs = {
        "companies": [
            *_base("createdate", "hs_lastmodifieddate"),
            _p("name"),
            _p("domain", unique=False),
            _p("industry"),
            _p("annualrevenue", "number", "number"),
            _p("numberofemployees", "number", "number"),
            _p(
                "lifecyclestage",
                "enumeration",
                "radio",
                options=("lead", "opportunity", "customer", "other"),
            ),
            _p("arr", "number", "number", **cs),
            _p("seats", "number", "number", **cs),
            _p("plan", "enumeration", "select", options=("starter", "growth", "enterprise"), **cs),
            _p("renewal_date", "date", "date", **cs),
            # properties `csbridge init-crm` created for CSMs (and billing), filled in since
            _p(
                "cs_relationship_quality",
                "enumeration",
                "select",
                options=("excellent", "good", "neutral", "difficult"),
                **cs,
            ),
            _p(
                "cs_community_level",
                "enumeration",
                "select",
                options=("active", "contributor", "lurker", "none"),
                **cs,
            ),
            _p("cs_referrals_12m", "number", "number", **cs),
            _p("cs_days_past_due", "number", "number", **cs),
        ],
        "contacts": [
            *_base("createdate", "lastmodifieddate"),
            _p("firstname"),
            _p("lastname"),
            _p("email"),
            _p("jobtitle"),
            _p("associatedcompanyid", "number", "number"),
            _p(
                "cs_role",
                "enumeration",
                "select",
                options=("champion", "exec_sponsor", "admin", "user"),
                **cs,
            ),
            _p("left_company", "bool", "booleancheckbox", options=("true", "false"), **cs),
            *(
                _p(name, "number", "number")
                for name in ("hs_email_delivered", "hs_email_open", "hs_email_click")
            ),
        ],
        "deals": [
            *_base("createdate", "hs_lastmodifieddate"),
            _p("dealname"),
            _p("amount", "number", "number"),
            _p("closedate", "datetime", "date"),
            _p("pipeline", "enumeration", "select", options=("default",)),
            _p(
                "dealstage",
                "enumeration",
                "radio",
                options=(
                    "appointmentscheduled",
                    "qualifiedtobuy",
                    "presentationscheduled",
                    "decisionmakerboughtin",
                    "contractsent",
                    "closedwon",
                    "closedlost",
                ),
            ),
            _p("dealtype", "enumeration", "radio", options=("newbusiness", "existingbusiness")),
            _p(
                "deal_kind",
                "enumeration",
                "select",
                options=("new", "upsell", "downgrade", "renewal"),
                **cs,
            ),
        ],
        "tasks": [
            *_base("hs_createdate", "hs_lastmodifieddate"),
            _p("hs_timestamp", "datetime", "date"),
            _p("hs_task_subject"),
            _p("hs_task_body", field_type="textarea"),
            _p(
                "hs_task_status",
                "enumeration",
                "select",
                options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
            _p(
                "hs_task_priority",
                "enumeration",
                "select",
                options=("NONE", "LOW", "MEDIUM", "HIGH"),
            ),
            _p("hs_task_type", "enumeration", "select", options=("EMAIL", "CALL", "TODO")),
            _p("hs_task_reminders", "datetime", "date"),
        ],
        **engagement_properties(),
        "feedback_submissions": [
            *_base("hs_createdate", "hs_lastmodifieddate"),
            _p("hs_survey_type", "enumeration", "select", options=("NPS", "CSAT", "CES")),
            _p("hs_value", "number", "number"),
            _p("hs_content", field_type="textarea"),
            _p(
                "hs_response_group",
                "enumeration",
                "select",
                options=("PROMOTER", "PASSIVE", "DETRACTOR"),
            ),
            _p(
                "hs_sentiment", "enumeration", "select", options=("POSITIVE", "NEUTRAL", "NEGATIVE")
            ),
            _p("hs_survey_channel", "enumeration", "select", options=("EMAIL", "WEB")),
            _p("hs_survey_id"),
            _p("hs_survey_name"),
            _p("hs_submission_name"),
            _p("hs_submission_timestamp", "datetime", "date"),
            _p("hs_contact_id"),
        ],
    }
    return {obj: {p.name: p for p in props} for obj, props in defs.items()}


def engagement_properties() -> dict[str, list[Prop]]:
    """Calls, emails, meetings and notes: `hs_timestamp` (when it happened) and the
    properties HubSpot documents for each (direction, status, outcome, title, body)."""
    common = [
        *_base("hs_createdate", "hs_lastmodifieddate"),
        _p("hs_timestamp", "datetime", "date"),
    ]
    return {
        "calls": [
            *common,
            _p("hs_call_title"),
            _p("hs_call_body", field_type="textarea"),
            _p("hs_call_direction", "enumeration", "select", options=("INBOUND", "OUTBOUND")),
            _p(
                "hs_call_status",
                "enumeration",
                "select",
                options=(
                    "BUSY",
                    "CALLING_CRM_USER",
                    "CANCELED",
                    "COMPLETED",
                    "CONNECTING",
                    "FAILED",
                    "IN_PROGRESS",
                    "NO_ANSWER",
                    "QUEUED",
                    "RINGING",
                ),
            ),
            _p("hs_call_duration", "number", "number"),
        ],
        "emails": [
            *common,
            _p("hs_email_subject"),
            _p("hs_email_text", field_type="textarea"),
            _p(
                "hs_email_direction",
                "enumeration",
                "select",
                options=("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
            ),
            _p(
                "hs_email_status",
                "enumeration",
                "select",
                options=("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
            ),
        ],
        "meetings": [
            *common,
            _p("hs_meeting_title"),
            _p("hs_meeting_body", field_type="textarea"),
            _p("hs_meeting_start_time", "datetime", "date"),
            _p("hs_meeting_end_time", "datetime", "date"),
            _p(
                "hs_meeting_outcome",
                "enumeration",
                "select",
                options=("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
            ),
            _p("hs_activity_type"),
        ],
        "notes": [*common, _p("hs_note_body", field_type="textarea")],
    }


def default_groups() -> dict[str, dict[str, dict[str, Any]]]:
    """Property groups per object type."""

    def group(name: str, label: str, order: int) -> dict[str, Any]:
        return {"name": name, "label": label, "displayOrder": order, "archived": False}

    return {
        obj: {
            "info": group("info", "Information", 0),
            "customer_success": group("customer_success", "Customer success", 1),
        }
        for obj in (
            "companies",
            "contacts",
            "deals",
            "tasks",
            "feedback_submissions",
            "calls",
            "emails",
            "meetings",
            "notes",
        )
    }


def _invalid(name: str, error: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def _epoch_ms(text: str) -> datetime | None:
    if re.fullmatch(r"\d{10,13}", text):
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalise_value(prop: Prop, raw: Any) -> tuple[str | None, dict[str, Any] | None]:
    """(stored string, None) or (None, validation error dict) for one incoming value."""
    if raw is None or raw == "":
        return ("" if raw == "" else None), None
    value = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    if prop.type != "string" and value != value.strip():
        return None, _invalid(
            prop.name,
            "INVALID_" + prop.type.upper(),
            f'"{value}" has leading or trailing whitespace',
        )
    if prop.type == "number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            return None, _invalid(prop.name, "INVALID_DECIMAL", f'"{value}" is not a valid number')
        return value, None
    if prop.type == "bool":
        if value.lower() not in {"true", "false"}:
            return None, _invalid(prop.name, "INVALID_BOOLEAN", f'"{value}" is not a valid boolean')
        return value.lower(), None
    if prop.type in {"date", "datetime"}:
        moment = _epoch_ms(value)
        if moment is None:
            return None, _invalid(prop.name, "INVALID_DATE", f'"{value}" is not a valid date')
        if prop.type == "date":
            if moment.time() != datetime.min.time():
                return None, _invalid(
                    prop.name, "INVALID_DATE", f"{value} is at {moment.time()} UTC, not midnight!"
                )
            return moment.date().isoformat(), None
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{moment.microsecond // 1000:03d}Z"
        ), None
    if prop.type == "enumeration" and prop.name != "hubspot_owner_id":
        allowed = prop.option_values()
        parts = value.split(";") if prop.field_type == "checkbox" else [value]
        for part in parts:
            if part not in allowed:
                return None, _invalid(
                    prop.name,
                    "INVALID_OPTION",
                    f'"{part}" was not one of the allowed options: {allowed}',
                )
    return value, None


def validate(
    props: dict[str, Prop], values: dict[str, Any], creating: bool, required: tuple[str, ...] = ()
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Check incoming property values: (normalised values, list of validation errors)."""
    clean: dict[str, str | None] = {}
    errors: list[dict[str, Any]] = []
    for name, raw in values.items():
        prop = props.get(name)
        if prop is None or prop.archived:
            errors.append(
                _invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        if name in READ_ONLY:
            errors.append(
                _invalid(
                    name,
                    "READ_ONLY_VALUE",
                    f"{name} is a read only property; its value cannot be set.",
                )
            )
            continue
        value, error = normalise_value(prop, raw)
        if error:
            errors.append(error)
        else:
            clean[name] = value
    if creating:
        for name in required:
            if not clean.get(name):
                errors.append(_invalid(name, "REQUIRED_PROPERTY", f"Property {name} is required"))
    return clean, errors


def errors_message(errors: list[dict[str, Any]]) -> str:
    """HubSpot's message text for a list of property validation errors."""
    return "Property values were not valid: " + json.dumps(errors)
