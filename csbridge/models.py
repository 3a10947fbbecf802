"""Canonical records every connector yields and the store keeps.

Each record is a frozen pydantic model that names the system it came from
(`source`) and that system's own id for it (`id`), so the pair is its natural
key. Facts that belong to an account carry `account_id`: the id of that account
*in the same source system* (a Zendesk organization id, a Salesforce Account Id,
a HubSpot company id, the value of the Mixpanel group key). Joining those ids
across systems is the job of `csbridge.mappings`, not of the connectors.

Timestamps are timezone-aware (UTC recommended). Money is a float in the
record's `currency`. Vendor fields that have no canonical home go in `custom`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Source = str  # the name of the system in the connector registry, e.g. "zendesk"
SurveyKind = Literal["nps", "csat", "ces"]
Seniority = Literal["executive", "vp", "director", "manager", "individual", "unknown"]
OpportunityKind = Literal["new_business", "renewal", "upsell", "downgrade", "other"]
TicketPriority = Literal["urgent", "high", "normal", "low"]
ActivityKind = Literal["call", "email", "meeting", "note", "task", "campaign"]
Direction = Literal["inbound", "outbound"]
CustomValue = str | int | float | bool | None
FieldValue = str | int | float | bool | None  # a value csbridge writes into a CRM field


class Record(BaseModel):
    """Base of every canonical record: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    id: str = Field(min_length=1, description="the record's id in its source system")
    updated_at: AwareDatetime | None = Field(
        default=None, description="the source's last-modified time (the incremental cursor)"
    )
    deleted: bool = Field(default=False, description="deleted or archived in the source")

    @property
    def natural_key(self) -> tuple[str, ...]:
        """The key the store upserts on: (source, id) unless a record says otherwise."""
        return (self.source, self.id)


class Account(Record):
    """A customer company: Salesforce Account, HubSpot company or Zendesk organization."""

    name: str
    domain: str | None = Field(default=None, description="normalised primary domain")
    domains: tuple[str, ...] = Field(default=(), description="all known domains")
    external_id: str | None = None
    owner_id: str | None = None
    arr: float | None = None
    currency: str | None = None
    renewal_date: date | None = None
    seats_purchased: int | None = None
    seats_used: int | None = None
    plan: str | None = None
    lifecycle_stage: str | None = None
    created_at: AwareDatetime | None = None
    custom: dict[str, CustomValue] = Field(default_factory=dict)


class Contact(Record):
    """A person at a customer, with the roles that matter for health (champion, sponsor)."""

    account_id: str | None = None
    email: str | None = None
    name: str | None = None
    title: str | None = None
    seniority: Seniority = "unknown"
    roles: tuple[str, ...] = Field(
        default=(), description="e.g. champion, executive_sponsor, decision_maker, user"
    )
    last_activity_at: AwareDatetime | None = None
    emails_delivered: int | None = Field(default=None, description="marketing emails received")
    emails_opened: int | None = Field(default=None, description="marketing emails opened")
    emails_clicked: int | None = Field(default=None, description="marketing emails clicked")
    custom: dict[str, CustomValue] = Field(default_factory=dict)


class Opportunity(Record):
    """A deal or contract event: new business, renewal, upsell, downgrade."""

    account_id: str | None = None
    name: str | None = None
    kind: OpportunityKind = "other"
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    close_date: date | None = None
    is_closed: bool = False
    is_won: bool = False
    owner_id: str | None = None
    custom: dict[str, CustomValue] = Field(default_factory=dict)


Contract = Opportunity
"""Contracts are modelled as opportunities (kind renewal / upsell / downgrade)."""


class Ticket(Record):
    """A support ticket (Zendesk). Subject and body are not kept: health needs no content."""

    account_id: str | None = Field(default=None, description="Zendesk organization id")
    requester_id: str | None = None
    status: str
    priority: TicketPriority | None = None
    type: str | None = None
    created_at: AwareDatetime
    solved_at: AwareDatetime | None = None
    first_reply_minutes: int | None = None
    full_resolution_minutes: int | None = None
    reopens: int | None = None
    satisfaction_score: str | None = Field(default=None, description="Zendesk good / bad / ...")
    tags: tuple[str, ...] = ()


