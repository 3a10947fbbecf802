"""Salesforce query rows → canonical records (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csbridge.connectors.salesforce.soql import parse_date, parse_datetime
from csbridge.connectors.values import (
    domain_from_website,
    opportunity_kind,
    roles_from,
    seniority_from_title,
    to_float,
    to_int,
)
from csbridge.models import Account, Contact, Opportunity, Owner, SurveyResponse

SYSTEM = "salesforce"


def parse_account(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> Account:
    """An Account row: ARR, owner (and Owner.Email into custom), renewal, seats, mapped fields."""
    v = _values(raw, chosen)
    custom = {name: _scalar(raw.get(name)) for name in extra}
    if v.get("owner_email"):
        custom["owner_email"] = str(v["owner_email"])
    domain = domain_from_website(v.get("website"))
    return Account(
        source=SYSTEM,
        id=str(raw["Id"]),
        updated_at=parse_datetime(raw.get("SystemModstamp")),
        deleted=bool(raw.get("IsDeleted")),
        name=str(v.get("name") or raw["Id"]),
        domain=domain,
        domains=(domain,) if domain else (),
        external_id=_text(v.get("external_id")),
        owner_id=_text(v.get("owner_id")),
        arr=to_float(v.get("arr")),
        currency=_text(v.get("currency")),
        renewal_date=parse_date(v.get("renewal_date")),
        seats_purchased=to_int(v.get("seats_purchased")),
        seats_used=to_int(v.get("seats_used")),
        plan=_text(v.get("plan")),
        lifecycle_stage=_text(v.get("lifecycle_stage")),
        created_at=parse_datetime(v.get("created_at")),
        custom=custom,
    )


def parse_contact(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> Contact:
    """A Contact row: seniority from the title, roles from the mapped role field."""
    v = _values(raw, chosen)
    title = _text(v.get("title"))
    activity = v.get("last_activity_at")
    return Contact(
        source=SYSTEM,
        id=str(raw["Id"]),
        updated_at=parse_datetime(raw.get("SystemModstamp")),
        deleted=bool(raw.get("IsDeleted")),
        account_id=_text(v.get("account_id")),
        email=_text(v.get("email")),
        name=_text(v.get("name")),
        title=title,
        seniority=seniority_from_title(title),
        roles=roles_from([v.get("roles")]),
        last_activity_at=_as_datetime(activity),
        custom={name: _scalar(raw.get(name)) for name in extra},
    )


def parse_opportunity(
    raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]
) -> Opportunity:
    """An Opportunity row, its kind (renewal / upsell / downgrade / ...) from Type."""
    v = _values(raw, chosen)
    return Opportunity(
        source=SYSTEM,
        id=str(raw["Id"]),
        updated_at=parse_datetime(raw.get("SystemModstamp")),
        deleted=bool(raw.get("IsDeleted")),
        account_id=_text(v.get("account_id")),
        name=_text(v.get("name")),
        kind=opportunity_kind(v.get("type")),
        stage=_text(v.get("stage")),
        amount=to_float(v.get("amount")),
        currency=_text(v.get("currency")),
        close_date=parse_date(v.get("close_date")),
        is_closed=bool(v.get("is_closed")),
        is_won=bool(v.get("is_won")),
        owner_id=_text(v.get("owner_id")),
        custom={name: _scalar(raw.get(name)) for name in extra},
    )


def parse_nps(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> SurveyResponse:
    """A row of the NPS custom object (0-10 scale)."""
    v = _values(raw, chosen)
    modstamp = parse_datetime(raw.get("SystemModstamp"))
    responded = _as_datetime(v.get("responded_at")) or modstamp or datetime.now(UTC)
    return SurveyResponse(
        source=SYSTEM,
        id=str(raw["Id"]),
        updated_at=modstamp,
        deleted=bool(raw.get("IsDeleted")),
        kind="nps",
        account_id=_text(v.get("account_id")),
        contact_id=_text(v.get("contact_id")),
        score=to_float(v.get("score")) or 0.0,
        comment=_text(v.get("comment")),
        responded_at=responded,
    )


def parse_owner(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> Owner:
    """A User row (account owner)."""
    v = _values(raw, chosen)
    return Owner(
        source=SYSTEM,
        id=str(raw["Id"]),
        updated_at=parse_datetime(raw.get("SystemModstamp")),
        deleted=bool(raw.get("IsDeleted")),
        name=_text(v.get("name")),
        email=_text(v.get("email")),
        manager_id=_text(v.get("manager_id")),
        active=v.get("active") is not False,
    )


def _values(raw: Mapping[str, Any], chosen: Mapping[str, str]) -> dict[str, Any]:
    """Canonical name → value, following relationship paths like `Owner.Email`."""
    out: dict[str, Any] = {}
    for canonical, path in chosen.items():
        node: Any = raw
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        out[canonical] = node
    return out


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _scalar(value: Any) -> str | int | float | bool | None:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _as_datetime(value: Any) -> datetime | None:
    """A datetime field, or a date field read as midnight UTC."""
    if not value:
        return None
    text = str(value)
    if len(text) == 10:
        day = parse_date(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    return parse_datetime(text)
