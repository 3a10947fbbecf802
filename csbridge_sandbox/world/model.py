"""The frozen records of the synthetic customer base (plain dataclasses, built by `world.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csbridge_sandbox.world.activities import WorldActivities


@dataclass(frozen=True, slots=True)
class Owner:
    """A CRM user who owns accounts: a CSM, or the CS manager (`role="manager"`)."""

    id: str
    salesforce_id: str
    hubspot_id: str
    email: str
    first_name: str
    last_name: str
    role: str = "csm"


@dataclass(frozen=True, slots=True)
class Account:
    """A customer company; `domain` is the join key across the four systems."""

    key: str
    name: str
    domain: str
    industry: str
    arr: int
    seats: int
    plan: str
    fit: str
    potential: str
    owner: str
    renewal_date: date
    created_at: datetime
    lifecycle: str
    profile: str
    salesforce_id: str
    hubspot_id: str
    zendesk_org_id: int


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at a customer; `left_company` marks champions who have gone."""

    key: str
    account_key: str
    first_name: str
    last_name: str
    email: str
    title: str
    role: str
    salesforce_id: str
    hubspot_id: str
    left_company: bool
    zendesk_user_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A CRM deal: renewal, upsell, downgrade or new business."""

    key: str
    account_key: str
    type: str
    amount: int
    stage: str
    close_date: date
    salesforce_id: str
    hubspot_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NpsAnswer:
    """One NPS survey answer (Salesforce `NPS_Response__c`, HubSpot feedback_submissions)."""

    key: str
    account_key: str
    contact_key: str
    score: int
    comment: str
    submitted_at: datetime
    salesforce_id: str
    hubspot_id: str


@dataclass(frozen=True, slots=True)
class ZendeskOrg:
    """A Zendesk organization; `account_key` is None for the deliberately unmatched ones."""

    id: int
    name: str
    domain: str
    account_key: str | None
    created_at: datetime
    updated_at: datetime
    fields: tuple[tuple[str, str | int | float | bool | None], ...] = ()  # organization_fields


@dataclass(frozen=True, slots=True)
class ZendeskUser:
    """A Zendesk user: end-users (requesters) and the support agents."""

    id: int
    name: str
    email: str
    organization_id: int | None
    role: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    """A Zendesk ticket with the metric fields its `metric_set` is built from."""

    id: int
    org_id: int
    requester_id: int
    assignee_id: int
    subject: str
    status: str
    priority: str | None
    type: str
    channel: str
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    satisfaction: str
    reply_minutes: int | None
    first_resolution_minutes: int | None
    full_resolution_minutes: int | None
    replies: int
    reopens: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SatisfactionRating:
    """A legacy Zendesk CSAT rating (no organization_id: join through ticket_id)."""

    id: int
    ticket_id: int
    requester_id: int
    assignee_id: int
    group_id: int
    score: str
    comment: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """How one Mixpanel group (a company domain) behaves; events are derived from it per day."""

    index: int
    domain: str
    profile: str
    users: tuple[str, ...]
    daily_events: float
    breadth: int
    start: date
    silent_since: date | None
    trend: float


@dataclass(frozen=True)
class World:
    """The whole synthetic customer base for one (accounts, seed, now)."""

    seed: int
    now: datetime
    history_days: int
    owners: tuple[Owner, ...]
    manager: Owner
    accounts: tuple[Account, ...]
    contacts: tuple[Contact, ...]
    opportunities: tuple[Opportunity, ...]
    nps_answers: tuple[NpsAnswer, ...]
    zendesk_orgs: tuple[ZendeskOrg, ...]
    zendesk_users: tuple[ZendeskUser, ...]
    tickets: tuple[Ticket, ...]
    satisfaction_ratings: tuple[SatisfactionRating, ...]
    usage_plans: tuple[UsagePlan, ...] = field(repr=False)

    @cached_property
    def activities(self) -> WorldActivities:
        """CRM activity (emails, calls, meetings, notes, campaigns), derived on first use."""
        from csbridge_sandbox.world.activities import build_activities

        return build_activities(self)

    @cached_property
    def accounts_by_key(self) -> dict[str, Account]:
        """Accounts indexed by key."""
        return {a.key: a for a in self.accounts}

    @cached_property
    def accounts_by_domain(self) -> dict[str, Account]:
        """Accounts indexed by their domain (the cross-system join key)."""
        return {a.domain: a for a in self.accounts}

    @cached_property
    def contacts_by_account(self) -> dict[str, list[Contact]]:
        """Contacts grouped by account key."""
        grouped: dict[str, list[Contact]] = {}
        for contact in self.contacts:
            grouped.setdefault(contact.account_key, []).append(contact)
        return grouped

    @cached_property
    def owners_by_id(self) -> dict[str, Owner]:
        """Owners (CSMs and the manager) indexed by id."""
        return {o.id: o for o in (*self.owners, self.manager)}

    @cached_property
    def tickets_by_id(self) -> dict[int, Ticket]:
        """Tickets indexed by id."""
        return {t.id: t for t in self.tickets}

    @cached_property
    def zendesk_users_by_id(self) -> dict[int, ZendeskUser]:
        """Zendesk users indexed by id."""
        return {u.id: u for u in self.zendesk_users}
