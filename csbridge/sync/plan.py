"""The plan: desired CRM state against the ledger of what was last written → a ChangeSet. Pure.

- Fields: only those whose desired value differs from the ledger's, with before and
  after; an empty value is not written to a field csbridge never wrote. Touch fields
  (the last-updated time) ride along with a real change only.
- Tags: only tags csbridge owns (`owned_tags`) are added or removed; any other tag on
  the record is left as it is. Without a `tags` field in the mapping none are planned.
- Tasks and notifications: only keys not already in the ledger.

`applied(ledger, changes)` is the ledger after a fully successful apply, so planning
again against it yields an empty ChangeSet (tested as a property).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from csbridge.sync.changes import (
    AccountChanges,
    ChangeSet,
    DesiredState,
    FieldChange,
    LedgerState,
    TagChange,
)

EMPTY = LedgerState()
T = TypeVar("T")


def plan_account(
    desired: DesiredState, ledger: LedgerState, owned_tags: Collection[str]
) -> AccountChanges:
    """The changes one account's record needs to match its desired state."""
    fields = [
        FieldChange(name, ledger.fields.get(name), value)
        for name, value in desired.fields.items()
        if (
            value is not None
            if name not in ledger.fields
            else not _same(ledger.fields[name], value)
        )
    ]
    if fields:
        fields += [
            FieldChange(name, ledger.fields.get(name), value)
            for name, value in desired.touch_fields.items()
            if name not in desired.fields
        ]
    owned = set(owned_tags)
    wanted = desired.tags & owned
    tags = TagChange(
        added=tuple(sorted(wanted - ledger.tags)),
        removed=tuple(sorted((ledger.tags & owned) - wanted)),
    )
    if "tags" in desired.unmapped:
        tags = TagChange()  # nowhere to write them: the warning below says so
    tasks = tuple(t for t in _unique(desired.tasks) if t.key not in ledger.task_keys)
    notes = tuple(n for n in _unique(desired.notifications) if n.key not in ledger.notified_keys)
    warnings = tuple(
        f"{name}: not in the field mapping; add it to the mapping's write: section"
        for name in desired.unmapped
    )
    foreign = sorted(desired.tags - owned)
    if foreign:
        warnings += (f"tags {', '.join(foreign)} are not in owned_tags; not written",)
    return AccountChanges(
        account_id=desired.account_id,
        record_id=desired.record_id,
        fields=tuple(fields),
        tags=tags,
        tasks=tasks,
        notifications=notes,
        warnings=warnings,
    )


def plan(
    desired: Mapping[str, DesiredState],
    ledger: Mapping[str, LedgerState],
    *,
    owned_tags: Collection[str] = (),
) -> ChangeSet:
    """Every account's changes, in account order; accounts without a ledger start empty."""
    return ChangeSet(
        tuple(
            plan_account(desired[account], ledger.get(account, EMPTY), owned_tags)
            for account in sorted(desired)
        )
    )


def applied(ledger: LedgerState, changes: AccountChanges) -> LedgerState:
    """The ledger after every change of `changes` was written and recorded."""
    fields = dict(ledger.fields)
    fields.update((c.field, c.after) for c in changes.fields)
    return LedgerState(
        fields=fields,
        tags=(ledger.tags | set(changes.tags.added)) - set(changes.tags.removed),
        task_keys=ledger.task_keys | {t.key for t in changes.tasks},
        notified_keys=ledger.notified_keys | {n.key for n in changes.notifications},
    )


def applied_all(ledger: Mapping[str, LedgerState], changes: ChangeSet) -> dict[str, LedgerState]:
    """`applied` for every account of a ChangeSet (accounts it does not name are kept)."""
    result = dict(ledger)
    for acc in changes.accounts:
        result[acc.account_id] = applied(ledger.get(acc.account_id, EMPTY), acc)
    return result


def _same(before: object, after: object) -> bool:
    """Equal values, with numbers compared as numbers (1 == 1.0) but never bool vs number."""
    if isinstance(before, bool) or isinstance(after, bool):
        return type(before) is type(after) and before == after
    if isinstance(before, int | float) and isinstance(after, int | float):
        return abs(float(before) - float(after)) < 1e-9
    return before == after


def _unique(items: tuple[T, ...]) -> list[T]:
    seen: set[object] = set()
    out: list[T] = []
    for item in items:
        key = getattr(item, "key", item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def ledger_states(
    desired: Mapping[str, DesiredState],
    written: Mapping[str, LedgerState],
    done: frozenset[str],
    notified: frozenset[str],
) -> dict[str, LedgerState]:
    """Each account's ledger: its record's written fields and tags, and the global keys."""
    result = {}
    for key, state in desired.items():
        base = written.get(state.record_id, LedgerState())
        result[key] = LedgerState(base.fields, base.tags, done, notified)
    return result
