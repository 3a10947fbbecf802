"""A transient error (429, 5xx, timeout) that outlasts the HTTP policy's retries while
looking task keys up carries that CRM's tasks to the next run, reported with the reason;
it never aborts the run, and the records are written all the same.

Same in-memory CRM fake and real ledger store as test_apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import pytest
from test_apply import OPTIONS, FakeCrm, changes_for, desired, tasks_state

from csbridge.http.errors import RetriesExhaustedError
from csbridge.store.store import Store, open_store
from csbridge.sync.apply import apply_changes
from csbridge.sync.apply_types import ApplyOptions
from csbridge.sync.changes import DesiredState


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def with_tasks(records: int, tasks: int) -> dict[str, DesiredState]:
    """`records` accounts with field changes, the first `tasks` of them with a task too."""
    states = desired(records)
    for i, task_state in enumerate(tasks_state(tasks).values()):
        states[f"A{i}"] = replace(states[f"A{i}"], tasks=task_state.tasks)
    return states


@dataclass
class FailingSearch(FakeCrm):
    """A CRM whose task search fails (the HTTP policy's retries ran out) after `works`
    successful searches."""

    works: int = 0

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        if self.calls.count("find") < self.works:
            return super().find_tasks(keys)
        self.calls.append("find")
        raise RetriesExhaustedError(self.name, "tasks search", "503 after 5 attempts")


@pytest.mark.parametrize("alongside", [False, True])
def test_a_failing_task_lookup_defers_the_tasks_and_writes_the_records(
    store: Store, alongside: bool
) -> None:
    """No task is created blind, none is lost: each is reported with the reason and is
    planned again next run; the record updates land all the same."""
    crm = FailingSearch()
    states = with_tasks(4, 4)
    options: ApplyOptions = replace(OPTIONS, tasks_alongside=alongside)
    report = apply_changes(changes_for(store, states), crm, store, options)
    assert report.records_updated == 4 and report.stopped is None
    assert "create" not in crm.calls
    assert [f.kind for f in report.failed] == ["task"] * 4
    assert all("task lookup failed" in f.reason and "503" in f.reason for f in report.failed)
    assert all("next run" in f.reason for f in report.failed)
    again = changes_for(store, states)
    assert sum(len(a.tasks) for a in again.accounts) == 4 and not any(
        a.fields for a in again.accounts
    )


def test_a_failing_lookup_after_an_unknown_create_leaves_the_keys_pending(store: Store) -> None:
    """The create timed out and the lookup meant to settle it fails too: no second
    create (it may have landed), the keys stay pending for the next run's lookup."""
    crm = FailingSearch(unknown_creates=1, works=1)
    states = tasks_state(2)
    report = apply_changes(changes_for(store, states), crm, store, OPTIONS, sleep=lambda _: None)
    assert crm.calls == ["find", "create", "find"] and len(crm.tasks) == 2
    assert len(report.failed) == 2
    assert all("lookup failed too" in f.reason for f in report.failed)
    crm.works = 99  # the search is back: the next run adopts both, creates none
    again = apply_changes(changes_for(store, states), crm, store, OPTIONS)
    assert again.ok and again.tasks_found == 2 and again.tasks_created == 0
