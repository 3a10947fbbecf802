"""Create the planned tasks exactly once, even across timeouts and crashes.

1. Every planned key is looked up in the CRM first (`find_tasks`): a task created by an
   earlier run that died before recording it is adopted, not created again. Keys left
   `pending` moments ago wait out the CRM's search lag (`lookup_delay`, HubSpot) first.
   A lookup that still fails after the HTTP policy's retries (429, 5xx, timeouts)
   carries this CRM's tasks to the next run, reported with the reason: never created
   blind, and the records and the other CRM are written all the same.
2. The rest are marked `pending` (committed), created in batches, and recorded as
   `created` with the CRM's id, or `failed` with its reason (planned again next run).
3. A create whose outcome is unknown (the request timed out after sending) is looked
   up again; what is still missing is created once more; a second unknown outcome
   leaves the keys pending for the next run's lookup.

With `tasks_alongside` (HubSpot) all of this runs on a second thread while the record
updates go out. HubSpot meters searches apart (4/s) from its general budget, and each
call waits for its answer: one after the other, the searches left the budget idle and
the round trips added up (bench/sync.py: HubSpot apply 1.25x the time its limits
allow). If the updates fail, no further task batch starts. Salesforce's quota guard
counts calls one at a time, so there the tasks follow the updates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog

from csbridge.connectors.protocol import CrmWriter, TaskCreate, WriteResult, chunks
from csbridge.http.errors import (
    HttpError,
    QuotaExhaustedError,
    SetupError,
    UnknownOutcomeError,
)
from csbridge.store.facts import as_utc
from csbridge.store.lock import LockLostError
from csbridge.store.store import Store
from csbridge.sync import ledger
from csbridge.sync.apply_types import ApplyOptions, ApplyReport, Failure, split_on_rejection
from csbridge.sync.changes import AccountChanges

log = structlog.get_logger("csbridge.apply")


class TaskApplier:
    """Task creation for one apply (see the module doc)."""

    def __init__(
        self,
        writer: CrmWriter,
        store: Store,
        options: ApplyOptions,
        report: ApplyReport,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.writer, self.store, self.options, self.report = writer, store, options, report
        self.clock = clock
        self.sleep = sleep or time.sleep
        self.accounts: dict[str, str] = {}
        self.halted = threading.Event()

    def apply(
        self, accounts: Sequence[AccountChanges], alongside: Callable[[], None] = lambda: None
    ) -> None:
        """Create the accounts' planned tasks and run `alongside` (the record updates):
        one after the other, or at once with `tasks_alongside`. An error in either is
        raised once both have ended; after one in `alongside`, no new task batch starts."""
        tasks = [
            TaskCreate(
                t.key,
                a.record_id,
                t.subject,
                t.description,
                t.due,
                t.owner_id or self.options.fallback_owner_id,
            )
            for a in accounts
            for t in a.tasks
        ]
        self.accounts = {t.key: a.account_id for a in accounts for t in a.tasks}
        if not tasks or not self.options.tasks_alongside:
            alongside()
            self._create_all(tasks)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="csbridge-tasks") as pool:
            created = pool.submit(self._create_all, tasks)
            try:
                alongside()
            except BaseException:
                self.halted.set()
                raise
            created.result()

    def _create_all(self, tasks: list[TaskCreate]) -> None:
        if not tasks:
            return
        try:
            found = self._look_up([t.key for t in tasks])
        except (QuotaExhaustedError, SetupError):
            raise
        except HttpError as exc:  # retried by the HTTP policy already; the rest runs on
            self._defer(tasks, f"task lookup failed: {exc}; carried to the next run")
            return
        missing = [t for t in tasks if t.key not in found]
        batches = chunks(missing, self.writer.batch_size)
        for done, batch in enumerate(batches):
            if self.halted.is_set():
                return  # the updates failed (a quota stop): the next run plans these again
            try:
                self.options.verify_lock()
            except LockLostError:
                self._defer([t for b in batches[done:] for t in b], "not attempted: run lock lost")
                raise
            self._create(batch, retry_unknown=True)

    def _defer(self, tasks: Sequence[TaskCreate], reason: str) -> None:
        """Report `tasks` as not written; the ledger does not have them, so the next run
        plans them again (and looks them up first)."""
        for task in tasks:
            self.report.failed.append(
                Failure("task", task.key, self.accounts.get(task.key, ""), reason)
            )
        log.warning(
            "apply.tasks_deferred", target=self.writer.name, count=len(tasks), reason=reason
        )

    def _look_up(self, keys: list[str]) -> dict[str, str]:
        """Keys already in the CRM (adopted as created), after waiting out search lag."""
        states = ledger.key_states(self.store, self.writer.name, keys)
        recent = [as_utc(at) for status, at in states.values() if status == "pending"]
        newest = max((at for at in recent if at is not None), default=None)
        if newest is not None and self.options.lookup_delay > 0:
            ready = newest + timedelta(seconds=self.options.lookup_delay)
            wait = (ready - self.clock()).total_seconds()
            if wait > 0:
                self.sleep(wait)
        found = self.writer.find_tasks(keys)
        if found:
            now = self.clock()
            ledger.set_keys(
                self.store,
                self.writer.name,
                {key: ("created", task_id, None) for key, task_id in found.items()},
                now,
            )
            self.report.tasks_found += len(found)
            log.info("apply.tasks_adopted", target=self.writer.name, count=len(found))
        return found

    def _create(self, batch: list[TaskCreate], *, retry_unknown: bool) -> None:
        keys = [t.key for t in batch]
        ledger.set_keys(
            self.store, self.writer.name, {k: ("pending", None, None) for k in keys}, self.clock()
        )
        unknown: set[str] = set()  # outcome unknown: left pending, looked up next run
        try:
            results = split_on_rejection(batch, self.writer.create_tasks, _task_ref)
        except UnknownOutcomeError as exc:
            reason = f"{exc}; looked up next run"
            if retry_unknown:
                self.sleep(self.options.lookup_delay)
                try:
                    found = self._look_up(keys)
                except (QuotaExhaustedError, SetupError):
                    raise
                except HttpError as lookup:
                    reason = f"{exc}; its lookup failed too ({lookup}); looked up next run"
                else:
                    rest = [t for t in batch if t.key not in found]
                    if rest:
                        self._create(rest, retry_unknown=False)
                    return
            results = [WriteResult(k, False, error=reason) for k in keys]
            unknown = set(keys)
        except (QuotaExhaustedError, SetupError):
            raise
        except HttpError as exc:  # left pending: the next run looks them up first
            results = [WriteResult(k, False, error=str(exc)) for k in keys]
        states: dict[str, tuple[str, str | None, str | None]] = {}
        for result in results:
            if result.ok:
                states[result.ref] = ("created", result.id, None)
                self.report.tasks_created += 1
            else:
                reason = result.error or "rejected"
                if result.error is not None and result.ref not in unknown:
                    states[result.ref] = ("failed", None, reason[:1000])
                account = self.accounts.get(result.ref, "")
                self.report.failed.append(Failure("task", result.ref, account, reason))
        ledger.set_keys(self.store, self.writer.name, states, self.clock())


def _task_ref(task: TaskCreate) -> str:
    return task.key
