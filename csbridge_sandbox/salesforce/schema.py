"""sObject schemas for the Salesforce emulator: field definitions, ids and `describe`.

Standard objects carry the fields csbridge reads and writes; customer-specific data a
real org keeps in custom fields (ARR, seats, plan, renewal date, contact role) is
pre-created as `__c` fields, as an admin would have. Fields csbridge itself needs are
added at run time through the Tooling API (`CustomField`), see `salesforce_tooling.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "CampaignMember": "00v",
    "EmailMessage": "02s",
    "User": "005",
    "NPS_Response__c": "a0N",
    "ContentDocument": "069",
    "ContentNote": "069",  # a note *is* a ContentDocument: same id
    "ContentDocumentLink": "06A",
}
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class FieldDef:
    """One sObject field as `describe` reports it (types use Salesforce's names)."""

    name: str
    type: str  # id string textarea url email phone picklist multipicklist boolean int double
    # currency percent date datetime reference
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    required: bool = False  # required on create (nillable False, no default)
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    default: Any = None
    precision: int = 0
    scale: int = 0
    external_id: bool = False

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").removesuffix("Id").replace("_", " ")
        if self.type in {"string", "url", "email", "phone", "picklist"} and not self.length:
            self.length = 255
        if self.type == "textarea" and not self.length:
            self.length = 32000
        if self.type == "multipicklist" and not self.length:
            self.length = 4099


@dataclass
class ObjectDef:
    """An sObject type: its fields, keyed by lower-cased name for SOQL's case-insensitivity."""

    name: str
    label: str
    key_prefix: str
    custom: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def add(self, fdef: FieldDef) -> None:
        """Add (or replace) a field."""
        self.fields[fdef.name.lower()] = fdef

    def get(self, name: str) -> FieldDef | None:
        """The field named `name`, case-insensitively."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is `name` (e.g. Owner -> OwnerId)."""
        lowered = name.lower()
        for fdef in self.fields.values():
            if fdef.relationship_name and fdef.relationship_name.lower() == lowered:
                return fdef
        return None


def to18(id15: str) -> str:
    """Salesforce's case-safe 18-character id (15-char id + 3 checksum characters)."""
    suffix = ""
    for i in range(3):
        chunk = id15[i * 5 : i * 5 + 5]
        flags = sum(1 << j for j, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[flags]
    return id15 + suffix


def make_id(prefix: str, number: int) -> str:
    """A new, valid 18-char id with the given key prefix (pod marker 'Sb')."""
    digits = ""
    while True:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
        if number == 0:
            break
    return to18(prefix + "Sb" + digits.rjust(10, "0"))


def normalise_id(value: str) -> str | None:
    """An 18-char id from a 15- or 18-char one, or None when the text is not an id."""
    if len(value) not in (15, 18) or not value.isalnum():
        return None
    if len(value) == 15:
        return to18(value)
    return value if to18(value[:15]) == value else None


def _system_fields() -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return [
        FieldDef("Id", "id", "Record ID", length=18, nillable=False, **ro),
        FieldDef("IsDeleted", "boolean", "Deleted", nillable=False, **ro),
        FieldDef("CreatedDate", "datetime", "Created Date", nillable=False, **ro),
        FieldDef(
            "CreatedById",
            "reference",
            "Created By ID",
            reference_to=("User",),
            relationship_name="CreatedBy",
            nillable=False,
            **ro,
        ),
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, **ro),
        FieldDef(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            reference_to=("User",),
            relationship_name="LastModifiedBy",
            nillable=False,
            **ro,
        ),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", nillable=False, **ro),
    ]


def _owner() -> FieldDef:
    return FieldDef(
        "OwnerId",
        "reference",
        "Owner ID",
        length=18,
        reference_to=("User",),
        relationship_name="Owner",
        nillable=False,
    )


def _ref(name: str, target: str, rel: str, **kw: Any) -> FieldDef:
    return FieldDef(
        name, "reference", length=18, reference_to=(target,), relationship_name=rel, **kw
    )


def build_schema() -> dict[str, ObjectDef]:
    """The sObjects the emulator serves, keyed by lower-cased API name."""
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    defs: dict[str, list[FieldDef]] = {
        "Account": [
            FieldDef("Name", "string", "Account Name", nillable=False, required=True),
            FieldDef("Website", "url"),
            FieldDef("Industry", "picklist"),
            FieldDef(
                "Type",
                "picklist",
                "Account Type",
                picklist=(
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Partner",
                    "Other",
                ),
            ),
            FieldDef("AnnualRevenue", "currency", precision=18, scale=0),
            FieldDef("NumberOfEmployees", "int", "Employees", precision=8),
            FieldDef("Description", "textarea", "Account Description"),
            _owner(),
            FieldDef("ARR__c", "currency", "ARR", custom=True, precision=18, scale=2),
            FieldDef("Seats__c", "double", "Seats", custom=True, precision=18, scale=0),
            FieldDef(
                "Plan__c",
                "picklist",
                "Plan",
                custom=True,
                picklist=("starter", "growth", "enterprise"),
            ),
            FieldDef("Renewal_Date__c", "date", "Renewal Date", custom=True),
            # fields `csbridge init-crm` created for CSMs (and billing), filled in since
            FieldDef(
                "Relationship_Quality__c",
                "picklist",
                "Relationship Quality",
                custom=True,
                picklist=("excellent", "good", "neutral", "difficult"),
            ),
            FieldDef(
                "Community_Level__c",
                "picklist",
                "Community Level",
                custom=True,
                picklist=("active", "contributor", "lurker", "none"),
            ),
            FieldDef(
                "Referrals_12m__c",
                "double",
                "Referrals (12 months)",
                custom=True,
                precision=18,
                scale=2,
            ),
            FieldDef(
                "Days_Past_Due__c", "double", "Days Past Due", custom=True, precision=18, scale=2
            ),
        ],
        "Contact": [
            FieldDef("FirstName", "string", "First Name", length=40),
            FieldDef("LastName", "string", "Last Name", length=80, nillable=False, required=True),
            FieldDef("Name", "string", "Full Name", length=121, **ro),
            FieldDef("Email", "email"),
            FieldDef("Title", "string", length=128),
            _ref("AccountId", "Account", "Account", label="Account ID"),
            _owner(),
            FieldDef(
                "CS_Role__c",
                "picklist",
                "CS Role",
                custom=True,
                picklist=("champion", "exec_sponsor", "admin", "user"),
            ),
            FieldDef(
                "Left_Company__c",
                "boolean",
                "Left Company",
                custom=True,
                nillable=False,
                default=False,
            ),
        ],
        "Opportunity": [
            FieldDef("Name", "string", "Name", length=120, nillable=False, required=True),
            _ref("AccountId", "Account", "Account", label="Account ID"),
            FieldDef("Amount", "currency", precision=18, scale=2),
            FieldDef(
                "StageName",
                "picklist",
                "Stage",
                nillable=False,
                required=True,
                picklist=(
                    "Prospecting",
                    "Qualification",
                    "Proposal/Price Quote",
                    "Negotiation/Review",
                    "Closed Won",
                    "Closed Lost",
                ),
            ),
            FieldDef("CloseDate", "date", "Close Date", nillable=False, required=True),
            FieldDef(
                "Type",
                "picklist",
                "Opportunity Type",
                picklist=(
                    "New Customer",
                    "Existing Customer - Upgrade",
                    "Existing Customer - Downgrade",
                    "Existing Customer - Renewal",
                ),
            ),
            FieldDef("IsClosed", "boolean", "Closed", nillable=False, **ro),
            FieldDef("IsWon", "boolean", "Won", nillable=False, **ro),
            _owner(),
        ],
        "Task": [
            FieldDef("Subject", "combobox", "Subject", length=255),
            FieldDef(
                "WhatId",
                "reference",
                "Related To ID",
                length=18,
                relationship_name="What",
                reference_to=("Account", "Opportunity", "NPS_Response__c"),
            ),
            FieldDef(
                "WhoId",
                "reference",
                "Name ID",
                length=18,
                relationship_name="Who",
                reference_to=("Contact",),
            ),
            _owner(),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            FieldDef(
                "Status",
                "picklist",
                nillable=False,
                default="Not Started",
                restricted=True,
                picklist=(
                    "Not Started",
                    "In Progress",
                    "Completed",
                    "Waiting on someone else",
                    "Deferred",
                ),
            ),
            FieldDef(
                "Priority",
                "picklist",
                nillable=False,
                default="Normal",
                restricted=True,
                picklist=("High", "Normal", "Low"),
            ),
            FieldDef("Description", "textarea", "Description"),
            FieldDef("Type", "picklist", picklist=("Call", "Email", "Meeting", "Other")),
            FieldDef("TaskSubtype", "picklist", "Task Subtype", picklist=("Task", "Email", "Call")),
            FieldDef(
                "CallType", "picklist", "Call Type", picklist=("Internal", "Inbound", "Outbound")
            ),
            FieldDef("CompletedDateTime", "datetime", "Completed Date/Time", **ro),
            _ref("AccountId", "Account", "Account", label="Account ID", **ro),
            FieldDef("IsClosed", "boolean", "Closed", nillable=False, **ro),
            FieldDef("IsHighPriority", "boolean", "High Priority", nillable=False, **ro),
        ],
        "Event": [
            FieldDef("Subject", "combobox", "Subject", length=255),
            FieldDef(
                "WhatId",
                "reference",
                "Related To ID",
                length=18,
                relationship_name="What",
                reference_to=("Account", "Opportunity"),
            ),
            FieldDef(
                "WhoId",
                "reference",
                "Name ID",
                length=18,
                relationship_name="Who",
                reference_to=("Contact",),
            ),
            _owner(),
            FieldDef("StartDateTime", "datetime", "Start Date Time"),
            FieldDef("EndDateTime", "datetime", "End Date Time"),
            FieldDef("ActivityDateTime", "datetime", "Due Date Time"),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            FieldDef("DurationInMinutes", "int", "Duration", precision=8),
            FieldDef("Type", "picklist", picklist=("Call", "Email", "Meeting", "Other")),
            FieldDef("EventSubtype", "picklist", "Event Subtype", picklist=("Event",), **ro),
            FieldDef("Description", "textarea", "Description"),
            _ref("AccountId", "Account", "Account", label="Account ID", **ro),
        ],
        "Campaign": [
            FieldDef("Name", "string", "Campaign Name", length=80, nillable=False, required=True),
            FieldDef(
                "Type",
                "picklist",
                picklist=("Webinar", "Event", "Training", "Email", "Conference", "Other"),
            ),
            FieldDef("Status", "picklist", picklist=("Planned", "In Progress", "Completed")),
            FieldDef("StartDate", "date", "Start Date"),
            FieldDef("EndDate", "date", "End Date"),
            FieldDef("IsActive", "boolean", "Active", nillable=False, default=True),
            _owner(),
        ],
        "EmailMessage": [
            FieldDef("Subject", "string", length=3000),
            FieldDef("FromAddress", "email"),
            FieldDef("ToAddress", "string", length=4000),
            FieldDef("MessageDate", "datetime", "Message Date"),
            FieldDef("Incoming", "boolean", "Is Incoming", nillable=False, default=False),
            FieldDef("IsTracked", "boolean", "Is Tracked", nillable=False, default=False),
            FieldDef("FirstOpenedDate", "datetime", "First Opened", **ro),
            FieldDef("Status", "picklist", picklist=("0", "1", "2", "3", "4", "5")),
            FieldDef(
                "RelatedToId",
                "reference",
                "Related To ID",
                length=18,
                relationship_name="RelatedTo",
                reference_to=("Account", "Opportunity"),
            ),
            _ref("ActivityId", "Task", "Activity", label="Activity ID"),
        ],
        "CampaignMember": [
            _ref("CampaignId", "Campaign", "Campaign", label="Campaign ID", nillable=False),
            _ref("ContactId", "Contact", "Contact", label="Contact ID"),
            FieldDef("Status", "picklist", picklist=("Sent", "Responded", "Attended")),
            FieldDef("HasResponded", "boolean", "Responded", nillable=False, **ro),
            FieldDef("FirstRespondedDate", "date", "First Responded Date", **ro),
        ],
        "User": [
            FieldDef("Username", "string", length=80, **ro),
            FieldDef("Email", "email", **ro),
            FieldDef("FirstName", "string", length=40, **ro),
            FieldDef("LastName", "string", length=80, **ro),
            FieldDef("Name", "string", "Full Name", length=121, **ro),
            FieldDef("IsActive", "boolean", "Active", **ro),
            FieldDef("Title", "string", **ro),
        ],
        "ContentDocument": [
            FieldDef("Title", "string", **ro),
            FieldDef("FileType", "string", "File Type", **ro),
            FieldDef("OwnerId", "reference", "Owner ID", reference_to=("User",), **ro),
        ],
        # Enhanced notes: Content is base64 of (escaped) HTML; FileType is always SNOTE
        "ContentNote": [
            FieldDef("Title", "string", nillable=False, required=True),
            FieldDef("Content", "base64", length=50 * 1024 * 1024),
            FieldDef("TextPreview", "string", "Text Preview", **ro),
            FieldDef("FileType", "string", "File Type", **ro),
            FieldDef("FileExtension", "string", "File Extension", **ro),
            FieldDef("ContentSize", "int", "Size", **ro),
            FieldDef("OwnerId", "reference", "Owner ID", reference_to=("User",), **ro),
        ],
        "ContentDocumentLink": [
            _ref(
                "ContentDocumentId",
                "ContentDocument",
                "ContentDocument",
                label="ContentDocument ID",
                nillable=False,
                required=True,
                updateable=False,
            ),
            FieldDef(
                "LinkedEntityId",
                "reference",
                "Linked Entity ID",
                length=18,
                reference_to=("Account", "Contact", "Opportunity", "User"),
                relationship_name="LinkedEntity",
                nillable=False,
                required=True,
                updateable=False,
            ),
            FieldDef(
                "ShareType",
                "picklist",
                "Share Type",
                picklist=("V", "C", "I"),
                restricted=True,
                nillable=False,
                required=True,
            ),
            FieldDef(
                "Visibility",
                "picklist",
                picklist=("AllUsers", "InternalUsers", "SharedUsers"),
                restricted=True,
                default="InternalUsers",
            ),
        ],
        "NPS_Response__c": [
            FieldDef("Name", "string", "NPS Response Name", length=80, **ro),
            _ref("Account__c", "Account", "Account__r", label="Account", custom=True),
            _ref("Contact__c", "Contact", "Contact__r", label="Contact", custom=True),
            FieldDef("Score__c", "double", "Score", custom=True, precision=2, scale=0),
            FieldDef("Comment__c", "textarea", "Comment", custom=True),
            FieldDef("Submitted_At__c", "datetime", "Submitted At", custom=True),
        ],
    }
    # a custom Activity field an admin added: Task and Event both get it, as in a real org
    outcome = ("Completed", "No Show", "Canceled")
    for activity in ("Task", "Event"):
        defs[activity].append(
            FieldDef("Outcome__c", "picklist", "Outcome", custom=True, picklist=outcome)
        )
    schema: dict[str, ObjectDef] = {}
    for name, fields in defs.items():
        label = "NPS Response" if name == "NPS_Response__c" else name
        odef = ObjectDef(name, label, KEY_PREFIXES[name], custom=name.endswith("__c"))
        for fdef in [*_system_fields(), *fields]:
            odef.add(fdef)
        schema[name.lower()] = odef
    return schema


def describe(odef: ObjectDef, version: str) -> dict[str, Any]:
    """The `GET /sobjects/{Obj}/describe` body (the subset of keys clients read)."""
    base = f"/services/data/v{version}/sobjects/{odef.name}"
    return {
        "name": odef.name,
        "label": odef.label,
        "labelPlural": odef.label + "s",
        "keyPrefix": odef.key_prefix,
        "custom": odef.custom,
        "createable": odef.name != "User",
        "updateable": odef.name != "User",
        "deletable": odef.name != "User",
        "queryable": True,
        "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
        "fields": [_describe_field(f) for f in odef.fields.values()],
    }


def _describe_field(f: FieldDef) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "precision": f.precision,
        "scale": f.scale,
        "custom": f.custom,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.default is not None or f.name in {"Id", "OwnerId"},
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted,
        "externalId": f.external_id,
        "idLookup": f.external_id or f.name == "Id",
        "picklistValues": [
            {"active": True, "defaultValue": v == f.default, "label": v, "value": v}
            for v in f.picklist
        ],
    }
