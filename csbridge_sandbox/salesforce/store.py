"""Mutable Salesforce org state: records seeded from the World, validated writes, SOQL.

Records are dicts of typed values keyed by canonical field name; deleted records stay
with `IsDeleted = True` (the recycle bin), visible only to queryAll.
"""

from __future__ import annotations

import base64
import html
import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from csbridge_sandbox.salesforce.schema import (
    FieldDef,
    ObjectDef,
    build_schema,
    make_id,
    normalise_id,
)
from csbridge_sandbox.salesforce.seed import seed_org
from csbridge_sandbox.salesforce.soql import (
    BoolOp,
    Comparison,
    Condition,
    InList,
    Query,
    SoqlError,
    parse,
)
from csbridge_sandbox.salesforce.soql_eval import check_types, execute
from csbridge_sandbox.salesforce.values import RecordError, coerce, render
from csbridge_sandbox.world.build import World

NOTE_MARK = "_content_note"  # never a field: only `_type_of` reads it

RESPONDED_STATUSES = frozenset({"Responded", "Attended"})

Record = dict[str, Any]


@dataclass
class QueryResult:
    """The ordered rows a query selected; `render` shapes one page of them."""

    store: SalesforceStore
    odef: ObjectDef
    parsed: Query
    version: str
    rows: list[Record]
    total: int

    def render(self, start: int, end: int) -> list[Record]:
        """Records start..end as the query returns them."""
        with self.store.lock:
            return [
                self.store.shape(self.odef, r, self.parsed, self.version)
                for r in self.rows[start:end]
            ]


