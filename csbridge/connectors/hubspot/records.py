"""HubSpot CRM v3 objects → canonical records (pure functions).

Property values arrive as strings. Each canonical field has a list of candidate
properties; the first one present on the object wins, so portals that name a custom
property differently only need the mapping changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from csbridge.connectors.values import (
    domain_from_website,
    opportunity_kind,
    roles_from,
    seniority_from_title,
    to_float,
    to_int,
)
from csbridge.models import Account, Contact, Opportunity, Owner, SurveyKind, SurveyResponse

SYSTEM = "hubspot"
SURVEY_KINDS: dict[str, SurveyKind] = {"NPS": "nps", "CSAT": "csat", "CES": "ces"}
SURVEY_SCALES: dict[SurveyKind, tuple[float, float]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
}


@dataclass(frozen=True)
class HubspotMapping:
    """Canonical field → candidate HubSpot property names, per object.

    A company key `custom.<name>` copies the first candidate's value into
    `Account.custom[<name>]` (the fields `init-crm` creates for CSMs to fill in).
    """

    company: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "name": ("name",),
            "domain": ("domain", "website"),
            "owner_id": ("hubspot_owner_id",),
            "arr": ("arr", "annual_recurring_revenue", "hs_arr"),
            "currency": ("hs_annual_revenue_currency_code",),
            "renewal_date": ("renewal_date", "contract_end_date"),
            "seats_purchased": ("seats", "seats_purchased", "licensed_seats"),
            "seats_used": ("seats_used", "active_seats"),
            "plan": ("plan", "tier"),
            "lifecycle_stage": ("lifecyclestage",),
            "created_at": ("createdate",),
            "external_id": ("external_id",),
            "custom.cs_strategic_fit": ("cs_strategic_fit",),
            "custom.cs_expansion_potential": ("cs_expansion_potential",),
            "custom.cs_relationship_quality": ("cs_relationship_quality",),
            "custom.cs_community_level": ("cs_community_level",),
            "custom.cs_referrals_12m": ("cs_referrals_12m",),
            "custom.cs_days_past_due": ("cs_days_past_due",),
        }
    )
    contact: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "account_id": ("associatedcompanyid",),
            "email": ("email",),
            "firstname": ("firstname",),
            "lastname": ("lastname",),
            "title": ("jobtitle",),
            "roles": ("cs_role", "hs_buying_role", "role"),
            "last_activity_at": ("notes_last_updated", "hs_last_sales_activity_timestamp"),
            "emails_delivered": ("hs_email_delivered",),
            "emails_opened": ("hs_email_open",),
            "emails_clicked": ("hs_email_click",),
        }
    )
    deal: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "name": ("dealname",),
            "type": ("dealtype",),
            "stage": ("dealstage",),
            "amount": ("amount",),
            "currency": ("deal_currency_code",),
            "close_date": ("closedate",),
            "is_closed": ("hs_is_closed",),
            "is_won": ("hs_is_closed_won",),
            "owner_id": ("hubspot_owner_id",),
            "account_id": ("associatedcompanyid",),
        }
    )
    feedback: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "kind": ("hs_survey_type",),
            "score": ("hs_value",),
            "group": ("hs_response_group",),
            "comment": ("hs_content",),
            "contact_id": ("hs_contact_id",),
            "responded_at": ("hs_submission_timestamp", "hs_createdate"),
            "account_id": ("associatedcompanyid",),
        }
    )

    @staticmethod
    def properties(spec: Mapping[str, tuple[str, ...]], modified: str) -> list[str]:
        """Every candidate property to request, plus the last-modified one."""
        names = [name for candidates in spec.values() for name in candidates]
        return list(dict.fromkeys([*names, modified]))


def pick(props: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Canonical name → the first non-empty candidate property value."""
    out: dict[str, Any] = {}
    for canonical, candidates in spec.items():
        for name in candidates:
            value = props.get(name)
            if value not in (None, ""):
                out[canonical] = value
                break
    return out


