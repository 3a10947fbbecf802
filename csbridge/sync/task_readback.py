"""Read csbridge's own open tasks back from a CRM on each run (issue 18, task lifecycle).

The ledger (`task_keys`) holds every task csbridge created, by key. Each run looks the
ones not yet known as completed up by key, in the same batched lookups the task
creation uses (`CrmWriter.task_states`: Salesforce SOQL `IN` of 300 keys, or its open
keyed tasks 2,000 a page when that reads no more rows; HubSpot search `IN` of 100), and
records in `task_outcomes` each task the CRM now shows as completed: who (the task's
owner) and when (its last change). A completed task, or one
csbridge closed itself (`csbridge.sync.task_close`), is not read again, so the cost
follows the open tasks, not every task ever created. The open ones, as read, go on to
the closing of ended episodes and the overdue report.

A shard of a sharded run (`csbridge.sync.shard`) reads back only the tasks of its own
customers, by the account its key names (`key_account`); a key whose account cannot be
read (shortened with a hash before its rule shows) is read by every shard, and a
completed task two shards record at once is stored once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select

from csbridge.connectors.protocol import CrmWriter, TaskState
from csbridge.http.errors import HttpError, QuotaExhaustedError, SetupError
from csbridge.scoring.rules_context import key_account
from csbridge.store.store import Store
from csbridge.store.tables import task_keys, task_outcomes
from csbridge.sync.ledger import dialect_insert
from csbridge.sync.shard import Shard

log = structlog.get_logger("csbridge.tasks")


@dataclass(frozen=True)
class ReadBack:
    """What one read-back found: the tasks newly completed, and the open ones by key."""

    completed: int = 0
    open: dict[str, TaskState] = field(default_factory=dict)


def open_task_keys(store: Store, target: str) -> list[str]:
    """The keys of the tasks csbridge created in `target` and has not seen completed
    (nor closed itself)."""
    k, o = task_keys.c, task_outcomes.c
    done = select(o.key).where(o.target == target)
    query = select(k.key).where(k.target == target, k.status == "created", k.key.not_in(done))
    with store.engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def read_back(
    store: Store,
    writer: CrmWriter,
    now: datetime,
    accounts: Collection[str] | None = None,
    shard: Shard | None = None,
) -> ReadBack:
    """Look the open tasks up in the CRM (only `accounts`' when given: a webhook reaction
    reads back its account's tasks, not the whole portfolio's; only `shard`'s customers'
    in a sharded run: see the module doc); store the completed ones."""
    keys = open_task_keys(store, writer.name)
    if accounts is not None:
        keys = [key for key in keys if _account_in(key, accounts)]
    if shard is not None:
        keys = [key for key in keys if _in_shard(key, shard)]
    if not keys:
        return ReadBack()
    try:
        states = writer.task_states(keys)
    except (QuotaExhaustedError, SetupError):
        raise
    except HttpError as exc:  # retried by the HTTP policy already: read again next run
        log.warning("tasks.read_back_failed", target=writer.name, reason=str(exc))
        return ReadBack()
    completed = {k: s for k, s in states.items() if s.completed}
    if completed:
        rows = [
            {
                "target": writer.name,
                "key": key,
                "task_id": state.id,
                "completed_by": state.owner_id,
                "completed_at": state.changed_at,
                "recorded_at": now,
            }
            for key, state in sorted(completed.items())
        ]
        with store.engine.begin() as conn:  # another shard may have recorded one already
            conn.execute(dialect_insert(conn, task_outcomes).on_conflict_do_nothing(), rows)
    log.info("tasks.read_back", target=writer.name, open=len(keys), completed=len(completed))
    still = {k: s for k, s in states.items() if not s.completed}
    return ReadBack(len(completed), still)


def _account_in(key: str, accounts: Collection[str]) -> bool:
    """Whether the task key starts with one of `accounts` and a colon (an account key may
    hold colons itself). A key shortened with a hash past its account is not matched: the
    scheduled run reads it back."""
    head = key
    while ":" in head:
        head = head.rsplit(":", 1)[0]
        if head in accounts:
            return True
    return False


def _in_shard(key: str, shard: Shard) -> bool:
    """Whether `shard` reads the task back: its account's, or any whose account is unread."""
    account = key_account(key)
    return account is None or shard.owns(account)
