"""Warehouse rows into canonical records, and the watermark as a cursor (pure: no I/O).

A usage query returns one row per account and day, keyed by the identity key (the
account's domain, or its external id under `identity.key: external_id`), with the
same counts the Mixpanel fold produces. Every problem raises `QueryError` naming the
column or the value and what the SQL should return instead (the caller adds the query).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from csbridge.mappings.identity import IdentityKey, normalise_domain
from csbridge.models import UsageDay

SOURCE = "warehouse"
ACCOUNT = "account"
USAGE_COLUMNS = ("account", "day", "active_users", "sessions", "events")
OPTIONAL_USAGE_COLUMNS = ("last_event_at",)
Watermark = datetime | int  # a date watermark is bound as its midnight UTC


class QueryError(ValueError):
    """A query's rows cannot be read as configured; the message names the fix."""


def missing_columns(columns: Iterable[str], required: Iterable[str]) -> None:
    """Raise when the result lacks a column csbridge reads."""
    present = {c.lower() for c in columns}
    missing = [c for c in required if c.lower() not in present]
    if missing:
        raise QueryError(
            f"the result has no column {', '.join(missing)}; "
            f"select it (rename with AS); it has: {', '.join(sorted(present))}"
        )


def account_key(value: Any, key: IdentityKey) -> str:
    """The row's account as an identity key, or a QueryError saying what to return."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise QueryError(f"a row has an empty {ACCOUNT}; filter out NULL keys in the SQL")
    if key == "external_id":
        return text
    domain = normalise_domain(text)
    if domain is None:
        raise QueryError(
            f"{ACCOUNT} {text[:60]!r} is not a domain (identity.key is "
            "domain); return the account's domain, or set identity.key: external_id"
        )
    return domain


def usage_day(row: Mapping[str, Any], key: IdentityKey, watermark: str) -> UsageDay:
    """One usage row (lower-case column names) as a UsageDay of source `warehouse`."""
    account = account_key(row[ACCOUNT], key)
    day = row["day"]
    if isinstance(day, datetime):
        day = day.date()
    try:
        return UsageDay(
            source=SOURCE,
            id=UsageDay.usage_id(account, day) if isinstance(day, date) else "?",
            account_id=account,
            day=day,
            active_users=row["active_users"],
            sessions=row["sessions"],
            events=row["events"],
            last_event_at=_aware(row.get("last_event_at")),
            updated_at=_aware(row[watermark]) if isinstance(row[watermark], datetime) else None,
        )
    except ValidationError as exc:
        error = exc.errors(include_input=False)[0]
        column = ".".join(str(part) for part in error["loc"])
        raise QueryError(
            f"column {column} of account {account!r}: {error['msg'].lower()}; "
            "cast it in the SQL (counts as integers, day as a date)"
        ) from None


def encode(value: Any, column: str) -> str:
    """A watermark value as the stored cursor token."""
    if isinstance(value, datetime):
        return _aware(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date | int) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else str(value)
    raise QueryError(
        f"watermark column {column} holds {type(value).__name__} values; "
        "use a timestamp, a date or an integer column"
    )


def decode(token: str) -> Watermark:
    """A cursor token (or a `start` setting) as the value bound to `:watermark`."""
    text = token.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"watermark {text[:40]!r} is neither an ISO time nor an integer; "
            "write start as 2024-01-01T00:00:00+00:00 or 0"
        ) from None
    return _aware(moment) or moment


def as_time(token: str) -> datetime | None:
    """The moment a cursor token stands for (None for an integer watermark)."""
    value = decode(token)
    return value if isinstance(value, datetime) else None


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
