"""Shared parsing helpers: strict JSON (no NaN), ids for the inbox, pydantic errors as reasons."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from csbridge.webhooks.alert import InvalidPayload

M = TypeVar("M", bound=BaseModel)


def _no_constants(name: str) -> Any:
    raise InvalidPayload(f"invalid_json: {name} is not a JSON number")


def strict_json(body: bytes) -> Any:
    """Decode UTF-8 JSON, refusing NaN / Infinity; failures raise `InvalidPayload`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPayload("invalid_json: body is not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(f"invalid_json: {exc.msg} at position {exc.pos}") from None


def lenient_json(body: bytes) -> Any:
    """Best-effort JSON for intake (finding event ids); None when it does not parse."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def body_id(body: bytes) -> str:
    """A stable event id for a body that carries none: its SHA-256."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def scalar_id(value: Any) -> str | None:
    """An id field usable as an inbox key (string or integer, ≤ 255 printable chars), else None.

    Printable leaves out NUL (PostgreSQL text refuses it), other control characters and
    lone surrogates (not encodable as UTF-8); such a body is keyed by its hash instead.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str) and 0 < len(text := str(value)) <= 255 and text.isprintable():
        return text
    return None


def validate(model: type[M], data: Any, *, from_json: bool = True) -> M:
    """Validate strictly; errors become one `InvalidPayload` naming fields and error types.

    Decoded JSON is validated in pydantic's JSON mode (ISO strings are datetimes there,
    but "55" is still not a number); Python values (an Alert being built) as they are.
    """
    try:
        if from_json:
            return model.model_validate_json(json.dumps(data), strict=True)
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in error["loc"]) or "(body)"
            detail = f" ({error['msg']})" if error["type"] == "value_error" else ""
            parts.append(f"{where}: {error['type']}{detail}")
        raise InvalidPayload("invalid_payload: " + "; ".join(parts)) from None
