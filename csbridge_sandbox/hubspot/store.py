"""Mutable HubSpot portal state: CRM objects seeded from the World, associations, owners,
property definitions; object rendering with requested properties and associations.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from csbridge_sandbox.hubspot.http import HsError
from csbridge_sandbox.hubspot.properties import (
    Prop,
    default_groups,
    default_properties,
    errors_message,
    validate,
)

OBJECT_TYPES = {
    "companies": "0-2",
    "contacts": "0-1",
    "deals": "0-3",
    "tasks": "0-27",
    "feedback_submissions": "0-19",
    "calls": "0-48",
    "emails": "0-49",
    "meetings": "0-47",
    "notes": "0-46",
}
ENGAGEMENTS = ("calls", "emails", "meetings", "notes")
HS_CREATEDATE = frozenset({"tasks", "feedback_submissions", *ENGAGEMENTS})  # not `createdate`
ALIASES = {
    **{v: k for k, v in OBJECT_TYPES.items()},
    "company": "companies",
    "contact": "contacts",
    "deal": "deals",
    "task": "tasks",
    "feedback_submission": "feedback_submissions",
    "call": "calls",
    "email": "emails",
    "meeting": "meetings",
    "note": "notes",
}
SINGULAR = {
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
    "tasks": "task",
    "feedback_submissions": "feedback_submission",
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
}
# (from, to) -> default HUBSPOT_DEFINED association type id
DEFAULT_ASSOCIATIONS = {
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
    ("tasks", "contacts"): 204,
    ("contacts", "tasks"): 203,
    ("tasks", "deals"): 216,
    ("deals", "tasks"): 215,
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("feedback_submissions", "contacts"): 98,
    ("contacts", "feedback_submissions"): 97,
    ("feedback_submissions", "companies"): 928,
    ("companies", "feedback_submissions"): 927,
    ("calls", "companies"): 182,
    ("companies", "calls"): 181,
    ("calls", "contacts"): 194,
    ("contacts", "calls"): 193,
    ("emails", "companies"): 186,
    ("companies", "emails"): 185,
    ("emails", "contacts"): 198,
    ("contacts", "emails"): 197,
    ("meetings", "companies"): 188,
    ("companies", "meetings"): 187,
    ("meetings", "contacts"): 200,
    ("contacts", "meetings"): 199,
    ("notes", "companies"): 190,
    ("companies", "notes"): 189,
    ("notes", "contacts"): 202,
    ("contacts", "notes"): 201,
}
DEFAULT_PROPS = {
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "feedback_submissions": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    **{e: ("hs_createdate", "hs_lastmodifieddate", "hs_object_id") for e in ENGAGEMENTS},
}
REQUIRED = {t: ("hs_timestamp",) for t in ("tasks", *ENGAGEMENTS)}
READ_ONLY_TYPES = {"feedback_submissions"}


def iso(moment: datetime) -> str:
    """HubSpot's timestamp form: 2019-10-30T03:30:17.883Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class HsObject:
    """One CRM record."""

    id: str
    type: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    archived: bool = False
    archived_at: str | None = None
    searchable_at: float = 0.0  # monotonic time from which search sees it (index lag)


