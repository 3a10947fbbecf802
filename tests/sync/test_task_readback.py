"""Reading csbridge's tasks back: the whole portfolio's on a run, only its account's on a
webhook reaction (a reaction per alert must not cost the whole portfolio's queries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from csbridge.connectors.protocol import TaskState
from csbridge.store.store import open_store
from csbridge.store.tables import task_keys, task_outcomes
from csbridge.sync.task_readback import read_back

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

    def __init__(self) -> None:
        self.asked: list[str] = []

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        self.asked += keys
        return {k: TaskState(id=f"00T{i}", completed=True) for i, k in enumerate(keys)}


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
