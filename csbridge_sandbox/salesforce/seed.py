"""Seed the Salesforce emulator's org from the World: Users (the CSMs, the CS manager and
an integration user), Accounts, Contacts, Opportunities and NPS_Response__c records, then
the activities (`seed_activities`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from csbridge_sandbox.salesforce.seed_activities import seed_activities
from csbridge_sandbox.world.build import World
from csbridge_sandbox.world.csm_input import inputs

if TYPE_CHECKING:
    from csbridge_sandbox.salesforce.store import SalesforceStore

OPP_TYPES = {
    "new": "New Customer",
    "upsell": "Existing Customer - Upgrade",
    "downgrade": "Existing Customer - Downgrade",
    "renewal": "Existing Customer - Renewal",
}


def _stamp(base: datetime, now: datetime, index: int) -> datetime:
    """A deterministic last-modified time between `base` and `now`."""
    span = max((now - base).total_seconds(), 1.0)
    return base + timedelta(seconds=(index * 7919) % int(span))


def _number(value: int | None) -> float | None:
    return None if value is None else float(value)


def seed_org(store: SalesforceStore, world: World) -> None:
    """Fill `store` with the records the World describes (deterministic per world)."""
    now = world.now
    user_ids: dict[str, str] = {}

    def put(obj: str, rid: str, created: datetime, index: int, **fields: Any) -> None:
        odef = store.schema[obj.lower()]
        record: dict[str, Any] = {f.name: f.default for f in odef.fields.values()}
        created = min(created, now)
        stamp = _stamp(created, now, index)
        record.update(
            fields,
            Id=rid,
            IsDeleted=False,
            CreatedDate=created,
            LastModifiedDate=stamp,
            SystemModstamp=stamp,
            CreatedById=store.integration_user,
            LastModifiedById=store.integration_user,
        )
        store.derive(odef, record)
        store.records[obj.lower()][rid] = record

    epoch = now - timedelta(days=3 * 365)
    for i, o in enumerate((*world.owners, world.manager)):
        user_ids[o.id] = o.salesforce_id
        put(
            "User",
            o.salesforce_id,
            epoch,
            i,
            Username=o.email,
            Email=o.email,
            FirstName=o.first_name,
            LastName=o.last_name,
            IsActive=True,
            Title="Customer Success Manager" if o.role == "csm" else "Director, Customer Success",
        )
    put(
        "User",
        store.integration_user,
        epoch,
        0,
        Username="integration@csbridge.sandbox",
        Email="integration@csbridge.sandbox",
        FirstName="Integration",
        LastName="User",
        IsActive=True,
        Title="API",
    )
    accounts = {a.key: a for a in world.accounts}
    for i, a in enumerate(world.accounts):
        filled = inputs(world.seed, a)
        put(
            "Account",
            a.salesforce_id,
            a.created_at,
            i,
            Name=a.name,
            Website=f"https://{a.domain}",
            Industry=a.industry,
            Type="Customer - Direct",
            NumberOfEmployees=a.seats * 4,
            OwnerId=user_ids.get(a.owner),
            ARR__c=float(a.arr),
            Seats__c=float(a.seats),
            Plan__c=a.plan,
            Renewal_Date__c=a.renewal_date,
            Relationship_Quality__c=filled.relationship,
            Community_Level__c=filled.community,
            Referrals_12m__c=_number(filled.referrals),
            Days_Past_Due__c=_number(filled.days_past_due),
        )
    contacts = {}
    for i, c in enumerate(world.contacts):
        account = accounts[c.account_key]
        contacts[c.key] = c
        put(
            "Contact",
            c.salesforce_id,
            c.created_at,
            i,
            FirstName=c.first_name,
            LastName=c.last_name,
            Email=c.email,
            Title=c.title,
            AccountId=account.salesforce_id,
            OwnerId=user_ids.get(account.owner),
            CS_Role__c=c.role,
            Left_Company__c=c.left_company,
        )
    for i, opp in enumerate(world.opportunities):
        account = accounts[opp.account_key]
        put(
            "Opportunity",
            opp.salesforce_id,
            opp.created_at,
            i,
            Name=f"{account.name} - {opp.type.title()} {opp.close_date.year}",
            AccountId=account.salesforce_id,
            Amount=float(opp.amount),
            StageName=opp.stage,
            CloseDate=opp.close_date,
            Type=OPP_TYPES.get(opp.type, opp.type),
            OwnerId=user_ids.get(account.owner),
        )
    for i, n in enumerate(world.nps_answers):
        contact = contacts.get(n.contact_key)
        put(
            "NPS_Response__c",
            n.salesforce_id,
            n.submitted_at,
            i,
            Name=f"NPS-{i + 1:06d}",
            Account__c=accounts[n.account_key].salesforce_id,
            Contact__c=contact.salesforce_id if contact else None,
            Score__c=float(n.score),
            Comment__c=n.comment or None,
            Submitted_At__c=n.submitted_at,
        )
    seed_activities(put, world, user_ids)
