"""apply: batching, partial failures, splitting, tasks exactly once, quota stop, ledger.

The CRM here is an in-memory fake of the writer protocol (the real writers are tested
against the sandbox elsewhere); the ledger is a real store on SQLite and PostgreSQL.
"Nothing lost" means: after the runs, the fake CRM holds every planned value and task,
each task exactly once, and planning again against the ledger is empty.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from csbridge.connectors.protocol import (
    BatchRejectedError,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
)
from csbridge.http.errors import QuotaExhaustedError, UnknownOutcomeError
from csbridge.store.store import Store, open_store
from csbridge.sync import ledger
from csbridge.sync.apply import ApplyOptions, apply_changes
from csbridge.sync.changes import ChangeSet, DesiredState, LedgerState, Notification, TaskToCreate
from csbridge.sync.ledger import read_ledger, record_fields
from csbridge.sync.plan import plan

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
OWNED = ("Promoter", "Churn Risk")
OPTIONS = ApplyOptions(object_type="companies", tag_field="tags", fallback_owner_id="u0")


@dataclass
class FakeCrm:
    name: str = "hubspot"
    batch_size: int = 3
    bulk: bool = False
    tasks_alongside: bool = False
    search_lag: float = 0.0
    records: dict[str, dict[str, object]] = field(default_factory=dict)
    tasks: dict[str, TaskCreate] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    locked: dict[str, int] = field(default_factory=dict)
    poison: set[str] = field(default_factory=set)
    unknown_creates: int = 0
    quota_after: int | None = None

    def _call(self, kind: str) -> None:
        if self.quota_after is not None and len(self.calls) >= self.quota_after:
            raise QuotaExhaustedError("salesforce", kind, "daily quota share reached")
        self.calls.append(kind)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        assert len(updates) <= self.batch_size
        self._call("update")
        if any(u.record_id in self.poison for u in updates):
            raise BatchRejectedError(self.name, "Property values were not valid")
        results = []
        for u in updates:
            if u.record_id in self.reject:
                results.append(WriteResult(u.record_id, False, error="VALIDATION_ERROR: bad"))
            elif self.locked.get(u.record_id, 0) > 0:
                self.locked[u.record_id] -= 1
                results.append(WriteResult(u.record_id, False, error="LOCK", retryable=True))
            else:
                self.records.setdefault(u.record_id, {}).update(u.fields)
                results.append(WriteResult(u.record_id, True))
        return results

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        self._call("bulk")
        if any(u.record_id in self.poison for u in updates):
            raise BatchRejectedError(self.name, "InvalidBatch: job failed")
        for u in updates:
            self.records.setdefault(u.record_id, {}).update(u.fields)
        return [WriteResult(u.record_id, True) for u in updates]

    def read_field(self, record_ids: Sequence[str], name: str) -> dict[str, str | None]:
        self.calls.append("read")
        return {r: self.records.get(r, {}).get(name) for r in record_ids}  # type: ignore[misc]

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        self._call("create")
        for t in tasks:
            self.tasks[t.key] = t
        if self.unknown_creates > 0:
            self.unknown_creates -= 1
            raise UnknownOutcomeError(self.name, "tasks/batch/create", "read timed out")
        return [WriteResult(t.key, True, id=f"T-{t.key}") for t in tasks]

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        self.calls.append("find")
        return {k: f"T-{k}" for k in keys if k in self.tasks}

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        return {k: TaskState(i, False) for k, i in self.find_tasks(keys).items()}

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        self._call("update_tasks")
        return [WriteResult(u.key, True, id=u.task_id) for u in updates]

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def desired(n: int, **extra: object) -> dict[str, DesiredState]:
    states = {}
    for i in range(n):
        rid = f"R{i}"
        states[f"A{i}"] = DesiredState(
            f"A{i}",
            rid,
            {"score": 50 + i, "status": "attention"},
            **extra,  # type: ignore[arg-type]
        )
    return states


def changes_for(
    store: Store, states: dict[str, DesiredState], target: str = "hubspot"
) -> ChangeSet:
    written, done, notified = read_ledger(store, target, "companies", "tags")
    ledger = {}
    for key, state in states.items():
        base = written.get(state.record_id, LedgerState())
        ledger[key] = LedgerState(base.fields, base.tags, done, notified)
    return plan(states, ledger, owned_tags=OWNED)


def test_batches_ledger_and_a_rerun_plans_nothing(store: Store) -> None:
    crm = FakeCrm()
    states = desired(7)
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert report.ok and report.records_updated == 7 and report.fields_written == 14
    assert crm.calls == ["update"] * 3  # ceil(7 / 3)
    assert crm.records["R6"] == {"score": 56, "status": "attention"}
    assert changes_for(store, states).is_empty


def test_tags_keep_foreign_ones_and_remove_only_owned(store: Store) -> None:
    crm = FakeCrm(records={"R0": {"tags": "VIP;Churn Risk"}})
    first = {"A0": DesiredState("A0", "R0", {"score": 40}, tags=frozenset({"Churn Risk"}))}
    apply_changes(changes_for(store, first), crm, store, OPTIONS)
    # the ledger knew nothing: Churn Risk added (already there), VIP kept
    assert crm.records["R0"]["tags"] == "VIP;Churn Risk"
    crm.records["R0"]["tags"] = "VIP;Churn Risk;Partner"  # a CSM adds a tag meanwhile
    later = {"A0": DesiredState("A0", "R0", {"score": 90}, tags=frozenset({"Promoter"}))}
    report = apply_changes(changes_for(store, later), crm, store, OPTIONS)
    assert crm.records["R0"]["tags"] == "VIP;Partner;Promoter"
    assert report.tags_changed == 2 and report.ok
    assert changes_for(store, later).is_empty


def test_a_rejected_record_is_reported_then_lands_next_run(store: Store) -> None:
    crm = FakeCrm(reject={"R1"}, locked={"R2": 1})
    states = desired(5)
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert [(f.kind, f.ref, f.account_id, f.reason) for f in report.failed] == [
        ("record", "R1", "A1", "VALIDATION_ERROR: bad")
    ]
    assert report.records_updated == 4 and "R2" in crm.records  # the lock was retried
    assert not report.ok
    crm.reject.clear()
    again = changes_for(store, states)
    assert [a.record_id for a in again.accounts if not a.is_empty] == ["R1"]
    assert apply_changes(again, crm, store, OPTIONS).ok
    assert crm.records["R1"]["score"] == 51


def test_a_refused_batch_is_split_down_to_the_bad_record(store: Store) -> None:
    crm = FakeCrm(batch_size=4, poison={"R2"})
    report = apply_changes(changes_for(store, desired(4)), crm, store, OPTIONS)
    assert [f.ref for f in report.failed] == ["R2"]
    assert "Property values were not valid" in report.failed[0].reason
    assert set(crm.records) == {"R0", "R1", "R3"}
    assert len(crm.calls) == 5  # 4, then 2 + 2, then 1 + 1 inside the poisoned half


def test_salesforce_goes_bulk_above_the_threshold(store: Store) -> None:
    crm = FakeCrm(name="salesforce", bulk=True, batch_size=2)
    options = ApplyOptions(object_type="companies", tag_field="tags", bulk_threshold=3)
    changes = changes_for(store, desired(4))
    report = apply_changes(changes, crm, store, options)
    assert crm.calls == ["bulk"] and report.records_updated == 4
    assert changes_for(store, desired(4), "salesforce").is_empty


def test_a_failed_bulk_job_falls_back_to_batches(store: Store) -> None:
    crm = FakeCrm(name="salesforce", bulk=True, batch_size=2, poison={"R1"})
    options = ApplyOptions(object_type="companies", tag_field="tags", bulk_threshold=3)
    report = apply_changes(changes_for(store, desired(4)), crm, store, options)
    assert [f.ref for f in report.failed] == ["R1"] and report.records_updated == 3
    assert crm.calls[0] == "bulk" and set(crm.records) == {"R0", "R2", "R3"}


def tasks_state(n: int) -> dict[str, DesiredState]:
    return {
        f"A{i}": DesiredState(
            f"A{i}",
            f"R{i}",
            tasks=(
                TaskToCreate(
                    f"A{i}:churn_risk:2026-11-23",
                    f"A{i}",
                    "churn_risk",
                    "Call",
                    due=date(2026, 11, 25),
                ),
            ),
        )
        for i in range(n)
    }


def test_tasks_exactly_once_and_fallback_owner(store: Store) -> None:
    crm = FakeCrm()
    states = tasks_state(4)
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert report.ok and report.tasks_created == 4 and len(crm.tasks) == 4
    assert all(t.owner_id == "u0" for t in crm.tasks.values())
    assert crm.calls == ["find", "create", "create"]
    assert changes_for(store, states).is_empty


def test_a_task_the_crm_made_before_a_crash_is_adopted_not_duplicated(store: Store) -> None:
    crm = FakeCrm()
    states = tasks_state(2)
    # the previous run created A0's task and died before recording it
    crm.tasks["A0:churn_risk:2026-11-23"] = TaskCreate("A0:churn_risk:2026-11-23", "R0", "Call")
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert report.tasks_found == 1 and report.tasks_created == 1 and len(crm.tasks) == 2
    assert changes_for(store, states).is_empty


def test_a_timed_out_create_is_looked_up_before_any_retry(store: Store) -> None:
    crm = FakeCrm(unknown_creates=1)
    slept: list[float] = []
    options = ApplyOptions(object_type="companies", lookup_delay=2.0)
    report = apply_changes(
        changes_for(store, tasks_state(2)), crm, store, options, sleep=slept.append
    )
    assert report.ok and report.tasks_found == 2 and report.tasks_created == 0
    assert crm.calls == ["find", "create", "find"] and slept[0] == 2.0
    assert len(crm.tasks) == 2


def test_a_rejected_task_is_failed_whatever_the_crm_error_text_says(store: Store) -> None:
    """Only an unknown outcome leaves a task pending; a CRM error message that happens
    to read like ours ("looked up next run") is still a rejection."""

    class Rejecting(FakeCrm):
        def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
            self._call("create")
            return [WriteResult(t.key, False, error="INVALID: looked up next run") for t in tasks]

    crm = Rejecting()
    report = apply_changes(changes_for(store, tasks_state(1)), crm, store, OPTIONS)
    assert not report.ok and [f.reason for f in report.failed] == ["INVALID: looked up next run"]
    key = report.failed[0].ref
    state = ledger.key_states(store, "hubspot", [key])[key]
    assert state[0] == "failed"  # not "pending", which only an unknown outcome leaves


def test_quota_guard_stops_cleanly_and_the_next_run_resumes(store: Store) -> None:
    crm = FakeCrm(quota_after=1)
    states = desired(7)
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert report.stopped is not None and "quota" in report.stopped
    assert report.records_updated == 3
    assert {f.reason for f in report.failed} == {"not attempted: quota guard"}
    assert len(report.failed) == 4
    crm.quota_after = None
    assert apply_changes(changes_for(store, states), crm, store, OPTIONS).ok
    assert len(crm.records) == 7 and changes_for(store, states).is_empty


@dataclass
class FakeNotifier:
    configured: bool = True
    fail: bool = False
    sent: list[str] = field(default_factory=list)

    def send(self, note: Notification) -> WriteResult:
        if self.fail:
            return WriteResult(note.key, False, error="slack webhook: 404 no_service")
        self.sent.append(note.key)
        return WriteResult(note.key, True)


def test_notifications_once_per_key_skipped_without_a_channel(store: Store) -> None:
    note = Notification("A0:detractor:n1:notify", "A0", "detractor", "Call them")
    states = {"A0": DesiredState("A0", "R0", notifications=(note,))}
    failing = FakeNotifier(fail=True)
    report = apply_changes(changes_for(store, states), FakeCrm(), store, OPTIONS, notifier=failing)
    assert [f.reason for f in report.failed] == ["slack webhook: 404 no_service"]
    working = FakeNotifier()
    apply_changes(changes_for(store, states), FakeCrm(), store, OPTIONS, notifier=working)
    apply_changes(changes_for(store, states), FakeCrm(), store, OPTIONS, notifier=working)
    assert working.sent == [note.key]
    other = {
        "A1": DesiredState(
            "A1", "R1", notifications=(note.__class__("A1:x:notify", "A1", "x", "s"),)
        )
    }
    off = FakeNotifier(configured=False)
    report = apply_changes(changes_for(store, other), FakeCrm(), store, OPTIONS, notifier=off)
    assert report.notifications_skipped == 1 and off.sent == []
    assert changes_for(store, other).is_empty
    # no notifier at all (a library caller): the same as no channel configured
    third = {
        "A2": DesiredState("A2", "R2", notifications=(Notification("A2:y:notify", "A2", "y", "s"),))
    }
    report = apply_changes(changes_for(store, third), FakeCrm(), store, OPTIONS)
    assert report.notifications_skipped == 1 and changes_for(store, third).is_empty


def test_the_ledger_records_more_values_than_one_statement_can_bind(store: Store) -> None:
    # 40,000 values x 7 columns: past SQLite's bound-variable cap for one statement
    written = {f"R{i}": {"a": i, "b": i, "c": i, "d": i} for i in range(10_000)}
    record_fields(store, "salesforce", "Account", written, NOW)
    ledger, _, _ = read_ledger(store, "salesforce", "Account", None)
    assert len(ledger) == 10_000 and ledger["R9999"].fields == {
        "a": 9999,
        "b": 9999,
        "c": 9999,
        "d": 9999,
    }


def records_and_tasks(n: int) -> dict[str, DesiredState]:
    return {
        key: DesiredState(key, f"R{i}", {"score": 50 + i}, tasks=task.tasks)
        for i, (key, task) in enumerate(tasks_state(n).items())
    }


@dataclass
class OverlapCrm(FakeCrm):
    """Each side waits (up to 5 s) to see the other start: True only if they overlapped."""

    searching: threading.Event = field(default_factory=threading.Event)
    updating: threading.Event = field(default_factory=threading.Event)
    overlapped: list[bool] = field(default_factory=list)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        self.updating.set()
        self.overlapped.append(self.searching.wait(5))
        return super().update_records(updates)

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        self.searching.set()
        self.overlapped.append(self.updating.wait(5))
        return super().find_tasks(keys)


ALONGSIDE = replace(OPTIONS, tasks_alongside=True)


def test_with_tasks_alongside_the_task_search_overlaps_the_record_updates(store: Store) -> None:
    crm = OverlapCrm()
    states = records_and_tasks(4)
    crm.tasks["A1:churn_risk:2026-11-23"] = TaskCreate("A1:churn_risk:2026-11-23", "R1", "Call")
    report = apply_changes(changes_for(store, states), crm, store, ALONGSIDE)
    assert crm.overlapped and all(crm.overlapped)
    assert report.ok and report.records_updated == 4
    assert report.tasks_found == 1 and report.tasks_created == 3 and len(crm.tasks) == 4
    assert crm.calls.index("find") < crm.calls.index("create")  # looked up before creating
    assert changes_for(store, states).is_empty


def test_without_tasks_alongside_the_tasks_follow_the_updates(store: Store) -> None:
    crm = FakeCrm(name="salesforce")
    report = apply_changes(changes_for(store, records_and_tasks(4)), crm, store, OPTIONS)
    assert report.ok
    assert crm.calls == ["update", "update", "find", "create", "create"]


@dataclass
class QuotaOnSecondUpdate(FakeCrm):
    """A CRM whose daily quota runs out on the second update call: every create after it
    is refused too. Its task search (metered apart, as HubSpot's) answers only once the
    quota ran out, so the task thread looks up after the updates failed."""

    stop: bool = True
    exhausted: threading.Event = field(default_factory=threading.Event)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        if self.stop and "update" in self.calls:
            self.exhausted.set()
            raise QuotaExhaustedError("hubspot", "update", "daily quota reached")
        return super().update_records(updates)

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        if self.stop:
            assert self.exhausted.wait(5)
        return super().find_tasks(keys)

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        if self.exhausted.is_set() and self.stop:
            raise QuotaExhaustedError("hubspot", "create", "daily quota reached")
        return super().create_tasks(tasks)


def test_a_quota_stop_during_the_updates_starts_no_task_batch_then_resumes(
    store: Store,
) -> None:
    # the task thread looks up only once the updates have failed: no task may land then
    crm = QuotaOnSecondUpdate()
    states = records_and_tasks(4)
    report = apply_changes(changes_for(store, states), crm, store, ALONGSIDE)
    assert report.stopped is not None and "quota" in report.stopped
    assert report.records_updated == 3 and report.tasks_created == 0 and not crm.tasks
    assert "find" in crm.calls  # the thread had ended before apply returned
    crm.stop = False
    again = apply_changes(changes_for(store, states), crm, store, ALONGSIDE)
    assert again.ok and again.records_updated == 1 and again.tasks_created == 4
    assert len(crm.tasks) == 4 and changes_for(store, states).is_empty
