"""The daily task budget per owner and the first-run policy, between plan and apply.

Every task the plan wants, and every task deferred earlier, passes through the task
queue (`task_queue`, one row per CRM and key):

- `released`: created (or being created) within an owner's budget of its day; a task
  released before passes again without counting twice (e.g. its create failed);
- `deferred`: over its owner's budget; offered again on every following run, the
  most urgent first, until a day has room: created on a later day, exactly once (the
  queue and the ledger both key it), never dropped while its rule still asks for it;
- `skipped`: the backlog the first run left out (`tasks.first_run`); never created.

A deferred task its rule no longer asks for (its episode ended, or a later step
overtook it) is not a planned task any more: a run that evaluated its account drops it
from the queue and reports it as `expired`. Without this the queue grows without end.

`allot` is the pure decision; `budget_changes` reads and writes the queue around it.
With neither a budget nor a first-run policy configured, nothing goes through the queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select

from csbridge.scoring.rules_budget import FirstRun, TaskBudget
from csbridge.store.store import Store
from csbridge.store.tables import task_keys, task_queue
from csbridge.sync.changes import AccountChanges, ChangeSet, TaskToCreate


@dataclass(frozen=True)
class Queued:
    """One row of the task queue."""

    status: str  # released | deferred | skipped
    task: TaskToCreate
    record_id: str
    queued_on: date
    released_on: date | None = None


@dataclass
class Allotment:
    """What the budget lets through today, and the queue rows to store."""

    changes: ChangeSet
    rows: dict[str, Queued] = field(default_factory=dict)
    released: Counter[str] = field(default_factory=Counter)
    deferred: int = 0
    skipped: int = 0
    expired: set[str] = field(default_factory=set)

    def report(self) -> dict[str, Any]:
        """The run report's `task_budget` entry for this CRM."""
        return {
            "released": sum(self.released.values()),
            "released_per_owner": dict(sorted(self.released.items())),
            "deferred": self.deferred,
            "skipped_first_run": self.skipped,
            "expired": len(self.expired),
        }


def _owner(task: TaskToCreate) -> str:
    return task.owner_id or "-"


def allot(
    changes: ChangeSet,
    queue: Mapping[str, Queued],
    used_today: Mapping[str, int],
    policy: TaskBudget,
    today: date,
    *,
    first_run: bool,
    evaluated: Collection[str] = (),
) -> Allotment:
    """Today's tasks: released ones pass, the first run drops its backlog, and the rest
    are taken by priority (rule, then due date) while their owner's budget lasts.

    A deferred task of an account in `evaluated` (the accounts whose rules this run
    evaluated) that today's plan no longer holds has expired."""
    records = {a.account_id: a.record_id for a in changes.accounts}
    candidates = {t.key: t for a in changes.accounts for t in a.tasks}
    out = Allotment(changes)
    for key, row in queue.items():
        if row.status != "deferred" or key in candidates:
            continue
        if row.task.account_id in evaluated:
            out.expired.add(key)
        else:
            candidates[key] = row.task
            records.setdefault(row.task.account_id, row.record_id)
    kept: set[str] = set()
    ranked = []
    for key, task in candidates.items():
        status = queue[key].status if key in queue else None
        if status == "released":
            kept.add(key)
        elif status == "skipped":
            continue
        elif first_run and policy.first_run and not _urgent(task, policy.first_run, today):
            out.rows[key] = Queued("skipped", task, records[task.account_id], today)
            out.skipped += 1
        else:
            ranked.append(task)
    ranked.sort(key=lambda t: (policy.rank(t.rule), t.due or date.max, t.key))
    used = Counter(used_today)
    limit = policy.per_owner_per_day
    for task in ranked:
        owner = _owner(task)
        record = records[task.account_id]
        since = queue[task.key].queued_on if task.key in queue else today
        if limit is None or used[owner] < limit:
            used[owner] += 1
            out.released[owner] += 1
            out.rows[task.key] = Queued("released", task, record, since, today)
            kept.add(task.key)
        else:
            out.rows[task.key] = Queued("deferred", task, record, since)
            out.deferred += 1
    out.changes = _with_tasks(changes, records, [candidates[k] for k in sorted(kept)])
    return out


def _urgent(task: TaskToCreate, rule: FirstRun, today: date) -> bool:
    """An urgent rule's task, or one due within the first run's horizon."""
    due_soon = task.due is not None and (task.due - today).days <= rule.due_within_days
    return task.rule in rule.urgent_rules or due_soon


