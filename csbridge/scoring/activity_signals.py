"""Engagement and relationship signals from CRM activities, contacts and tickets (pure).

Tasks and report notes csbridge created itself (`Activity.csbridge_key` set) never
count: they are our own follow-ups, not the customer engaging. Deleted activities do
not count either.

- email_open_rate: tracked CS emails we sent in the last 90 d that were opened /
  those sent (Salesforce EmailMessage); without any, marketing emails opened /
  delivered summed over the contacts still there (HubSpot `hs_email_open` /
  `hs_email_delivered`, lifetime counts); missing without either.
- webinar_attendance: webinar campaigns (subtype "webinar") of the last 180 d the
  customer attended / those it was invited to (distinct campaigns, any contact);
  missing without an invitation.
- event_participation: distinct campaigns of any type (webinars, trainings, user
  groups, events) attended in the last 90 d; missing for a customer never invited.
- support_engagement: months of the last 6 in which the customer reached out (a
  Zendesk ticket, an inbound call or email): none 0 months, reactive 1-2, regular 3+,
  proactive 3+ with at least half the tickets questions or tasks rather than
  incidents / problems. Missing for a customer with neither Zendesk nor activities.
- comms_response: inbound emails / outbound emails of the last 90 d, at most 1;
  missing without an outbound email of known direction.
- qbr_participation: meetings of the last 365 d whose subject or subtype names a QBR
  or business review: held / offered (a meeting whose outcome says no-show, cancelled
  or declined was offered, not held); missing without one.
- last_contact_days: days since the last meaningful contact (a meeting held, a call,
  an inbound email; notes and tasks are not contact); missing without one.
- meetings_90d: meetings held in the last 90 d (0 when the customer has activities
  but no meeting).
The last two have no indicator in the presets; they are in the catalogue for the
playbooks and for custom models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from csbridge.models import Activity, Contact, Ticket
from csbridge.scoring import signal_rules as rule
from csbridge.scoring.signal_types import CustomerFacts, SignalOptions, SignalValue

QBR = re.compile(r"\bQBRs?\b|business review", re.IGNORECASE)
NOT_HELD = frozenset({"no_show", "canceled", "cancelled", "declined", "rescheduled"})
QUESTION_TYPES = frozenset({"question", "task"})


def engaging(activities: Sequence[Activity]) -> list[Activity]:
    """The activities that can show customer engagement: not ours, not deleted, dated."""
    return [
        a
        for a in activities
        if a.csbridge_key is None and not a.deleted and a.occurred_at is not None
    ]


def activity_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """The engagement and relationship signals of one customer (see the module doc)."""
    acts = [a for a in engaging(facts.activities) if a.occurred_at and a.occurred_at <= now]
    contacts = [c for c in facts.contacts if not rule.has_left(c, options.left_company_fields)]
    out: dict[str, SignalValue | None] = {
        "email_open_rate": open_rate(acts, contacts, now),
        "webinar_attendance": webinar_attendance(acts, now),
        "event_participation": event_participation(acts, now),
        "support_engagement": support_engagement(facts, acts, now),
        "comms_response": comms_response(acts, now),
        "qbr_participation": qbr_participation(acts, now),
    }
    if facts.activities:
        meetings = [a for a in acts if a.kind == "meeting" and held(a)]
        since = rule.window(now, 90)
        out["meetings_90d"] = sum(1 for a in meetings if _at(a) >= since)
        contact = [a for a in acts if meaningful(a)]
        last = max((_at(a) for a in contact), default=None)
        out["last_contact_days"] = None if last is None else (now - last).days
    return out


def open_rate(acts: Sequence[Activity], contacts: Sequence[Contact], now: datetime) -> float | None:
    """Tracked emails of 90 d opened / sent, else marketing emails opened / delivered."""
    since = rule.window(now, 90)
    tracked = [a.opened for a in acts if a.opened is not None and _at(a) >= since]
    if tracked:
        return round(sum(tracked) / len(tracked), 4)
    delivered = sum(c.emails_delivered or 0 for c in contacts)
    opened = sum(min(c.emails_opened or 0, c.emails_delivered or 0) for c in contacts)
    return round(opened / delivered, 4) if delivered else None


def webinar_attendance(acts: Sequence[Activity], now: datetime) -> float | None:
    """Webinars attended / invited to in the last 180 d (distinct campaigns)."""
    since = rule.window(now, 180)
    webinars = [
        a
        for a in acts
        if a.kind == "campaign" and (a.subtype or "").lower() == "webinar" and _at(a) >= since
    ]
    invited = {_campaign(a) for a in webinars}
    attended = {_campaign(a) for a in webinars if a.attended}
    return round(len(attended) / len(invited), 4) if invited else None


def event_participation(acts: Sequence[Activity], now: datetime) -> int | None:
    """Distinct campaigns attended in the last 90 d; None if never invited to one."""
    campaigns = [a for a in acts if a.kind == "campaign"]
    if not campaigns:
        return None
    since = rule.window(now, 90)
    return len({_campaign(a) for a in campaigns if a.attended and _at(a) >= since})


def support_engagement(facts: CustomerFacts, acts: Sequence[Activity], now: datetime) -> str | None:
    """none / reactive / regular / proactive from the months the customer reached out."""
    if "zendesk" not in facts.systems and not facts.tickets and not facts.activities:
        return None
    since = rule.window(now, 180)
    tickets: list[Ticket] = rule.created_between(facts.tickets, since, now)
    inbound = [
        a
        for a in acts
        if a.direction == "inbound" and a.kind in ("call", "email") and _at(a) >= since
    ]
    months = {(now - t.created_at).days // 30 for t in tickets}
    months |= {(now - _at(a)).days // 30 for a in inbound}
    if not months:
        return "none"
    if len(months) < 3:
        return "reactive"
    questions = sum(1 for t in tickets if (t.type or "").lower() in QUESTION_TYPES)
    return "proactive" if tickets and questions * 2 >= len(tickets) else "regular"


def comms_response(acts: Sequence[Activity], now: datetime) -> float | None:
    """Inbound / outbound emails of the last 90 d, at most 1; None without outbound."""
    since = rule.window(now, 90)
    emails = [a for a in acts if a.kind == "email" and _at(a) >= since]
    sent = sum(1 for a in emails if a.direction == "outbound")
    answered = sum(1 for a in emails if a.direction == "inbound")
    return round(min(answered / sent, 1.0), 4) if sent else None


def qbr_participation(acts: Sequence[Activity], now: datetime) -> float | None:
    """QBR meetings of the last 365 d held / offered; None if none was offered."""
    since = rule.window(now, 365)
    qbrs = [
        a
        for a in acts
        if a.kind == "meeting"
        and _at(a) >= since
        and (QBR.search(a.subject or "") or QBR.search(a.subtype or ""))
    ]
    if not qbrs:
        return None
    return round(sum(1 for a in qbrs if held(a)) / len(qbrs), 4)


def held(meeting: Activity) -> bool:
    """A meeting took place unless its outcome says otherwise (no-show, cancelled...)."""
    if meeting.attended is not None:
        return meeting.attended
    status = (meeting.status or "").lower().replace("-", "_").replace(" ", "_")
    return status not in NOT_HELD


def meaningful(activity: Activity) -> bool:
    """Real contact with the customer: a meeting held, a call, an inbound email."""
    if activity.kind == "meeting":
        return held(activity)
    if activity.kind == "call":
        return True
    return activity.kind == "email" and activity.direction == "inbound"


def _at(activity: Activity) -> datetime:
    assert activity.occurred_at is not None  # `engaging` keeps dated activities only
    return activity.occurred_at


def _campaign(activity: Activity) -> str:
    """The campaign a membership belongs to."""
    return activity.campaign_id or activity.id