def parse_time(value: Any) -> datetime | None:
    """HubSpot datetimes: ISO-8601 (`...Z`) or epoch milliseconds (as a string)."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_ms(value: Any) -> int | None:
    """A HubSpot datetime property as epoch milliseconds."""
    parsed = parse_time(value)
    return None if parsed is None else int(parsed.timestamp() * 1000)


def _date(value: Any) -> date | None:
    parsed = parse_time(value)
    return None if parsed is None else parsed.date()


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _base(raw: Mapping[str, Any], modified: str) -> dict[str, Any]:
    props = raw.get("properties") or {}
    return {
        "source": SYSTEM,
        "id": str(raw["id"]),
        "updated_at": parse_time(props.get(modified) or raw.get("updatedAt")),
        "deleted": bool(raw.get("archived")),
    }


def parse_company(
    raw: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], modified: str
) -> Account:
    """A company: domain, owner, ARR, renewal date, seats, lifecycle stage, custom values."""
    v = pick(raw.get("properties") or {}, spec)
    custom = {k.removeprefix("custom."): str(v[k]) for k in v if k.startswith("custom.")}
    domain = domain_from_website(v.get("domain"))
    return Account(
        **_base(raw, modified),
        name=str(v.get("name") or raw["id"]),
        domain=domain,
        domains=(domain,) if domain else (),
        external_id=_text(v.get("external_id")),
        owner_id=_text(v.get("owner_id")),
        arr=to_float(v.get("arr")),
        currency=_text(v.get("currency")),
        renewal_date=_date(v.get("renewal_date")),
        seats_purchased=to_int(v.get("seats_purchased")),
        seats_used=to_int(v.get("seats_used")),
        plan=_text(v.get("plan")),
        lifecycle_stage=_text(v.get("lifecycle_stage")),
        created_at=parse_time(v.get("created_at") or raw.get("createdAt")),
        custom=custom,
    )


def parse_contact(
    raw: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], modified: str
) -> Contact:
    """A contact: primary company, seniority from the job title, roles."""
    v = pick(raw.get("properties") or {}, spec)
    title = _text(v.get("title"))
    name = " ".join(str(v[k]) for k in ("firstname", "lastname") if v.get(k)) or None
    return Contact(
        **_base(raw, modified),
        account_id=_text(v.get("account_id")),
        email=_text(v.get("email")),
        name=name,
        title=title,
        seniority=seniority_from_title(title),
        roles=roles_from([v.get("roles")]),
        last_activity_at=parse_time(v.get("last_activity_at")),
        emails_delivered=to_int(v.get("emails_delivered")),
        emails_opened=to_int(v.get("emails_opened")),
        emails_clicked=to_int(v.get("emails_clicked")),
    )


def parse_deal(
    raw: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], modified: str
) -> Opportunity:
    """A deal: kind from `dealtype` (renewal / upsell / downgrade / newbusiness)."""
    v = pick(raw.get("properties") or {}, spec)
    return Opportunity(
        **_base(raw, modified),
        account_id=_text(v.get("account_id")),
        name=_text(v.get("name")),
        kind=opportunity_kind(v.get("type")),
        stage=_text(v.get("stage")),
        amount=to_float(v.get("amount")),
        currency=_text(v.get("currency")),
        close_date=_date(v.get("close_date")),
        is_closed=_bool(v.get("is_closed")),
        is_won=_bool(v.get("is_won")),
        owner_id=_text(v.get("owner_id")),
    )


def parse_feedback(
    raw: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], modified: str
) -> SurveyResponse | None:
    """A feedback submission (`hs_value` score, `hs_survey_type`); None if unusable."""
    v = pick(raw.get("properties") or {}, spec)
    kind = SURVEY_KINDS.get(str(v.get("kind") or "NPS").upper())
    score = to_float(v.get("score"))
    base = _base(raw, modified)
    responded = parse_time(v.get("responded_at")) or base["updated_at"]
    if kind is None or score is None or responded is None:
        return None
    low, high = SURVEY_SCALES[kind]
    return SurveyResponse(
        **base,
        kind=kind,
        account_id=_text(v.get("account_id")),
        contact_id=_text(v.get("contact_id")),
        score=score,
        scale_min=low,
        scale_max=high,
        comment=_text(v.get("comment")),
        responded_at=responded,
    )


def parse_owner(raw: Mapping[str, Any]) -> Owner:
    """An owner (`/crm/v3/owners`)."""
    name = " ".join(str(raw[k]) for k in ("firstName", "lastName") if raw.get(k)) or None
    archived = bool(raw.get("archived"))
    return Owner(
        source=SYSTEM,
        id=str(raw["id"]),
        updated_at=parse_time(raw.get("updatedAt")),
        deleted=archived,
        name=name,
        email=_text(raw.get("email")),
        active=not archived,
    )