class SurveyResponse(Record):
    """An NPS, CSAT or CES answer from any source."""

    kind: SurveyKind
    account_id: str | None = None
    contact_id: str | None = None
    ticket_id: str | None = None
    score: float = Field(description="the answer on its own scale (NPS 0-10, CSAT 1-5, ...)")
    scale_min: float = 0
    scale_max: float = 10
    comment: str | None = Field(default=None, description="verbatim, for the follow-up task")
    responded_at: AwareDatetime


class UsageDay(Record):
    """One account's product usage on one day (Mixpanel, folded from raw events).

    `id` is "<account_id>:<YYYY-MM-DD>"; `UsageDay.usage_id(account_id, day)` builds it.
    `users` holds the day's users as a `csbridge.distinct.DistinctUsers` sketch, so the
    distinct users of several days can be counted; `active_seconds` sums the durations
    events carried (None: no event of the day carried one).
    """

    account_id: str
    day: date
    active_users: int = 0
    sessions: int = 0
    events: int = 0
    feature_events: dict[str, int] = Field(default_factory=dict)
    last_event_at: AwareDatetime | None = None
    users: str | None = Field(default=None, description="the encoded distinct-users sketch")
    active_seconds: float | None = Field(default=None, ge=0)

    @property
    def natural_key(self) -> tuple[str, ...]:
        """Usage is keyed by (source, account, day)."""
        return (self.source, self.account_id, self.day.isoformat())

    @classmethod
    def usage_id(cls, account_id: str, day: date) -> str:
        """The record id for an account's day."""
        return f"{account_id}:{day.isoformat()}"


class IndicatorValue(Record):
    """One model indicator's raw value for one account, read as is (a warehouse query).

    `indicator` is the model's key (`financial.payment_delay`); `as_of` is when the value
    held (a value dated after the scoring moment is not used). `id` is built by
    `IndicatorValue.value_id`: "<account_id>:<indicator>@<as_of, ISO UTC>" for a dated
    value, so each date's value is kept as history and scoring at an earlier moment sees
    the value of then; "<account_id>:<indicator>" for an undated one, which a later read
    replaces.
    """

    account_id: str
    indicator: str = Field(min_length=3)
    value: float | str
    as_of: AwareDatetime | None = None

    @classmethod
    def value_id(cls, account_id: str, indicator: str, as_of: datetime | None) -> str:
        """The record id of an account's value of an indicator (as of a moment, if dated)."""
        if as_of is None:
            return f"{account_id}:{indicator}"
        return f"{account_id}:{indicator}@{as_of.astimezone(UTC).isoformat()}"


class Activity(Record):
    """A CRM activity logged on an account: a call, email, meeting, note or task
    (Salesforce Task / Event, HubSpot engagements), or a contact's membership of a
    campaign (a webinar or event: invited, and `attended` once they responded).

    `opened` is known for a tracked email we sent (Salesforce EmailMessage).
    `subject` is kept (short) because it is how a CSM marks a meeting as a QBR;
    `csbridge_key` is set on the tasks and report notes csbridge created itself, which
    never count as customer engagement.
    """

    account_id: str | None = None
    contact_id: str | None = None
    kind: ActivityKind
    subtype: str | None = Field(default=None, description="e.g. Email, Call, Webinar")
    direction: Direction | None = None
    occurred_at: AwareDatetime | None = None
    subject: str | None = None
    status: str | None = None
    attended: bool | None = Field(default=None, description="campaigns and meetings")
    opened: bool | None = Field(default=None, description="a tracked email we sent")
    campaign_id: str | None = Field(default=None, description="for a campaign membership")
    csbridge_key: str | None = None


class Owner(Record):
    """A CRM user who owns accounts (the CSM / account manager)."""

    name: str | None = None
    email: str | None = None
    manager_id: str | None = None
    active: bool = True


Fact = (
    Account
    | Contact
    | Opportunity
    | Ticket
    | SurveyResponse
    | UsageDay
    | Owner
    | Activity
    | IndicatorValue
)
"""Any record the store keeps as a fact."""
