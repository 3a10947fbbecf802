"""Salesforce activities → canonical `Activity` records (pure functions).

- Task: a call or email by `TaskSubtype` (else `Type`), any other task a "task";
  direction from `CallType` (Inbound / Outbound; an email Task carries none). A task
  happened when it is closed (`CompletedDateTime`, else its date); an open task has no
  `occurred_at`, so it shows no engagement yet. `Csbridge_Key__c` marks csbridge's own.
- Event: a meeting (a call when `Type` says so) at `StartDateTime`; an outcome custom
  field (`Outcome__c`) tells a no-show or a cancellation apart, when the org has one.
- EmailMessage (Enhanced Email): the email itself, with what its Task lacks: the
  direction (`Incoming`) and, for a tracked email we sent, whether it was opened
  (`FirstOpenedDate`). The account is `RelatedToId` when it is an Account (key prefix
  001); an email related to another record joins no account.
- CampaignMember: a contact's membership of a campaign (webinar, event, training by
  `Campaign.Type`); attended when `HasResponded` (the member status is a "responded"
  one, e.g. Attended); dated at the campaign's start; the account is the contact's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csbridge.connectors.salesforce.records import SYSTEM, _text, _values
from csbridge.connectors.salesforce.soql import parse_date, parse_datetime
from csbridge.models import Activity, ActivityKind, Direction

TASK_KINDS: dict[str, ActivityKind] = {"email": "email", "call": "call", "meeting": "meeting"}
DIRECTIONS: dict[str, Direction] = {"inbound": "inbound", "outbound": "outbound"}
ACCOUNT_PREFIX = "001"


def parse_task(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> Activity:
    """A Task row: call / email / task, its direction, when it was done, csbridge's key."""
    v = _values(raw, chosen)
    subtype = _text(v.get("subtype"))
    kind = TASK_KINDS.get((subtype or "").lower()) or TASK_KINDS.get(
        str(v.get("type") or "").lower(), "task"
    )
    done = v.get("is_closed") is True or str(v.get("status") or "") == "Completed"
    when = parse_datetime(v.get("completed_at")) or _day(v.get("date")) if done else None
    return Activity(
        **_base(raw),
        account_id=_text(v.get("account_id")),
        contact_id=_text(v.get("contact_id")),
        kind=kind,
        subtype=subtype or _text(v.get("type")),
        direction=DIRECTIONS.get(str(v.get("call_type") or "").lower()),
        occurred_at=when or (parse_datetime(v.get("created_at")) if done else None),
        subject=_text(v.get("subject")),
        status=_text(v.get("status")),
        csbridge_key=_text(v.get("key")),
    )


def parse_event(raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]) -> Activity:
    """An Event row: a meeting (or a call), its start and its outcome when recorded."""
    v = _values(raw, chosen)
    kind: ActivityKind = "call" if str(v.get("type") or "").lower() == "call" else "meeting"
    return Activity(
        **_base(raw),
        account_id=_text(v.get("account_id")),
        contact_id=_text(v.get("contact_id")),
        kind=kind,
        subtype=_text(v.get("type")) or _text(v.get("subtype")),
        occurred_at=parse_datetime(v.get("start")) or _day(v.get("date")),
        subject=_text(v.get("subject")),
        status=_text(v.get("status")),
    )


def parse_email_message(
    raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]
) -> Activity:
    """An EmailMessage row: direction, date and, when tracked, whether it was opened."""
    v = _values(raw, chosen)
    related = _text(v.get("related_to"))
    incoming = v.get("incoming") is True
    tracked = v.get("tracked") is True and not incoming
    return Activity(
        **_base(raw),
        account_id=related if related and related.startswith(ACCOUNT_PREFIX) else None,
        kind="email",
        direction="inbound" if incoming else "outbound",
        occurred_at=parse_datetime(v.get("date")) or parse_datetime(v.get("created_at")),
        subject=_text(v.get("subject")),
        opened=bool(v.get("opened_at")) if tracked else None,
    )


def parse_campaign_member(
    raw: Mapping[str, Any], chosen: dict[str, str], extra: list[str]
) -> Activity:
    """A CampaignMember row: invited to a campaign, attended when it responded."""
    v = _values(raw, chosen)
    when = _day(v.get("start")) or _day(v.get("responded_on"))
    return Activity(
        **_base(raw),
        account_id=_text(v.get("account_id")),
        contact_id=_text(v.get("contact_id")),
        kind="campaign",
        subtype=_text(v.get("campaign_type")),
        occurred_at=when or parse_datetime(v.get("created_at")),
        subject=_text(v.get("campaign_name")),
        status=_text(v.get("status")),
        attended=v.get("responded") is True,
        campaign_id=_text(v.get("campaign_id")),
    )


def _base(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": SYSTEM,
        "id": str(raw["Id"]),
        "updated_at": parse_datetime(raw.get("SystemModstamp")),
        "deleted": bool(raw.get("IsDeleted")),
    }


def _day(value: Any) -> datetime | None:
    """A date field as midnight UTC."""
    day = parse_date(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
