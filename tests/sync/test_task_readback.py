"""Reading csbridge's tasks back: the whole portfolio's on a run, only its account's on a
webhook reaction (a reaction per alert must not cost the whole portfolio's queries), only
its customers' on a shard of a sharded run (plus the keys whose account cannot be read)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from csbridge.connectors.protocol import TaskState
from csbridge.scoring.rules_context import task_key
from csbridge.store.store import Store, open_store
from csbridge.store.tables import task_keys, task_outcomes
from csbridge.sync.shard import Shard
from csbridge.sync.task_readback import read_back
from csbridge.text_fit import fitted_prefix

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
KEYS = [
    "acme.com:churn_risk:2026-11-02",
    "acme.com:silent:2026-10-01:d7",
    "acme.com.evil.io:promoter:2026Q4",  # another account that starts like acme.com
    "urn:crm:42:detractor:2026-11-20",  # an account key holding colons
    "beta.io:renewal:2027-03-01:d-90",
]


class Writer:
    """A CRM writer that records which keys it was asked about; every task completed."""

    name = "salesforce"

    def __init__(self, completed: bool = True) -> None:
        self.asked: list[str] = []
        self.completed = completed

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        self.asked += keys
        return {k: TaskState(id=f"00T{i}", completed=self.completed) for i, k in enumerate(keys)}


def created(store: Store, keys: Sequence[str]) -> None:
    """`keys` in the ledger as tasks created in Salesforce."""
    rows = [
        {
            "key": k,
            "target": "salesforce",
            "status": "created",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for k in keys
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(task_keys), rows)


def test_a_reaction_reads_back_only_its_accounts_tasks(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(
                insert(task_keys),
                [
                    {
                        "key": k,
                        "target": "salesforce",
                        "status": "created",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for k in KEYS
                ],
            )
        reaction = Writer()
        seen = read_back(store, reaction, NOW, {"acme.com", "urn:crm:42"})  # type: ignore[arg-type]
        assert sorted(reaction.asked) == sorted([KEYS[0], KEYS[1], KEYS[3]])
        assert seen.completed == 3
        run = Writer()
        read_back(store, run, NOW)  # type: ignore[arg-type]
        assert sorted(run.asked) == sorted([KEYS[2], KEYS[4]])  # the rest, already recorded
        with store.engine.connect() as conn:
            recorded = set(conn.execute(select(task_outcomes.c.key)).scalars())
        assert recorded == set(KEYS)
    finally:
        store.close()


def test_each_shard_reads_back_its_customers_tasks_and_every_shard_the_unreadable_ones(
    tmp_path: Path,
) -> None:
    """Of a portfolio's open tasks, shard I of 2 asks the CRM for those whose key names one
    of its customers, a hashed key by its readable start too; a hashed key whose start
    shows no account and rule is asked by both. Together they ask for every key."""
    customers = [f"customer-{n}.example.com" for n in range(12)] + ["urn:crm:42"]
    readable = task_key("r" * 200 + ".example.com", "churn_risk", "2026-11-02:" + "s" * 60)
    unreadable = task_key("u" * 300 + ".example.com", "silent", "2026-10-01")
    assert fitted_prefix(readable) and fitted_prefix(unreadable)  # both shortened
    keys = [task_key(c, "churn_risk", "2026-11-02") for c in customers] + [
        task_key(c, "silent", "2026-10-01:d7") for c in customers
    ]
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        created(store, [*keys, readable, unreadable])
        asked = {}
        for index in (1, 2):
            shard, writer = Shard(index, 2), Writer(completed=False)
            seen = read_back(store, writer, NOW, shard=shard)  # type: ignore[arg-type]
            assert sorted(seen.open) == sorted(writer.asked)
            asked[index] = set(writer.asked)
            owned = {c for c in customers if shard.owns(c)}
            assert 0 < len(owned) < len(customers)  # both shards have some
            assert asked[index] - {readable, unreadable} == {
                k for k in keys if any(k.startswith(f"{c}:") for c in owned)
            }
            assert (readable in asked[index]) == shard.owns("r" * 200 + ".example.com")
        assert asked[1] | asked[2] == {*keys, readable, unreadable}
        assert asked[1] & asked[2] == {unreadable}
    finally:
        store.close()


def test_a_completed_task_two_shards_record_at_once_is_stored_once(tmp_path: Path) -> None:
    """Both shards read an unreadable key back; the one that records the completion second
    (the first recorded it after this one listed its open keys) does not fail."""
    unreadable = task_key("u" * 300 + ".example.com", "silent", "2026-10-01")
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")

    class RecordedMeanwhile(Writer):
        def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
            row = {"target": "salesforce", "key": unreadable, "task_id": "00T0", "recorded_at": NOW}
            with store.engine.begin() as conn:  # the other shard, in between
                conn.execute(insert(task_outcomes), [row])
            return super().task_states(keys)

    try:
        created(store, [unreadable])
        writer = RecordedMeanwhile()
        seen = read_back(store, writer, NOW, shard=Shard(2, 2))  # type: ignore[arg-type]
        assert writer.asked == [unreadable] and seen.completed == 1
        with store.engine.connect() as conn:
            assert list(conn.execute(select(task_outcomes.c.key)).scalars()) == [unreadable]
    finally:
        store.close()