class SalesforceStore:
    """The org: schema, records per sObject, and an id counter for new records."""

    def __init__(self, world: World, clock: Callable[[], datetime] | None = None) -> None:
        self.schema: dict[str, ObjectDef] = build_schema()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in self.schema}
        self.clock = clock or (lambda: datetime.now(UTC))
        self.today = world.now.date()
        self.lock = threading.RLock()
        self._counter = itertools.count(1)
        self.integration_user = make_id("005", 999_999)
        # first wins: a ContentNote's 069 id is its ContentDocument's
        self._by_prefix = {o.key_prefix: o for o in reversed(self.schema.values())}
        # fault injection for tests: record id -> how many more writes fail UNABLE_TO_LOCK_ROW
        self.lock_failures: dict[str, int] = {}
        # the reject_record fault (control.py): (sObject, id) -> rejection message or None
        self.reject: Callable[[str, str], str | None] = lambda sobject, record_id: None
        self.records_written = 0  # records created, updated or deleted (seeding included)
        seed_org(self, world)

    # ---- lookups -------------------------------------------------------------------------
    def sobject(self, name: str) -> ObjectDef | None:
        """The sObject type named `name` (case-insensitive)."""
        return self.schema.get(name.lower())

    def find(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """A record by id in any sObject (used for polymorphic WhatId/WhoId)."""
        fast = self._by_prefix.get(record_id[:3])
        if fast is not None and len(record_id) == 18:
            hit = self.records[fast.name.lower()].get(record_id)
            if hit is not None:
                return fast, hit
        normalised = normalise_id(record_id)
        if normalised is None:
            return None
        for odef in self.schema.values():
            if normalised.startswith(odef.key_prefix):
                record = self.records[odef.name.lower()].get(normalised)
                return (odef, record) if record else None
        return None

    def live(self, odef: ObjectDef, record_id: str) -> Record | None:
        """A non-deleted record of the given type."""
        normalised = normalise_id(record_id)
        record = self.records[odef.name.lower()].get(normalised or "")
        return record if record and not record["IsDeleted"] else None

    # ---- writes --------------------------------------------------------------------------
    def new_id(self, odef: ObjectDef) -> str:
        """A fresh id with the sObject's key prefix."""
        return make_id(odef.key_prefix, next(self._counter))

    def validate(
        self, odef: ObjectDef, data: dict[str, Any], *, creating: bool, from_csv: bool = False
    ) -> Record:
        """Incoming field values -> typed values, raising the first RecordError."""
        values: Record = {}
        blocked: list[str] = []
        for key, raw in data.items():
            if key == "attributes" or (key.lower() == "id" and not creating):
                continue
            fdef = odef.get(key)
            if fdef is None:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {odef.name}", []
                )
            if not (fdef.createable if creating else fdef.updateable):
                blocked.append(fdef.name)
                continue
            values[fdef.name] = coerce(fdef, raw, from_csv=from_csv)
        if blocked:
            verb = "create" if creating else "update"
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to {verb}/update fields: {', '.join(blocked)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                blocked,
            )
        for name, value in values.items():
            fdef = odef.get(name)
            assert fdef is not None
            if value is None and fdef.type == "boolean":
                values[name] = False  # a checkbox is never null: null clears it
            elif value is None and not fdef.nillable:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
                )
            if fdef.type == "reference" and value is not None:
                self._check_reference(fdef, value)
        if creating:
            missing = [
                f.name for f in odef.fields.values() if f.required and values.get(f.name) is None
            ]
            if missing:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        if creating and odef.name == "ContentDocumentLink":
            self._check_link(values)
        return values

    def _check_link(self, values: Record) -> None:
        """A document is linked to an entity at most once."""
        document, entity = values.get("ContentDocumentId"), values.get("LinkedEntityId")
        for link in self.records["contentdocumentlink"].values():
            if link["ContentDocumentId"] == document and link["LinkedEntityId"] == entity:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"Document with ID: {document} is already linked with the entity with "
                    f"ID: {entity}",
                    [],
                )

    def _check_reference(self, fdef: FieldDef, value: str) -> None:
        found = self.find(value)
        if found is None or found[0].name not in fdef.reference_to or found[1]["IsDeleted"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"{fdef.label}: id value of incorrect type: {value}"
                if found is None or found[0].name not in fdef.reference_to
                else "entity is deleted",
                [fdef.name],
            )

    def create(self, odef: ObjectDef, values: Record) -> str:
        """Insert validated values; defaults, system fields and derived fields are filled."""
        now = self.clock()
        record: Record = {f.name: f.default for f in odef.fields.values()}
        record.update(values)
        record_id = self.new_id(odef)
        record.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=now,
            LastModifiedDate=now,
            SystemModstamp=now,
            CreatedById=self.integration_user,
            LastModifiedById=self.integration_user,
        )
        if "OwnerId" in record and record["OwnerId"] is None:
            record["OwnerId"] = self.integration_user
        self.derive(odef, record)
        self.records[odef.name.lower()][record_id] = record
        self.records_written += 1
        return record_id

    def check_write(self, record_id: str, *, validated: bool = True) -> None:
        """Raise the per-record error an armed fault gives a write to this record:
        UNABLE_TO_LOCK_ROW (`lock_failures`), else, for a write validation rules run on
        (not a delete), FIELD_CUSTOM_VALIDATION_EXCEPTION (the reject_record fault)."""
        left = self.lock_failures.get(record_id, 0)
        if left > 0:
            self.lock_failures[record_id] = left - 1
            raise RecordError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {record_id}",
            )
        odef = self._by_prefix.get(record_id[:3])
        message = self.reject(odef.name, record_id) if odef and validated else None
        if message is not None:
            raise RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", message, [])

    def update(self, odef: ObjectDef, record: Record, values: Record) -> None:
        """Apply validated values to a record and bump its modstamps."""
        now = self.clock()
        record.update(values)
        record.update(
            LastModifiedDate=now, SystemModstamp=now, LastModifiedById=self.integration_user
        )
        self.derive(odef, record)
        self.records_written += 1

    def delete(self, record: Record) -> None:
        """Move a record to the recycle bin."""
        record.update(IsDeleted=True, SystemModstamp=self.clock())
        self.records_written += 1

    def hard_delete(self, odef: ObjectDef, record_id: str) -> None:
        """Remove a record for good (Bulk hardDelete)."""
        del self.records[odef.name.lower()][record_id]
        self.records_written += 1

    def derive(self, odef: ObjectDef, record: Record) -> None:
        if odef.name in {"Contact", "User"}:
            record["Name"] = " ".join(p for p in (record["FirstName"], record["LastName"]) if p)
        if odef.name == "Opportunity":
            stage = record.get("StageName") or ""
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"
        if odef.name == "Task":
            record["IsClosed"] = record.get("Status") == "Completed"
            record["IsHighPriority"] = record.get("Priority") == "High"
            record["AccountId"] = self._task_account(record)
        if odef.name == "Event":
            record["AccountId"] = self._task_account(record)
            record["EventSubtype"] = "Event"
        if odef.name == "ContentNote":
            self._note_document(record)
        if odef.name == "CampaignMember":
            # the member status implies the flag, as the org's CampaignMemberStatus says
            record["HasResponded"] = record.get("Status") in RESPONDED_STATUSES

    def _note_document(self, note: Record) -> None:
        """A note's derived fields, and the ContentDocument that shares its id."""
        note[NOTE_MARK] = True
        body = base64.b64decode(note.get("Content") or "")
        words = html.unescape(re.sub(r"<[^>]+>", " ", body.decode("utf-8", "replace"))).split()
        note.update(
            FileType="SNOTE",
            FileExtension="snote",
            ContentSize=len(body),
            TextPreview=" ".join(words)[:255] or None,
        )
        keep = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate")
        document = {k: note[k] for k in (*keep, "LastModifiedById", "SystemModstamp")}
        document.update(Title=note["Title"], FileType="SNOTE", OwnerId=note["OwnerId"])
        self.records["contentdocument"][note["Id"]] = document

    def _task_account(self, record: Record) -> str | None:
        for key in ("WhatId", "WhoId"):
            found = self.find(record.get(key) or "")
            if found and found[0].name == "Account":
                return str(found[1]["Id"])
            if found and found[1].get("AccountId"):
                return str(found[1]["AccountId"])
        return None

    # ---- SOQL ----------------------------------------------------------------------------
    def resolve_path(self, odef: ObjectDef, path: tuple[str, ...]) -> list[FieldDef]:
        """Validate a field path; raise SoqlError(INVALID_FIELD) like Salesforce does."""
        chain: list[FieldDef] = []
        current = [odef]
        for i, part in enumerate(path):
            last = i == len(path) - 1
            found = None
            for candidate in current:
                found = candidate.get(part) if last else candidate.relationship(part)
                if found:
                    break
            if found is None:
                names = "/".join(c.name for c in current)
                if last:
                    raise SoqlError(
                        "INVALID_FIELD",
                        f"No such column '{part}' on entity '{names}'. If you are attempting to "
                        "use a custom field, be sure to append the '__c' after the custom field "
                        "name. Please reference your WSDL or the describe call for the "
                        "appropriate names.",
                    )
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name.",
                )
            chain.append(found)
            current = [self.schema[t.lower()] for t in found.reference_to]
        return chain

    def get_value(self, record: Record | None, path: tuple[str, ...]) -> Any:
        """The typed value at a relationship path (None through a null reference)."""
        for part in path[:-1]:
            if record is None:
                return None
            odef = self._type_of(record)
            fdef = odef.relationship(part) if odef else None
            target = self.find(record.get(fdef.name) or "") if fdef else None
            record = target[1] if target else None
        if record is None:
            return None
        odef = self._type_of(record)
        fdef = odef.get(path[-1]) if odef else None
        return record.get(fdef.name) if fdef else None

    def _type_of(self, record: Record) -> ObjectDef | None:
        if record.get(NOTE_MARK):  # a ContentNote shares its id prefix with ContentDocument
            return self.schema["contentnote"]
        return self._by_prefix.get(str(record["Id"])[:3])

    def query(self, text: str, *, include_deleted: bool, version: str) -> QueryResult:
        """Run SOQL; the selected rows are rendered page by page (COUNT() selects none)."""
        parsed: Query = parse(text)
        odef = self.sobject(parsed.sobject)
        if odef is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"\n{text}\n^\nERROR at Row:1:Column:1\nsObject type '{parsed.sobject}' is not "
                "supported. If you are attempting to use a custom object, be sure to append the "
                "'__c' after the entity name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
            )
        if parsed.offset is not None and parsed.offset > 2000:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        for path in parsed.fields:
            self.resolve_path(odef, path)
        for item in parsed.order_by:
            self.resolve_path(odef, item.path)
        check_types(parsed.where, lambda p: self.resolve_path(odef, p)[-1].type)
        if odef.name == "ContentDocumentLink" and not _filters_link(parsed.where):
            raise SoqlError(
                "MALFORMED_QUERY",
                "Implementation restriction: ContentDocumentLink requires a filter by a single "
                "Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple "
                "Id's using the IN operator.",
            )
        with self.lock:
            rows = [
                r
                for r in self.records[odef.name.lower()].values()
                if include_deleted or not r["IsDeleted"]
            ]
            selected = execute(parsed, rows, self.get_value, self.today)
        if parsed.count_only:
            return QueryResult(self, odef, parsed, version, [], len(selected))
        return QueryResult(self, odef, parsed, version, selected, len(selected))

    def shape(self, odef: ObjectDef, record: Record, parsed: Query, version: str) -> Record:
        """A query result record: attributes, selected fields, nested relationship objects."""
        out: Record = {"attributes": self.attributes(odef, record, version)}
        for path in parsed.fields:
            self._put(out, record, path, version)
        return out

    def attributes(self, odef: ObjectDef, record: Record, version: str) -> dict[str, str]:
        """The `attributes` object of a record."""
        url = f"/services/data/v{version}/sobjects/{odef.name}/{record['Id']}"
        return {"type": odef.name, "url": url}

    def _put(self, out: Record, record: Record, path: tuple[str, ...], version: str) -> None:
        odef = self._type_of(record)
        assert odef is not None
        if len(path) == 1:
            fdef = odef.get(path[0])
            assert fdef is not None
            out[fdef.name] = render(record.get(fdef.name))
            if fdef.type == "base64" and record.get(fdef.name) is not None:  # a blob's URL
                out[fdef.name] = f"{self.attributes(odef, record, version)['url']}/{fdef.name}"
            return
        rel = odef.relationship(path[0])
        assert rel is not None
        target = self.find(record.get(rel.name) or "")
        name = rel.relationship_name or path[0]
        if target is None:
            out[name] = None
            return
        nested = out.get(name) or {"attributes": self.attributes(target[0], target[1], version)}
        out[name] = nested
        self._put(nested, target[1], path[1:], version)


def _filters_link(where: Condition | None) -> bool:
    """True when a top-level AND term filters ContentDocumentId or LinkedEntityId by = or IN."""
    terms = where.items if isinstance(where, BoolOp) and where.op == "AND" else (where,)
    wanted = {("contentdocumentid",), ("linkedentityid",)}
    for term in terms:
        path = tuple(p.lower() for p in getattr(term, "path", ()))
        if path in wanted and (
            (isinstance(term, Comparison) and term.op == "=")
            or (isinstance(term, InList) and not term.negate)
        ):
            return True
    return False