def _with_tasks(
    changes: ChangeSet, records: Mapping[str, str], tasks: Iterable[TaskToCreate]
) -> ChangeSet:
    by_account: dict[str, list[TaskToCreate]] = {}
    for task in tasks:
        by_account.setdefault(task.account_id, []).append(task)
    accounts = {a.account_id: replace(a, tasks=()) for a in changes.accounts}
    for account_id, items in by_account.items():
        base = accounts.get(account_id) or AccountChanges(account_id, records[account_id])
        accounts[account_id] = replace(base, tasks=tuple(items))
    return ChangeSet(tuple(accounts[k] for k in sorted(accounts)))


def budget_changes(
    store: Store,
    target: str,
    changes: ChangeSet,
    policy: TaskBudget,
    now: datetime,
    done: Collection[str],
    evaluated: Collection[str] = (),
) -> tuple[ChangeSet, Allotment | None]:
    """`changes` with today's share of the tasks, the queue updated; (changes, None)
    when no budget and no first-run policy is configured. `done` are the task keys the
    ledger holds as created in this CRM; `evaluated` the accounts whose rules were
    evaluated for `changes` (their deferred tasks no longer planned expire)."""
    if not policy.active:
        return changes, None
    today = now.date()
    planned = [t.key for a in changes.accounts for t in a.tasks]
    queue, ever = _load(store, target, planned, today)
    # a deferred task the CRM has since (adopted by key): out of the queue
    gone = {k for k, row in queue.items() if row.status == "deferred" and k in done}
    queue = {k: row for k, row in queue.items() if k not in gone}
    used = Counter(
        _owner(r.task) for r in queue.values() if r.status == "released" and r.released_on == today
    )
    first_run = not ever and not _any_task(store, target)
    allotted = allot(changes, queue, used, policy, today, first_run=first_run, evaluated=evaluated)
    _store(store, target, allotted.rows, gone | allotted.expired)
    return allotted.changes, allotted


def _load(
    store: Store, target: str, planned: list[str], today: date
) -> tuple[dict[str, Queued], bool]:
    """The queue rows that matter today (deferred ones, today's releases, the rows of
    the keys planned now), and whether this CRM's queue ever held a row."""
    q = task_queue.c
    mine = q.target == target
    queries = [select(task_queue).where(mine, or_(q.status == "deferred", q.released_on == today))]
    for start in range(0, len(planned), 500):
        queries.append(select(task_queue).where(mine, q.key.in_(planned[start : start + 500])))
    rows: dict[str, Queued] = {}
    with store.engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query).mappings():
                data = dict(row["task"])
                record_id = data.pop("record_id")
                due = data.pop("due")
                task = TaskToCreate(**data, due=None if due is None else date.fromisoformat(due))
                rows[row["key"]] = Queued(
                    row["status"], task, record_id, row["queued_on"], row["released_on"]
                )
        ever = conn.execute(select(func.count()).select_from(task_queue).where(mine)).scalar()
    return rows, bool(ever)


def _any_task(store: Store, target: str) -> bool:
    """Whether csbridge ever recorded a task in this CRM (then this is no first run)."""
    query = select(task_keys.c.key).where(task_keys.c.target == target).limit(1)
    with store.engine.connect() as conn:
        return conn.execute(query).first() is not None


def _store(store: Store, target: str, rows: Mapping[str, Queued], gone: Collection[str]) -> None:
    """Replace the decided rows and drop the deferred ones the ledger now holds or that
    expired, in one transaction. Released rows stay: they count against their day's
    budget."""
    q = task_queue.c
    keys = sorted(set(rows) | set(gone))
    with store.engine.begin() as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            conn.execute(delete(task_queue).where(q.target == target, q.key.in_(chunk)))
        if rows:
            conn.execute(
                insert(task_queue),
                [
                    {
                        "target": target,
                        "key": key,
                        "owner_id": row.task.owner_id,
                        "status": row.status,
                        "task": _payload(row),
                        "queued_on": row.queued_on,
                        "released_on": row.released_on,
                    }
                    for key, row in rows.items()
                ],
            )


def _payload(row: Queued) -> dict[str, Any]:
    data = asdict(row.task)
    data["due"] = None if row.task.due is None else row.task.due.isoformat()
    data["record_id"] = row.record_id
    return data
