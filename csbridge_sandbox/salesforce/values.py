"""Salesforce field values: JSON/CSV input -> typed Python value (with Salesforce's errors),
and typed value -> JSON output (`2013-05-20T20:49:32.000+0000` datetimes, `YYYY-MM-DD` dates).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from csbridge_sandbox.salesforce.schema import FieldDef, normalise_id
from csbridge_sandbox.salesforce.soql import parse_datetime

TEXT = {"string", "textarea", "url", "email", "phone", "picklist", "multipicklist", "combobox"}
NUMBERS = {"double", "currency", "percent", "int"}


@dataclass
class RecordError(Exception):
    """A per-record failure: `statusCode` in Collections/Bulk, `errorCode` at the top level."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        """Collections shape: {"statusCode", "message", "fields"}."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_top_level(self) -> dict[str, Any]:
        """Top-level REST shape: {"message", "errorCode", "fields"}."""
        return {"message": self.message, "errorCode": self.status_code, "fields": self.fields}


def _bad_type(f: FieldDef, raw: Any) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {raw}", [f.name]
    )


def coerce(f: FieldDef, raw: Any, *, from_csv: bool = False) -> Any:
    """Turn an incoming value into the stored Python value, or raise RecordError."""
    if raw is None or (from_csv and raw == "") or (f.type in TEXT and raw == ""):
        return None
    if from_csv and raw == "#N/A":
        return None
    if f.type in TEXT:
        if isinstance(raw, bool | dict | list):
            raise _bad_type(f, raw)
        text = str(raw)
        if len(text) > f.length:
            raise RecordError(
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {text[:40]} (max length={f.length})",
                [f.name],
            )
        if f.restricted and f.type != "multipicklist" and f.picklist and text not in f.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {text}",
                [f.name],
            )
        if f.type == "multipicklist" and f.restricted:
            for part in text.split(";"):
                if part and part not in f.picklist:
                    raise RecordError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{f.label}: bad value for restricted picklist field: {part}",
                        [f.name],
                    )
        return text
    if f.type == "base64":
        try:
            base64.b64decode(str(raw), validate=True)
        except (ValueError, TypeError):
            message = f"{f.label}: value not of required type: not base64"
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", message, [f.name]) from None
        return str(raw)
    if f.type in NUMBERS:
        return _number(f, raw)
    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"true", "false"}:
            return raw.lower() == "true"
        raise _bad_type(f, raw)
    if f.type == "date":
        if not isinstance(raw, str):
            raise _bad_type(f, raw)
        try:
            return date.fromisoformat(raw[:10]) if len(raw) >= 10 else date.fromisoformat(raw)
        except ValueError as exc:
            raise _bad_type(f, raw) from exc
    if f.type == "datetime":
        return _datetime(f, raw)
    if f.type in {"reference", "id"}:
        if not isinstance(raw, str):
            raise _bad_type(f, raw)
        normalised = normalise_id(raw)
        if normalised is None:
            raise RecordError(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {raw}", [f.name]
            )
        return normalised
    return raw


def _number(f: FieldDef, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise _bad_type(f, raw)
    if isinstance(raw, str):
        if not re.fullmatch(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*", raw):
            raise _bad_type(f, raw)
        raw = float(raw)
    if not isinstance(raw, int | float):
        raise _bad_type(f, raw)
    if f.type == "int":
        if float(raw) != int(raw):
            raise _bad_type(f, raw)
        return int(raw)
    return float(raw)


def _datetime(f: FieldDef, raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _bad_type(f, raw)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return datetime.fromisoformat(raw).replace(tzinfo=UTC)
        text = raw if re.search(r"(Z|[+-]\d{2}:?\d{2})$", raw) else raw + "Z"
        return parse_datetime(text)
    except ValueError as exc:
        raise _bad_type(f, raw) from exc


def format_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime form: 2013-05-20T20:49:32.000+0000."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "+0000")


def render(value: Any) -> Any:
    """A stored value as Salesforce serialises it in JSON."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
