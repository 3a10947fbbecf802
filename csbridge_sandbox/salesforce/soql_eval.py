"""Evaluate a parsed SOQL `Query` over rows, and check literal types against a schema.

The evaluator knows nothing about sObjects: the caller passes `get(row, path)`, which
returns the Python value at a field path (str, int/float, bool, date, aware datetime or
None), so relationship paths such as `Owner.Email` are resolved by the caller.
SOQL string comparisons are case-insensitive, and `!=` matches null values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from csbridge_sandbox.salesforce.soql import (
    BoolOp,
    Comparison,
    Condition,
    Includes,
    InList,
    Like,
    Literal,
    Not,
    Query,
    RelativeDate,
    SoqlError,
    literal_repr,
)

Row = TypeVar("Row")
Getter = Callable[[Any, tuple[str, ...]], Any]

TEXT_TYPES = {
    "string", "id", "reference", "picklist", "textarea", "email", "url", "phone",
    "multipicklist", "combobox",
}  # fmt: skip
NUMBER_TYPES = {"int", "double", "currency", "percent"}


def _day_range(rel: RelativeDate, today: date) -> tuple[date, date]:
    """Inclusive first and last day covered by a relative date literal."""
    if rel.name == "TODAY":
        return today, today
    if rel.name == "YESTERDAY":
        return today - timedelta(days=1), today - timedelta(days=1)
    if rel.name == "TOMORROW":
        return today + timedelta(days=1), today + timedelta(days=1)
    if rel.name == "LAST_N_DAYS":
        return today - timedelta(days=rel.n), today
    if rel.name == "NEXT_N_DAYS":
        return today, today + timedelta(days=rel.n)
    day = today - timedelta(days=rel.n)  # N_DAYS_AGO
    return day, day


def _norm(value: Any) -> Any:
    """Make values comparable: case-fold strings, datetimes stay aware, bools stay bools."""
    if isinstance(value, str):
        return value.casefold()
    return value


def _as_comparable(field_value: Any, literal: Any) -> tuple[Any, Any] | None:
    if isinstance(field_value, bool) or isinstance(literal, bool):
        if isinstance(field_value, bool) and isinstance(literal, bool):
            return field_value, literal
        return None
    if isinstance(field_value, datetime) and type(literal) is date:
        return field_value.date(), literal
    if type(field_value) is date and isinstance(literal, datetime):
        return field_value, literal.date()
    numeric = (int, float)
    if isinstance(field_value, numeric) and isinstance(literal, numeric):
        return field_value, literal
    if type(field_value) is type(literal) or (
        isinstance(field_value, datetime) and isinstance(literal, datetime)
    ):
        return _norm(field_value), _norm(literal)
    if isinstance(field_value, str) and isinstance(literal, str):
        return _norm(field_value), _norm(literal)
    return None


def _compare_relative(value: Any, op: str, rel: RelativeDate, today: date) -> bool:
    if value is None:
        return op == "!="
    first, last = _day_range(rel, today)
    day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
    if not isinstance(day, date):
        return False
    inside = first <= day <= last
    return {
        "=": inside,
        "!=": not inside,
        "<": day < first,
        "<=": day <= last,
        ">": day > last,
        ">=": day >= first,
    }[op]


def _compare(value: Any, op: str, literal: Literal, today: date) -> bool:
    if isinstance(literal, RelativeDate):
        return _compare_relative(value, op, literal, today)
    if literal is None or value is None:
        same = value is None and literal is None
        return same if op == "=" else (not same if op == "!=" else False)
    pair = _as_comparable(value, literal)
    if pair is None:
        return op == "!="
    left, right = pair
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool(
            {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        )
    except TypeError:
        return False


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, str(value), flags=re.IGNORECASE | re.DOTALL) is not None


def _includes(value: Any, values: Sequence[str]) -> bool:
    """`includes ('a;b','c')`: the field holds both a and b, or holds c."""
    held = {part.strip().casefold() for part in str(value or "").split(";") if part.strip()}
    for spec in values:
        wanted = {part.strip().casefold() for part in spec.split(";") if part.strip()}
        if wanted and wanted <= held:
            return True
    return False


def matches(cond: Condition, row: Any, get: Getter, today: date) -> bool:
    """True when `row` satisfies the WHERE condition."""
    if isinstance(cond, BoolOp):
        if cond.op == "AND":
            return all(matches(item, row, get, today) for item in cond.items)
        return any(matches(item, row, get, today) for item in cond.items)
    if isinstance(cond, Not):
        return not matches(cond.item, row, get, today)
    value = get(row, cond.path)
    if isinstance(cond, Comparison):
        return _compare(value, cond.op, cond.value, today)
    if isinstance(cond, InList):
        hit = any(_compare(value, "=", lit, today) for lit in cond.values)
        return (not hit) if cond.negate else hit
    if isinstance(cond, Like):
        return _like(value, cond.pattern)
    hit = _includes(value, cond.values)
    return (value is not None and not hit) if cond.negate else hit


def _sort_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return _norm(value)


def execute(query: Query, rows: Iterable[Row], get: Getter, today: date) -> list[Row]:
    """Filter, order and slice rows per the query (LIMIT/OFFSET applied last)."""
    selected = [row for row in rows if query.where is None or matches(query.where, row, get, today)]
    for item in reversed(query.order_by):
        present = [r for r in selected if get(r, item.path) is not None]
        missing = [r for r in selected if get(r, item.path) is None]
        path = item.path

        def key(row: Any, path: tuple[str, ...] = path) -> Any:
            return _sort_key(get(row, path))

        present.sort(key=key, reverse=item.descending)
        selected = missing + present if item.nulls_first else present + missing
    start = query.offset or 0
    end = start + query.limit if query.limit is not None else None
    return selected[start:end]


def _literal_ok(field_type: str, literal: Literal) -> bool:
    if literal is None:
        return True
    if field_type in TEXT_TYPES:
        return isinstance(literal, str)
    if field_type in NUMBER_TYPES:
        return isinstance(literal, int | float) and not isinstance(literal, bool)
    if field_type == "boolean":
        return isinstance(literal, bool)
    if field_type == "date":
        return (type(literal) is date) or isinstance(literal, RelativeDate)
    if field_type == "datetime":
        return isinstance(literal, datetime | RelativeDate)
    return True


_TYPE_WORDS = {"datetime": "dateTime", "boolean": "boolean", "date": "date"}


def check_types(cond: Condition | None, type_of: Callable[[tuple[str, ...]], str]) -> None:
    """Refuse literals of the wrong type the way Salesforce does (errorCode INVALID_FIELD)."""
    if cond is None:
        return
    if isinstance(cond, BoolOp):
        for item in cond.items:
            check_types(item, type_of)
        return
    if isinstance(cond, Not):
        check_types(cond.item, type_of)
        return
    field_type = type_of(cond.path)
    name = ".".join(cond.path)
    if isinstance(cond, Includes):
        if field_type != "multipicklist":
            raise SoqlError(
                "INVALID_FIELD", "includes or excludes operator only valid on multipicklist field"
            )
        return
    if isinstance(cond, Like):
        if field_type not in TEXT_TYPES:
            raise SoqlError("INVALID_FIELD", f"invalid operator on {field_type} field: {name}")
        return
    literals = cond.values if isinstance(cond, InList) else (cond.value,)
    for literal in literals:
        if not _literal_ok(field_type, literal):
            quoting = (
                "should be enclosed in quotes"
                if field_type in TEXT_TYPES
                else ("should not be enclosed in quotes")
            )
            word = _TYPE_WORDS.get(field_type, field_type)
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type {word} "
                f"and {quoting} (got {literal_repr(literal)})",
            )
