"""Salesforce pull, pure parts: field mapping, SOQL builders, incremental cursor, value parsing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SalesforceCursor:
    """Where an object's incremental read stands: the last (SystemModstamp, Id) stored."""

    modstamp: datetime
    record_id: str = ""

    def encode(self) -> str:
        """`2024-05-20T20:49:32.000Z|001...` (sortable; the store keeps it as text)."""
        return f"{soql_datetime(self.modstamp)}|{self.record_id}"

    @classmethod
    def decode(cls, value: str | None) -> SalesforceCursor:
        """Parse `encode()`'s output; None or empty means "from the beginning"."""
        if not value:
            return cls(EPOCH, "")
        stamp, _, record_id = value.partition("|")
        return cls(parse_datetime(stamp) or EPOCH, record_id)

    def key(self) -> tuple[datetime, str]:
        """Ordering key: cursors compare by modstamp, then Id."""
        return (self.modstamp, self.record_id)


def soql_datetime(value: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC with milliseconds."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def soql_string(value: str) -> str:
    """A quoted SOQL string literal."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def incremental_query(
    sobject: str,
    fields: Sequence[str],
    cursor: SalesforceCursor,
    lookback: timedelta = timedelta(0),
    extra_where: str | None = None,
) -> str:
    """SOQL for everything changed after the cursor, oldest first, ties broken by Id.

    With a lookback the read restarts `lookback` before the cursor (late or clock-skewed
    writes are caught; upserts make the re-read harmless); without one it resumes exactly
    after the last stored record: `SystemModstamp > ts OR (SystemModstamp = ts AND Id > id)`.
    """
    columns = list(dict.fromkeys(["Id", "SystemModstamp", "IsDeleted", *fields]))
    if lookback > timedelta(0) or not cursor.record_id:
        start = max(cursor.modstamp - lookback, EPOCH)
        where = f"SystemModstamp >= {soql_datetime(start)}"
    else:
        ts = soql_datetime(cursor.modstamp)
        where = (
            f"(SystemModstamp > {ts} OR "
            f"(SystemModstamp = {ts} AND Id > {soql_string(cursor.record_id)}))"
        )
    if extra_where:
        where = f"{where} AND ({extra_where})"
    return f"SELECT {', '.join(columns)} FROM {sobject} WHERE {where} ORDER BY SystemModstamp, Id"


def parse_datetime(value: Any) -> datetime | None:
    """Salesforce `2013-05-20T20:49:32.000+0000` (or ISO with Z) → aware datetime."""
    if not value:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    """`YYYY-MM-DD` (or a datetime string) → date."""
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def _relation_field(path: str) -> str:
    """`Owner.Email` → `OwnerId`; `Parent__r.Name` → `Parent__c` (the lookup field)."""
    root = path.split(".", 1)[0]
    return root[:-3] + "__c" if root.endswith("__r") else root + "Id"


@dataclass(frozen=True)
class FieldMap:
    """Canonical name → candidate Salesforce field names; the first one the org has wins.

    Describe decides which exist, so a field added to the org is picked up on the next
    run, and a missing one is simply not queried.
    """

    fields: Mapping[str, tuple[str, ...]]
    custom: tuple[str, ...] = ()

    def resolve(self, available: Iterable[str]) -> dict[str, str]:
        """Canonical name → the Salesforce field to query, for fields the org has."""
        have = {name.lower(): name for name in available}
        chosen: dict[str, str] = {}
        for canonical, candidates in self.fields.items():
            for candidate in candidates:
                if candidate.lower() in have:
                    chosen[canonical] = have[candidate.lower()]
                    break
                if "." in candidate and _relation_field(candidate).lower() in have:
                    chosen[canonical] = candidate
                    break
        return chosen

    def custom_fields(self, available: Iterable[str]) -> list[str]:
        """The mapped extra fields (copied into `custom`) that exist in the org."""
        have = {name.lower(): name for name in available}
        found = [have[name.lower()] for name in self.custom if name.lower() in have]
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class SalesforceMapping:
    """Where csbridge finds each canonical field in a Salesforce org (all overridable)."""

    account: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "name": ("Name",),
                "website": ("Website",),
                "owner_id": ("OwnerId",),
                "owner_email": ("Owner.Email",),
                "arr": ("ARR__c", "Annual_Recurring_Revenue__c", "AnnualRevenue"),
                "currency": ("CurrencyIsoCode",),
                "renewal_date": ("Renewal_Date__c", "Contract_End_Date__c"),
                "seats_purchased": ("Seats__c", "Seats_Purchased__c", "Licensed_Seats__c"),
                "seats_used": ("Seats_Used__c", "Active_Seats__c"),
                "plan": ("Plan__c", "Tier__c"),
                "lifecycle_stage": ("Lifecycle_Stage__c", "Type"),
                "created_at": ("CreatedDate",),
                "external_id": ("External_Id__c",),
            },
            custom=(  # init-crm's, for CSMs (and billing) to fill in
                "Strategic_Fit__c",
                "Expansion_Potential__c",
                "Relationship_Quality__c",
                "Community_Level__c",
                "Referrals_12m__c",
                "Days_Past_Due__c",
            ),
        )
    )
    contact: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "account_id": ("AccountId",),
                "email": ("Email",),
                "name": ("Name",),
                "title": ("Title",),
                "roles": ("Role__c", "Contact_Role__c", "CS_Role__c", "Roles__c"),
                "last_activity_at": ("LastActivityDate",),
            },
            custom=("Left_Company__c", "Champion__c"),
        )
    )
    opportunity: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "account_id": ("AccountId",),
                "name": ("Name",),
                "type": ("Type",),
                "stage": ("StageName",),
                "amount": ("Amount",),
                "currency": ("CurrencyIsoCode",),
                "close_date": ("CloseDate",),
                "is_closed": ("IsClosed",),
                "is_won": ("IsWon",),
                "owner_id": ("OwnerId",),
            }
        )
    )
    nps_object: str = "NPS_Response__c"
    nps: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "score": ("Score__c", "NPS_Score__c"),
                "comment": ("Comment__c", "Verbatim__c"),
                "account_id": ("Account__c",),
                "contact_id": ("Contact__c",),
                "responded_at": ("Submitted_At__c", "Responded_At__c", "CreatedDate"),
            }
        )
    )
    contact_role_object: str = "AccountContactRole"
    task: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "account_id": ("AccountId",),
                "contact_id": ("WhoId",),
                "type": ("Type",),
                "subtype": ("TaskSubtype",),
                "call_type": ("CallType",),
                "subject": ("Subject",),
                "status": ("Status",),
                "is_closed": ("IsClosed",),
                "completed_at": ("CompletedDateTime",),
                "date": ("ActivityDate",),
                "created_at": ("CreatedDate",),
                "key": ("Csbridge_Key__c",),
            }
        )
    )
    event: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "account_id": ("AccountId",),
                "contact_id": ("WhoId",),
                "type": ("Type",),
                "subtype": ("EventSubtype",),
                "subject": ("Subject",),
                "status": ("Outcome__c", "Meeting_Outcome__c"),
                "start": ("StartDateTime", "ActivityDateTime"),
                "date": ("ActivityDate",),
            }
        )
    )
    email_message: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "related_to": ("RelatedToId",),
                "incoming": ("Incoming",),
                "date": ("MessageDate",),
                "subject": ("Subject",),
                "tracked": ("IsTracked",),
                "opened_at": ("FirstOpenedDate",),
                "created_at": ("CreatedDate",),
            }
        )
    )
    campaign_member: FieldMap = field(
        default_factory=lambda: FieldMap(
            {
                "campaign_id": ("CampaignId",),
                "contact_id": ("ContactId",),
                "account_id": ("Contact.AccountId",),
                "status": ("Status",),
                "responded": ("HasResponded",),
                "campaign_type": ("Campaign.Type",),
                "campaign_name": ("Campaign.Name",),
                "start": ("Campaign.StartDate",),
                "responded_on": ("FirstRespondedDate",),
                "created_at": ("CreatedDate",),
            }
        )
    )
