"""Seed the Salesforce org's activities from the World: Campaigns and their members,
Tasks (logged emails and calls, completed), the EmailMessage of each email (Enhanced
Email: direction, tracking, first open) and Events (meetings, QBRs among them, with the
outcome an admin's `Outcome__c` field records)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from csbridge_sandbox.world.build import World

Put = Callable[..., None]  # (sobject, id, created, index, **fields)
OUTCOMES = {"COMPLETED": "Completed", "NO_SHOW": "No Show", "CANCELED": "Canceled"}


def seed_activities(put: Put, world: World, user_ids: dict[str, str]) -> None:
    """Campaigns, CampaignMembers, Tasks and Events for every account of `world`."""
    activities = world.activities
    accounts = world.accounts_by_key
    contacts = {c.key: c for c in world.contacts}
    campaign_ids: dict[str, str] = {}
    for i, campaign in enumerate(activities.campaigns):
        start = datetime(campaign.start.year, campaign.start.month, campaign.start.day, tzinfo=UTC)
        campaign_ids[campaign.key] = campaign.salesforce_id
        put(
            "Campaign",
            campaign.salesforce_id,
            start - timedelta(days=30),
            i,
            Name=campaign.name,
            Type=campaign.type,
            Status="Completed",
            StartDate=campaign.start,
            EndDate=campaign.start,
            OwnerId=user_ids.get(world.manager.id),
        )
    for i, invite in enumerate(activities.invitations):
        put(
            "CampaignMember",
            invite.salesforce_id,
            world.now - timedelta(days=200),
            i,
            CampaignId=campaign_ids[invite.campaign_key],
            ContactId=contacts[invite.contact_key].salesforce_id,
            Status="Attended" if invite.attended else "Sent",
            FirstRespondedDate=invite.responded_on,
        )
    for i, e in enumerate(activities.engagements):
        account = accounts[e.account_key]
        common: dict[str, Any] = {
            "Subject": e.subject,
            "WhatId": account.salesforce_id,
            "WhoId": contacts[e.contact_key].salesforce_id,
            "OwnerId": user_ids.get(account.owner),
        }
        if e.kind == "meeting":
            put(
                "Event",
                e.salesforce_id,
                e.at - timedelta(days=7),
                i,
                **common,
                Type="Meeting",
                StartDateTime=e.at,
                EndDateTime=e.at + timedelta(hours=1),
                ActivityDateTime=e.at,
                ActivityDate=e.at.date(),
                DurationInMinutes=60,
                Outcome__c=OUTCOMES.get(e.outcome or ""),
            )
        elif e.kind in ("email", "call"):
            put(
                "Task",
                e.salesforce_id,
                e.at,
                i,
                **common,
                Status="Completed",
                Type=e.kind.title(),
                TaskSubtype=e.kind.title(),
                CallType=(e.direction or "").title() if e.kind == "call" else None,
                ActivityDate=e.at.date(),
                CompletedDateTime=e.at,
            )
        if e.email_id is not None:
            contact = contacts[e.contact_key]
            put(
                "EmailMessage",
                e.email_id,
                e.at,
                i,
                Subject=e.subject,
                FromAddress=contact.email if e.direction == "inbound" else None,
                ToAddress=None if e.direction == "inbound" else contact.email,
                MessageDate=e.at,
                Incoming=e.direction == "inbound",
                IsTracked=e.direction == "outbound",
                FirstOpenedDate=e.at + timedelta(hours=3) if e.opened else None,
                Status="3",
                RelatedToId=account.salesforce_id,
                ActivityId=e.salesforce_id,
            )
