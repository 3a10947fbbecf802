"""What a sync wants and what it would change: desired state, ledger state, the ChangeSet.

All frozen and pure. A ChangeSet is what `plan` shows and what `apply` writes: per
account, the fields with their value before and after, the tags added and removed,
the tasks to create and the notifications to send, each task and notification under
its deterministic key. `to_json()` and `render_table()` present it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from csbridge.models import FieldValue
from csbridge.tables import format_table


@dataclass(frozen=True, slots=True)
class TaskToCreate:
    """A CRM task csbridge creates once, identified by `key` (account:rule:period)."""

    key: str
    account_id: str
    rule: str
    subject: str
    description: str = ""
    due: date | None = None
    assignee: str = "owner"
    owner_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """A message to post once per `key` (Slack incoming webhook or a signed generic webhook)."""

    key: str
    account_id: str
    rule: str
    subject: str
    description: str = ""
    targets: tuple[str, ...] = ()
    owner_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # an event's structured data


@dataclass(frozen=True, slots=True)
class DesiredState:
    """What one account's CRM record should hold after this run.

    `fields` maps CRM field API names to values. `touch_fields` (e.g. the last-updated
    time) are written only along with a real change, so they never cause one. `tags`
    are the owned tags the record should carry. `unmapped` names internal fields the
    rules wanted but the field mapping does not map (they are not written).
    """

    account_id: str
    record_id: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    touch_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    tasks: tuple[TaskToCreate, ...] = ()
    notifications: tuple[Notification, ...] = ()
    unmapped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What csbridge last wrote (or read) for one account: the plan's "before"."""

    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    task_keys: frozenset[str] = frozenset()
    notified_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: FieldValue
    after: FieldValue


@dataclass(frozen=True, slots=True)
class TagChange:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """Everything to write for one account's record."""

    account_id: str
    record_id: str
    fields: tuple[FieldChange, ...] = ()
    tags: TagChange = TagChange()
    tasks: tuple[TaskToCreate, ...] = ()
    notifications: tuple[Notification, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing would be written or sent for this account."""
        return not (self.fields or self.tags or self.tasks or self.notifications)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The whole change of one run, accounts in a stable order."""

    accounts: tuple[AccountChanges, ...] = ()

    @property
    def is_empty(self) -> bool:
        return all(a.is_empty for a in self.accounts)

    def summary(self) -> dict[str, int]:
        """Counts: records updated, field changes, tags added / removed, tasks, notifications."""
        return {
            "records": sum(1 for a in self.accounts if a.fields or a.tags),
            "fields": sum(len(a.fields) for a in self.accounts),
            "tags_added": sum(len(a.tags.added) for a in self.accounts),
            "tags_removed": sum(len(a.tags.removed) for a in self.accounts),
            "tasks": sum(len(a.tasks) for a in self.accounts),
            "notifications": sum(len(a.notifications) for a in self.accounts),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: summary, then every account with something to change."""
        return {
            "summary": self.summary(),
            "accounts": [asdict(a) for a in self.accounts if not a.is_empty or a.warnings],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The ChangeSet as JSON (dates as ISO strings)."""
        return json.dumps(self.to_dict(), indent=indent, default=_json_default, sort_keys=False)

    def render_table(self, width: int = 60) -> str:
        """A plain-text table, one line per change, and a summary line."""
        rows: list[tuple[str, str, str, str]] = []
        warned: dict[str, int] = {}
        for acc in self.accounts:
            name = (
                acc.account_id
                if acc.record_id == acc.account_id
                else (f"{acc.account_id} ({acc.record_id})")
            )
            for fc in acc.fields:
                rows.append((name, "field", fc.field, f"{_show(fc.before)} -> {_show(fc.after)}"))
            rows.extend((name, "tag", f"+{t}", "") for t in acc.tags.added)
            rows.extend((name, "tag", f"-{t}", "") for t in acc.tags.removed)
            for task in acc.tasks:
                due = f"due {task.due.isoformat()} " if task.due else ""
                rows.append((name, "task", task.key, _cut(f"{due}{task.subject}", width)))
            for note in acc.notifications:
                to = ",".join(note.targets)
                rows.append((name, "notify", note.key, _cut(f"to {to}: {note.subject}", width)))
            for warning in acc.warnings:
                warned[warning] = warned.get(warning, 0) + 1
        s = self.summary()
        footer = (
            f"{s['fields']} field changes on {s['records']} records, "
            f"{s['tags_added']} tags added, {s['tags_removed']} removed, "
            f"{s['tasks']} tasks to create, {s['notifications']} notifications"
        )
        footer += "".join(
            f"\nwarning: {w} ({n} account{'s' if n > 1 else ''})" for w, n in warned.items()
        )
        if not rows:
            return f"No changes.\n{footer}\n"
        header = ("account", "change", "what", "before -> after / detail")
        return format_table(header, rows) + footer + "\n"


def _json_default(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _show(value: FieldValue) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return _cut(repr(value), 40)
    return str(value)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
