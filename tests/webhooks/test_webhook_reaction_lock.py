"""A reaction that loses its PostgreSQL run lock mid-apply stops writing, stores no
history, and leaves its inbox row to be retried after the lease, as `csbridge run` does;
its model, rules and mappings are read once, when the worker builds it, not per alert.

The lock's backend is terminated (as a failover or a proxy's idle timeout would) while
the reaction's first record update is on its way; the task it planned must then not be
created, since another run may be writing already. The CRM is an in-memory writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
import webhook_signing as signing
from pg_schemas import terminate_lock_holder
from sqlalchemy import select

from csbridge.config import Settings
from csbridge.connectors.protocol import (
    CrmWriter,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
)
from csbridge.models import Account
from csbridge.store.store import Store, open_store
from csbridge.store.tables import runs
from csbridge.sync.history import load_history
from csbridge.webhooks import inbox, worker
from csbridge.webhooks.reaction import ReactionIncompleteError, sync_reaction

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KEY = "acme.com"


@dataclass
class LockKillingCrm:
    """A CRM writer whose record update kills the run lock's connection while `kill`."""

    url: str
    kill: bool = True
    name: str = "salesforce"
    batch_size: int = 200
    bulk: bool = False
    tasks_alongside: bool = False
    search_lag: float = 0.0
    records: dict[str, dict[str, object]] = field(default_factory=dict)
    tasks: dict[str, TaskCreate] = field(default_factory=dict)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        if self.kill:
            assert terminate_lock_holder(self.url) == 1
        for u in updates:
            self.records.setdefault(u.record_id, {}).update(u.fields)
        return [WriteResult(u.record_id, True) for u in updates]

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return self.update_records(updates)

    def read_field(self, record_ids: Sequence[str], name: str) -> dict[str, str | None]:
        return dict.fromkeys(record_ids)

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        self.tasks.update((t.key, t) for t in tasks)
        return [WriteResult(t.key, True, id=f"T-{t.key}") for t in tasks]

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        return {k: f"T-{k}" for k in keys if k in self.tasks}

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        return {k: TaskState(f"T-{k}", completed=False) for k in keys if k in self.tasks}

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        return [WriteResult(u.key, True, id=u.task_id) for u in updates]

    def close(self) -> None:
        pass


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    opened = open_store(postgres_url)
    opened.upsert(
        [Account(source="salesforce", id="001A", name="Acme", domain=KEY, owner_id="005A")]
    )
    yield opened
    opened.close()


def test_a_lost_lock_stops_the_reactions_writes_and_the_row_is_retried(
    store: Store, postgres_url: str
) -> None:
    body = signing.platform_event(
        "gs-lost-1", account=KEY, score=35, previous_score=75, occurred_at=NOW.isoformat()
    )
    with store.engine.begin() as connection:
        inbox.insert_events(connection, "gainsight", [("gs-lost-1", body)], {}, NOW)
    crm = LockKillingCrm(postgres_url)
    settings = Settings(crm={"targets": ["salesforce"]})
    react = sync_reaction(settings, store, writer_factory=lambda *_: crm, clock=lambda: NOW)

    with pytest.raises(ReactionIncompleteError, match="lost the run lock"):
        worker.run_once(store.engine, react, clock=lambda: NOW)
    assert crm.records and not crm.tasks  # the update in flight landed; no task after it
    assert KEY not in load_history(store, NOW)  # no history from a reaction that lost it
    with store.engine.connect() as connection:
        assert connection.execute(select(runs.c.status)).scalars().all() == ["lock_lost"]
    assert [r["status"] for r in inbox.list_rows(store.engine)] == ["claimed"]

    # after the lease the row is claimed again and the rest goes out, once
    crm.kill = False
    later = NOW + timedelta(seconds=settings.webhooks.lease_seconds + 1)
    assert worker.run_once(store.engine, react, clock=lambda: later) is not None
    row = inbox.list_rows(store.engine)[0]
    assert row["status"] == "processed" and "1 task created" in row["error"], row
    assert list(crm.tasks) == [f"{KEY}:churn_risk:{NOW.date().isoformat()}"]
    assert "churn_risk" in load_history(store, later)[KEY].episodes  # stored like a run


def test_the_model_rules_and_mapping_are_read_once_not_per_alert(
    store: Store, postgres_url: str, tmp_path: Path
) -> None:
    """The worker builds its reaction once: the model, rules and mapping files can go
    away afterwards (a config map rolled over) and every alert still reacts."""
    model, rules, mapping = (tmp_path / f"{name}.yaml" for name in ("model", "rules", "map"))
    preset = resources.files("csbridge.scoring.presets").joinpath("seed-5d.yaml")
    model.write_text(preset.read_text())
    rules.write_text("{}")
    mapping.write_text("{}")
    settings = Settings(
        model=str(model),
        rules=str(rules),
        crm={"targets": ["salesforce"], "salesforce": {"mapping": str(mapping)}},
    )
    crm = LockKillingCrm(postgres_url, kill=False)
    react = sync_reaction(settings, store, writer_factory=lambda *_: crm, clock=lambda: NOW)
    for file in (model, rules, mapping):
        file.unlink()
    for n in range(2):
        event = f"gs-{n}"
        body = signing.platform_event(event, account=KEY, score=35, occurred_at=NOW.isoformat())
        with store.engine.begin() as connection:
            inbox.insert_events(connection, "gainsight", [(event, body)], {}, NOW)
        assert worker.run_once(store.engine, react, clock=lambda: NOW) is not None
    assert [r["status"] for r in inbox.list_rows(store.engine)] == ["processed"] * 2
    assert len(crm.tasks) == 1  # the second alert: same episode, same task key


def test_the_fake_crm_has_everything_a_crm_writer_has() -> None:
    """So a new writer method fails here, not deep inside a reaction."""
    wanted = [name for name in dir(CrmWriter) if not name.startswith("_")]
    assert [name for name in wanted if not hasattr(LockKillingCrm, name)] == []
