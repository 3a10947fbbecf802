"""Seed the HubSpot portal's activities from the World: calls, emails, meetings and notes
associated with their company and contact, and each contact's marketing-email counts
(`hs_email_delivered`, `hs_email_open`, `hs_email_click`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from csbridge_sandbox.hubspot.store import HubSpotStore, iso
from csbridge_sandbox.world.build import World

if TYPE_CHECKING:
    from csbridge_sandbox.world.activities import Engagement

Put = Callable[[HubSpotStore, str, str, datetime, datetime, int, dict[str, str | None]], None]
EMAIL_DIRECTIONS = {"outbound": "EMAIL", "inbound": "INCOMING_EMAIL"}


def engagement_properties(e: Engagement, owner: str | None) -> tuple[str, dict[str, str | None]]:
    """The object type and properties of one engagement, as HubSpot's API names them."""
    common: dict[str, str | None] = {"hs_timestamp": iso(e.at), "hubspot_owner_id": owner}
    if e.kind == "email":
        direction = EMAIL_DIRECTIONS[e.direction or "outbound"]
        return "emails", {
            **common,
            "hs_email_subject": e.subject,
            "hs_email_direction": direction,
            "hs_email_status": "SENT",
        }
    if e.kind == "call":
        return "calls", {
            **common,
            "hs_call_title": e.subject,
            "hs_call_direction": (e.direction or "outbound").upper(),
            "hs_call_status": "COMPLETED",
            "hs_call_duration": "900000",
        }
    if e.kind == "meeting":
        return "meetings", {
            **common,
            "hs_meeting_title": e.subject,
            "hs_meeting_start_time": iso(e.at),
            "hs_meeting_end_time": iso(e.at + timedelta(hours=1)),
            "hs_meeting_outcome": e.outcome,
        }
    return "notes", {**common, "hs_note_body": e.subject}


def seed_activities(store: HubSpotStore, world: World, put: Put) -> None:
    """Engagements with their associations, and the contacts' marketing-email counts."""
    activities = world.activities
    owners = {o.id: o.hubspot_id for o in (*world.owners, world.manager)}
    contacts = {c.key: c for c in world.contacts}
    for i, e in enumerate(activities.engagements):
        account = world.accounts_by_key[e.account_key]
        obj_type, props = engagement_properties(e, owners.get(account.owner))
        put(store, obj_type, e.hubspot_id, e.at, world.now, i, props)
        store.associate(obj_type, e.hubspot_id, "companies", account.hubspot_id)
        store.associate(obj_type, e.hubspot_id, "contacts", contacts[e.contact_key].hubspot_id)
    for contact_key, (delivered, opened, clicked) in activities.marketing.items():
        obj = store.objects["contacts"][contacts[contact_key].hubspot_id]
        obj.properties.update(
            hs_email_delivered=str(delivered),
            hs_email_open=str(opened),
            hs_email_click=str(clicked),
        )
