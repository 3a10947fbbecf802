"""Zendesk Support JSON → canonical records (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csbridge.models import Account, SurveyResponse, Ticket, TicketPriority

_PRIORITIES: dict[str, TicketPriority] = {
    "urgent": "urgent",
    "high": "high",
    "normal": "normal",
    "low": "low",
}
CSAT_SCORES = {"good": 1.0, "bad": 0.0}
"""Legacy Zendesk CSAT is binary: good = 1, bad = 0 on a 0..1 scale."""


def parse_time(value: Any) -> datetime | None:
    """Zendesk ISO-8601 `...Z` strings or epoch seconds → aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _calendar_minutes(metric_set: Mapping[str, Any], key: str) -> int | None:
    value = metric_set.get(key)
    if isinstance(value, Mapping):
        value = value.get("calendar")
    return int(value) if isinstance(value, int | float) else None


def parse_ticket(raw: Mapping[str, Any]) -> Ticket:
    """One ticket of the incremental export (with the `metric_set` side-load when present).

    Deleted tickets come back in the stream with `status: "deleted"`; they become records
    with `deleted=True` so the store can retire them.
    """
    status = str(raw.get("status") or "unknown")
    updated = parse_time(raw.get("updated_at")) or parse_time(raw.get("generated_timestamp"))
    created = parse_time(raw.get("created_at")) or updated or datetime.fromtimestamp(0, tz=UTC)
    metrics = raw.get("metric_set")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    rating = raw.get("satisfaction_rating")
    score = rating.get("score") if isinstance(rating, Mapping) else None
    reopens = metrics.get("reopens")
    return Ticket(
        source="zendesk",
        id=str(raw["id"]),
        updated_at=updated,
        deleted=status == "deleted",
        account_id=_id(raw.get("organization_id")),
        requester_id=_id(raw.get("requester_id")),
        status=status,
        priority=_PRIORITIES.get(str(raw.get("priority") or "").lower()),
        type=raw.get("type") or None,
        created_at=created,
        solved_at=parse_time(metrics.get("solved_at")),
        first_reply_minutes=_calendar_minutes(metrics, "reply_time_in_minutes"),
        full_resolution_minutes=_calendar_minutes(metrics, "full_resolution_time_in_minutes"),
        reopens=int(reopens) if isinstance(reopens, int) else None,
        satisfaction_score=str(score) if score else None,
        tags=tuple(str(tag) for tag in raw.get("tags") or ()),
    )


def parse_organization(raw: Mapping[str, Any]) -> Account:
    """A Zendesk organization; `external_id` and `domain_names` carry the identity keys."""
    domains = tuple(str(d).strip().lower() for d in raw.get("domain_names") or () if d)
    fields = raw.get("organization_fields")
    custom: dict[str, str | int | float | bool | None] = {}
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            if value is None or isinstance(value, str | int | float | bool):
                custom[str(key)] = value
    return Account(
        source="zendesk",
        id=str(raw["id"]),
        updated_at=parse_time(raw.get("updated_at")),
        deleted=raw.get("deleted_at") is not None,
        name=str(raw.get("name") or raw["id"]),
        domain=domains[0] if domains else None,
        domains=domains,
        external_id=_id(raw.get("external_id")),
        created_at=parse_time(raw.get("created_at")),
        custom=custom,
    )


def parse_rating(raw: Mapping[str, Any], account_id: str | None) -> SurveyResponse | None:
    """A legacy satisfaction rating; None for `offered` / `unoffered` (no answer yet).

    Ratings carry no organization: `account_id` is looked up through the rated ticket.
    """
    score = CSAT_SCORES.get(str(raw.get("score") or "").lower())
    if score is None:
        return None
    created = parse_time(raw.get("created_at"))
    updated = parse_time(raw.get("updated_at")) or created
    responded = created or updated
    if responded is None:
        return None
    return SurveyResponse(
        source="zendesk",
        id=str(raw["id"]),
        updated_at=updated,
        kind="csat",
        account_id=account_id,
        contact_id=_id(raw.get("requester_id")),
        ticket_id=_id(raw.get("ticket_id")),
        score=score,
        scale_min=0,
        scale_max=1,
        comment=raw.get("comment") or None,
        responded_at=responded,
    )
