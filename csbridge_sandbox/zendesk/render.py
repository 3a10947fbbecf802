"""Zendesk JSON shapes for the world's records (field names and types as in Zendesk's OpenAPI)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from csbridge_sandbox.world.model import (
    SatisfactionRating,
    Ticket,
    ZendeskOrg,
    ZendeskUser,
)

GROUP_ID = 360_000_100_001
BRAND_ID = 360_000_200_001


def iso(moment: datetime | None) -> str | None:
    """Zendesk's timestamp format: ISO-8601 UTC with a `Z` and whole seconds."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(moment: datetime) -> int:
    """Unix epoch seconds."""
    return int(moment.timestamp())


def _minutes(value: int | None) -> dict[str, int | None]:
    business = None if value is None else int(value * 0.6)
    return {"calendar": value, "business": business}


def metric_set(ticket: Ticket) -> dict[str, Any]:
    """The Ticket Metric object side-loaded by `include=metric_sets`."""
    created = ticket.created_at
    replied = created + timedelta(minutes=ticket.reply_minutes or 0)
    return {
        "id": ticket.id + 500_000_000,
        "ticket_id": ticket.id,
        "url": None,
        "group_stations": 1,
        "assignee_stations": 1,
        "reopens": ticket.reopens,
        "replies": ticket.replies,
        "assignee_updated_at": iso(replied) if ticket.replies else None,
        "requester_updated_at": iso(created),
        "status_updated_at": iso(ticket.solved_at or ticket.updated_at),
        "initially_assigned_at": iso(created + timedelta(minutes=2)),
        "assigned_at": iso(created + timedelta(minutes=2)),
        "solved_at": iso(ticket.solved_at),
        "latest_comment_added_at": iso(ticket.updated_at),
        "reply_time_in_minutes": _minutes(ticket.reply_minutes),
        "first_resolution_time_in_minutes": _minutes(ticket.first_resolution_minutes),
        "full_resolution_time_in_minutes": _minutes(ticket.full_resolution_minutes),
        "agent_wait_time_in_minutes": _minutes(
            None if ticket.full_resolution_minutes is None else ticket.full_resolution_minutes // 3
        ),
        "requester_wait_time_in_minutes": _minutes(
            None if ticket.full_resolution_minutes is None else ticket.full_resolution_minutes // 2
        ),
        "on_hold_time_in_minutes": _minutes(0 if ticket.status != "hold" else 60),
        "created_at": iso(created),
        "updated_at": iso(ticket.updated_at),
    }


def satisfaction(ticket: Ticket, rating: SatisfactionRating | None) -> dict[str, Any]:
    """The ticket's `satisfaction_rating`: the rating, or the offered / unoffered state."""
    if rating is None:
        return {"score": ticket.satisfaction}
    return {"id": rating.id, "score": rating.score, "comment": rating.comment or None}


def ticket_json(
    base: str,
    ticket: Ticket,
    generated: int,
    rating: SatisfactionRating | None,
    with_metrics: bool,
) -> dict[str, Any]:
    """A ticket as the Tickets API and the incremental export return it."""
    custom = [{"id": 360_000_300_001, "value": ticket.type}]
    data: dict[str, Any] = {
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": None,
        "via": {"channel": ticket.channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "generated_timestamp": generated,
        "type": ticket.type,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": f"{ticket.subject}. Please help.",
        "priority": ticket.priority,
        "status": ticket.status,
        "recipient": "support@csbridge-vendor.example",
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.requester_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.org_id,
        "group_id": GROUP_ID,
        "brand_id": BRAND_ID,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": list(ticket.tags),
        "custom_fields": custom,
        "fields": custom,
        "satisfaction_rating": satisfaction(ticket, rating),
        "sharing_agreement_ids": [],
        "from_messaging_channel": False,
        "allow_channelback": False,
        "allow_attachments": True,
    }
    if with_metrics:
        data["metric_set"] = metric_set(ticket)
    return data


def organization_json(base: str, org: ZendeskOrg) -> dict[str, Any]:
    """An organization: `domain_names=[domain]` and `external_id=domain` (the join key)."""
    return {
        "url": f"{base}/api/v2/organizations/{org.id}.json",
        "id": org.id,
        "name": org.name,
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": org.domain,
        "created_at": iso(org.created_at),
        "updated_at": iso(org.updated_at),
        "domain_names": [org.domain],
        "details": "",
        "notes": "",
        "group_id": None,
        "tags": [],
        "organization_fields": dict(org.fields),
    }


def user_json(base: str, user: ZendeskUser) -> dict[str, Any]:
    """A user (end-user requester or agent)."""
    return {
        "url": f"{base}/api/v2/users/{user.id}.json",
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "locale": "en-US",
        "organization_id": user.organization_id,
        "role": user.role,
        "verified": True,
        "active": True,
        "suspended": False,
        "external_id": None,
        "tags": [],
        "user_fields": {},
    }


def rating_json(base: str, rating: SatisfactionRating) -> dict[str, Any]:
    """A legacy CSAT rating (no organization_id: join through ticket_id)."""
    return {
        "url": f"{base}/api/v2/satisfaction_ratings/{rating.id}.json",
        "id": rating.id,
        "assignee_id": rating.assignee_id,
        "group_id": rating.group_id,
        "requester_id": rating.requester_id,
        "ticket_id": rating.ticket_id,
        "score": rating.score,
        "comment": rating.comment or None,
        "reason": None,
        "reason_id": None,
        "created_at": iso(rating.created_at),
        "updated_at": iso(rating.updated_at),
    }
