"""apply stops writing the moment the run's lock is lost (`ApplyOptions.verify_lock`),
in the records' and the tasks' paths, on one thread or two.

Same in-memory CRM fake and real ledger store as test_apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from test_apply import OPTIONS, FakeCrm, changes_for, desired, tasks_state

from csbridge.store.lock import LockLostError
from csbridge.store.store import Store, open_store
from csbridge.sync.apply import apply_changes
from csbridge.sync.changes import DesiredState


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def lost_after(checks: int) -> Callable[[], None]:
    """A lock check that passes `checks` times, then reports the lock lost for good."""
    calls: list[None] = []

    def verify() -> None:
        calls.append(None)
        if len(calls) > checks:
            raise LockLostError("lost the run lock on test (killed); stopped writing")

    return verify


def with_tasks(records: int, tasks: int) -> dict[str, DesiredState]:
    """`records` accounts with field changes, the first `tasks` of them with a task too."""
    states = desired(records)
    for i, task_state in enumerate(tasks_state(tasks).values()):
        states[f"A{i}"] = replace(states[f"A{i}"], tasks=task_state.tasks)
    return states


def test_a_lost_lock_stops_the_record_batches_at_once(store: Store) -> None:
    """7 records in batches of 3 and 4 tasks: the lock is lost after the first record
    batch; no other batch (record or task) is sent and the rest is reported not
    attempted."""
    crm = FakeCrm()
    states = with_tasks(7, 4)
    options = replace(OPTIONS, verify_lock=lost_after(1))
    report = apply_changes(changes_for(store, states), crm, store, options)
    assert report.stopped is not None and "lost the run lock" in report.stopped
    assert crm.calls.count("update") == 1 and report.records_updated == 3
    assert "create" not in crm.calls and crm.tasks == {}
    assert {f.reason for f in report.failed if f.kind == "record"} == {
        "not attempted: run lock lost"
    }
    assert len([f for f in report.failed if f.kind == "record"]) == 4
    # what landed is in the ledger: the next run plans only the other 4 records
    assert len([a for a in changes_for(store, states).accounts if a.fields]) == 4


def test_with_tasks_alongside_a_lost_lock_stops_both_threads(store: Store) -> None:
    """HubSpot's two threads: the lock is gone before the first batch of either, so
    nothing at all is written (only the task search, a read, goes out)."""
    crm = FakeCrm()
    options = replace(OPTIONS, verify_lock=lost_after(0), tasks_alongside=True)
    report = apply_changes(changes_for(store, with_tasks(7, 4)), crm, store, options)
    assert set(crm.calls) <= {"find"} and crm.records == {} and crm.tasks == {}
    assert report.stopped is not None and "lost the run lock" in report.stopped
    assert report.records_updated == 0
    assert len([f for f in report.failed if f.kind == "record"]) == 7


def test_a_lost_lock_stops_the_task_batches(store: Store) -> None:
    """The lock holds for the first task batch (of 3), then is lost: one create only."""
    crm = FakeCrm()
    options = replace(OPTIONS, verify_lock=lost_after(1))
    report = apply_changes(changes_for(store, tasks_state(5)), crm, store, options)
    assert crm.calls == ["find", "create"] and len(crm.tasks) == 3
    assert report.stopped is not None and "lost the run lock" in report.stopped
    assert sorted(f.reason for f in report.failed) == ["not attempted: run lock lost"] * 2