@dataclass(frozen=True)
class Association:
    """A directed association edge."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    type_id: int
    category: str = "HUBSPOT_DEFINED"


@dataclass
class HubSpotStore:
    """Objects by type and id, association edges, owners and property definitions."""

    objects: dict[str, dict[str, HsObject]] = field(
        default_factory=lambda: {t: {} for t in OBJECT_TYPES}
    )
    associations: dict[tuple[str, str, str], list[Association]] = field(default_factory=dict)
    edge_set: set[Association] = field(default_factory=set)
    owners: list[dict[str, Any]] = field(default_factory=list)
    props: dict[str, dict[str, Prop]] = field(default_factory=default_properties)
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=default_groups)
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Any = field(default=lambda: datetime.now(UTC))
    ids: Any = field(default_factory=lambda: itertools.count(90_000_000_001))
    search_lag: float = 0.0  # seconds before a new object shows up in search
    records_written: int = 0  # objects created, updated or archived (seeding included)
    # the reject_record fault (control.py): (object type, id) -> rejection message or None
    reject: Any = field(default=lambda obj_type, object_id: None)

    # ---- lookups -------------------------------------------------------------------------
    @staticmethod
    def object_type(name: str) -> str:
        """Canonical object type for a path segment, or a 400 like HubSpot's."""
        canonical = name if name in OBJECT_TYPES else ALIASES.get(name)
        if canonical is None:
            raise HsError(400, f"Unable to infer object type from: {name}")
        return canonical

    def get(
        self, obj_type: str, object_id: str, id_property: str | None = None, archived: bool = False
    ) -> HsObject | None:
        """An object by id or by a unique property value."""
        table = self.objects[obj_type]
        if id_property and id_property != "hs_object_id":
            prop = self.props[obj_type].get(id_property)
            if prop is None or not (prop.unique or id_property == "email"):
                raise HsError(400, f"Property {id_property} is not a unique identifier property")
            for candidate in table.values():
                if (
                    candidate.properties.get(id_property) == object_id
                    and candidate.archived == archived
                ):
                    return candidate
            return None
        found = table.get(object_id)
        return found if found is not None and found.archived == archived else None

    def page_after(self, obj_type: str, after: int, count: int, archived: bool) -> list[HsObject]:
        """Up to `count` objects with id >= `after`, in id order. Ids only grow (seeded in
        order, new ones above every seeded id), so insertion order is id order."""
        table = self.objects[obj_type]
        ids = list(table)
        start = bisect.bisect_left(ids, after, key=int)
        out: list[HsObject] = []
        for object_id in ids[start:]:
            obj = table[object_id]
            if obj.archived == archived:
                out.append(obj)
                if len(out) == count:
                    break
        return out

    # ---- writes --------------------------------------------------------------------------
    def check(
        self, obj_type: str, values: dict[str, Any], creating: bool
    ) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
        """Validate properties for a write to `obj_type`."""
        required = REQUIRED.get(obj_type, ()) if creating else ()
        clean, errors = validate(self.props[obj_type], values, creating, required)
        owner = clean.get("hubspot_owner_id")
        if owner and owner not in {str(o["id"]) for o in self.owners}:
            message = f"{owner} is not a valid owner id"
            errors.append(
                {
                    "isValid": False,
                    "message": message,
                    "error": "INVALID_OWNER_ID",
                    "name": "hubspot_owner_id",
                    "localizedErrorMessage": message,
                }
            )
        return clean, errors

    def checked(self, obj_type: str, values: Any, creating: bool) -> dict[str, str | None]:
        """Validated values, or a 400 VALIDATION_ERROR carrying every problem."""
        if not isinstance(values, dict):
            raise HsError(400, "Invalid input JSON: properties must be an object")
        clean, errors = self.check(obj_type, values, creating)
        if errors:
            raise HsError(400, errors_message(errors))
        return clean

    def create(self, obj_type: str, values: dict[str, str | None]) -> HsObject:
        """Insert a validated object."""
        now = iso(self.clock())
        object_id = str(next(self.ids))
        created_key = "hs_createdate" if obj_type in HS_CREATEDATE else "createdate"
        modified_key = "lastmodifieddate" if obj_type == "contacts" else "hs_lastmodifieddate"
        props: dict[str, str | None] = {k: v for k, v in values.items() if v is not None}
        props.update({"hs_object_id": object_id, created_key: now, modified_key: now})
        obj = HsObject(object_id, obj_type, props, now, now)
        obj.searchable_at = time.monotonic() + self.search_lag
        self.objects[obj_type][object_id] = obj
        self.records_written += 1
        return obj

    def update(self, obj: HsObject, values: dict[str, str | None]) -> None:
        """Apply validated values (an empty string clears a property)."""
        now = iso(self.clock())
        for key, value in values.items():
            if value in (None, ""):
                obj.properties.pop(key, None)
            else:
                obj.properties[key] = value
        modified_key = "lastmodifieddate" if obj.type == "contacts" else "hs_lastmodifieddate"
        obj.properties[modified_key] = now
        obj.updated_at = now
        self.records_written += 1

    def rejection(self, obj: HsObject) -> dict[str, Any] | None:
        """The per-input error a write to `obj` fails with while reject_record is armed."""
        message = self.reject(obj.type, obj.id)
        if message is None:
            return None
        return {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": message,
            "context": {"ids": [obj.id]},
        }

    def archive(self, obj: HsObject) -> None:
        """Soft-delete (HubSpot keeps archived objects readable with archived=true)."""
        obj.archived = True
        obj.archived_at = iso(self.clock())
        self.records_written += 1

    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_id: int | None = None,
        category: str = "HUBSPOT_DEFINED",
    ) -> int:
        """Add an edge and its reverse; returns the forward type id."""
        forward = type_id or DEFAULT_ASSOCIATIONS.get((from_type, to_type))
        if forward is None:
            raise HsError(400, f"No default association between {from_type} and {to_type}")
        reverse = DEFAULT_ASSOCIATIONS.get((to_type, from_type), forward)
        for edge in (
            Association(from_type, from_id, to_type, to_id, forward, category),
            Association(to_type, to_id, from_type, from_id, reverse, category),
        ):
            if edge not in self.edge_set:
                self.edge_set.add(edge)
                key = (edge.from_type, edge.from_id, edge.to_type)
                self.associations.setdefault(key, []).append(edge)
        return forward

    def edges(self, from_type: str, from_id: str, to_type: str) -> list[Association]:
        """Associations from one object to objects of a type."""
        return list(self.associations.get((from_type, from_id, to_type), []))

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every edge (both directions) between two objects."""
        for a, b, c, d in (
            (from_type, from_id, to_type, to_id),
            (to_type, to_id, from_type, from_id),
        ):
            kept = [e for e in self.associations.get((a, b, c), []) if e.to_id != d]
            for edge in self.associations.get((a, b, c), []):
                if edge.to_id == d:
                    self.edge_set.discard(edge)
            self.associations[(a, b, c)] = kept

    def inline_associations(self, obj_type: str, object_id: str, specs: Any) -> None:
        """Create the `associations` array of a create input (validated first)."""
        for to_type, to_id, type_id, category in self.plan_associations(obj_type, specs):
            self.associate(obj_type, object_id, to_type, to_id, type_id, category)

    def plan_associations(self, obj_type: str, specs: Any) -> list[tuple[str, str, int, str]]:
        """Check a create input's `associations`; (to_type, to_id, type_id, category) each."""
        if not specs:
            return []
        planned: list[tuple[str, str, int, str]] = []
        for spec in specs:
            to_id = str((spec.get("to") or {}).get("id", ""))
            for kind in spec.get("types") or []:
                type_id = int(kind.get("associationTypeId", 0))
                to_type = next(
                    (
                        t
                        for (f, t), v in DEFAULT_ASSOCIATIONS.items()
                        if f == obj_type and v == type_id
                    ),
                    None,
                )
                if to_type is None:
                    raise HsError(400, f"Invalid association type id {type_id} for {obj_type}")
                if self.get(to_type, to_id) is None:
                    raise HsError(
                        400,
                        f"Could not find {SINGULAR[to_type]} with id {to_id} to associate",
                        "VALIDATION_ERROR",
                    )
                planned.append(
                    (
                        to_type,
                        to_id,
                        type_id,
                        str(kind.get("associationCategory", "HUBSPOT_DEFINED")),
                    )
                )
        return planned

    # ---- rendering -----------------------------------------------------------------------
    def render(
        self,
        obj: HsObject,
        wanted: list[str] | None,
        with_assoc: list[str] | None = None,
        history: list[str] | None = None,
    ) -> dict[str, Any]:
        """An object as the v3 API returns it (properties are strings or null)."""
        names = list(DEFAULT_PROPS[obj.type])
        if wanted:
            known = self.props[obj.type]
            names = [n for n in dict.fromkeys(wanted) if n in known]
            for always in (
                "hs_object_id",
                "hs_lastmodifieddate",
                "lastmodifieddate",
                "createdate",
                "hs_createdate",
            ):
                if always in DEFAULT_PROPS[obj.type] and always not in names:
                    names.append(always)
        body: dict[str, Any] = {
            "id": obj.id,
            "properties": {n: obj.properties.get(n) for n in names},
            "createdAt": obj.created_at,
            "updatedAt": obj.updated_at,
            "archived": obj.archived,
        }
        if obj.archived:
            body["archivedAt"] = obj.archived_at
        if history:
            body["propertiesWithHistory"] = {
                n: [{"value": obj.properties[n], "timestamp": obj.updated_at, "sourceType": "API"}]
                if obj.properties.get(n) is not None
                else []
                for n in history
            }
        if with_assoc:
            assoc: dict[str, Any] = {}
            for raw in with_assoc:
                to_type = ALIASES.get(raw, raw)
                if to_type not in OBJECT_TYPES:
                    continue
                found = self.edges(obj.type, obj.id, to_type)
                if found:
                    label = f"{SINGULAR[obj.type]}_to_{SINGULAR[to_type]}"
                    assoc[to_type] = {"results": [{"id": a.to_id, "type": label} for a in found]}
            if assoc:
                body["associations"] = assoc
        return body
