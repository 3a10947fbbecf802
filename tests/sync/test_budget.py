"""The daily task budget per owner and the first-run policy (no wall of tasks).

Driven day after day against the real store (SQLite file and PostgreSQL): each task is
released exactly once, on the first day its owner's budget has room, by priority; the
deferred ones wait in the queue while their account is not evaluated again, and expire
once an evaluation of their account no longer asks for them; the first run skips the
non-urgent backlog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from csbridge.scoring.rules_config import parse_rules
from csbridge.store.store import Store, open_store
from csbridge.sync.budget import budget_changes
from csbridge.sync.changes import AccountChanges, ChangeSet, TaskToCreate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.engine.dispose()


def task(account: str, rule: str, owner: str, due_in: int = 0) -> TaskToCreate:
    due = TODAY + timedelta(days=due_in)
    return TaskToCreate(
        f"{account}:{rule}:p", account, rule, f"{rule} {account}", "", due, "owner", owner
    )


def changes(tasks: list[TaskToCreate]) -> ChangeSet:
    by_account: dict[str, list[TaskToCreate]] = {}
    for t in tasks:
        by_account.setdefault(t.account_id, []).append(t)
    return ChangeSet(
        tuple(
            AccountChanges(a, f"rec-{a}", tasks=tuple(ts)) for a, ts in sorted(by_account.items())
        )
    )


def keys(cs: ChangeSet) -> set[str]:
    return {t.key for a in cs.accounts for t in a.tasks}


def test_no_budget_configured_leaves_the_plan_as_it_is(store: Store) -> None:
    plan = changes([task("a", "silent", "u1")])
    assert budget_changes(store, "hubspot", plan, parse_rules().tasks, NOW, set()) == (plan, None)


def test_budget_per_owner_by_priority_and_every_deferred_task_later_once(store: Store) -> None:
    policy = parse_rules("tasks: {per_owner_per_day: 2}").tasks
    wall = [
        task("a", "expansion", "u1"),
        task("b", "silent", "u1"),
        task("c", "renewal", "u1", due_in=30),
        task("d", "renewal", "u1", due_in=5),
        task("e", "churn_risk", "u1"),
        task("f", "detractor", "u2"),
    ]
    created: dict[str, date] = {}
    per_day: list[Counter[str]] = []
    for day in range(4):
        now = NOW + timedelta(days=day)
        # the rules ask for the wall on day 0 only and the accounts are not evaluated
        # again (e.g. a webhook reaction for another account): the queue keeps it
        plan = changes(wall if day == 0 else [])
        planned = ChangeSet(
            tuple(
                AccountChanges(
                    a.account_id,
                    a.record_id,
                    tasks=tuple(t for t in a.tasks if t.key not in created),
                )
                for a in plan.accounts
            )
        )
        out, allotted = budget_changes(store, "salesforce", planned, policy, now, set(created))
        assert allotted is not None
        today = keys(out)
        assert not today & set(created)  # never twice
        created.update({k: now.date() for k in today})
        per_day.append(Counter(k.split(":")[0] for k in today))
        # a rerun the same day releases nothing more
        again, _ = budget_changes(store, "salesforce", ChangeSet(), policy, now, set(created))
        assert keys(again) == set()
    order = sorted(created, key=lambda k: (created[k], k))
    assert [created[k] - TODAY for k in order] == [timedelta(days=d) for d in (0, 0, 0, 1, 1, 2)]
    assert {k for k in created if created[k] == TODAY} == {
        "e:churn_risk:p",
        "d:renewal:p",
        "f:detractor:p",
    }
    assert created["c:renewal:p"] == TODAY + timedelta(days=1)  # renewal steps by date
    assert created["b:silent:p"] == TODAY + timedelta(days=1)
    assert created["a:expansion:p"] == TODAY + timedelta(days=2)
    assert len(created) == len(wall)


def test_deferred_report_counts_and_record_of_a_queued_task(store: Store) -> None:
    policy = parse_rules("tasks: {per_owner_per_day: 1}").tasks
    plan = changes([task("a", "silent", "u1"), task("b", "silent", "u1")])
    today, allotted = budget_changes(store, "hubspot", plan, policy, NOW, set())
    assert keys(today) == {"a:silent:p"}
    assert allotted is not None and allotted.report() == {
        "released": 1,
        "released_per_owner": {"u1": 1},
        "deferred": 1,
        "skipped_first_run": 0,
        "expired": 0,
    }
    tomorrow, _ = budget_changes(
        store, "hubspot", ChangeSet(), policy, NOW + timedelta(days=1), {"a:silent:p"}
    )
    (account,) = tomorrow.accounts
    assert (account.account_id, account.record_id) == ("b", "rec-b")
    (queued,) = account.tasks
    assert queued == task("b", "silent", "u1")  # the same task, due date and owner included


def test_first_run_keeps_urgent_and_due_now_and_skips_the_backlog(store: Store) -> None:
    policy = parse_rules("tasks: {first_run: {due_within_days: 1}}").tasks
    plan = changes(
        [
            task("a", "churn_risk", "u1", due_in=2),
            task("b", "renewal", "u1", due_in=1),
            task("c", "expansion", "u1", due_in=14),
        ]
    )
    out, allotted = budget_changes(store, "salesforce", plan, policy, NOW, set())
    assert keys(out) == {"a:churn_risk:p", "b:renewal:p"}
    assert allotted is not None and allotted.skipped == 1
    later, _ = budget_changes(store, "salesforce", plan, policy, NOW + timedelta(days=1), set())
    assert "c:expansion:p" not in keys(later)  # the skipped backlog stays skipped
    other, _ = budget_changes(store, "hubspot", plan, policy, NOW + timedelta(days=1), set())
    assert keys(other) == {"a:churn_risk:p", "b:renewal:p"}  # each CRM has its first run


def test_a_deferred_task_its_rule_no_longer_asks_for_expires(store: Store) -> None:
    policy = parse_rules("tasks: {per_owner_per_day: 1}").tasks
    wall = [task("a", "churn_risk", "u1"), task("b", "silent", "u1"), task("c", "silent", "u1")]
    today, _ = budget_changes(store, "hubspot", changes(wall), policy, NOW, set(), {"a", "b", "c"})
    assert keys(today) == {"a:churn_risk:p"}
    # next day: b's episode ended (its rules no longer ask), c still planned, d not evaluated
    tomorrow = NOW + timedelta(days=1)
    plan = changes([wall[2]])
    out, allotted = budget_changes(
        store, "hubspot", plan, policy, tomorrow, {"a:churn_risk:p"}, {"b", "c"}
    )
    assert keys(out) == {"c:silent:p"}
    assert allotted is not None and allotted.report()["expired"] == 1
    assert allotted.deferred == 0
    later, after = budget_changes(
        store, "hubspot", ChangeSet(), policy, tomorrow + timedelta(days=1), set(), ()
    )
    assert keys(later) == set() and after is not None  # b is out of the queue for good
    assert after.report()["expired"] == 0 and after.deferred == 0
