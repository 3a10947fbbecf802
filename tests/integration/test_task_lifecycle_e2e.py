"""End to end: csbridge reads its own tasks back from both sandbox CRMs (issue 18 part 3).

A task completed in the CRM through the CRM's own API (Salesforce Task Status
'Completed', HubSpot hs_task_status 'COMPLETED') is recorded by the next run, with who
and when, exactly once; the open tasks are looked up by key, the completed ones not again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml
from crm_readback import TOKEN, task_owners
from sqlalchemy import select

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.store.store import open_store
from csbridge.store.tables import task_keys, task_outcomes
from csbridge_sandbox.runner import Sandbox, run_sandbox

TARGETS = ("salesforce", "hubspot")


@pytest.fixture(scope="module")
def sandbox_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    with run_sandbox(port_base=0, accounts=20, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config


def complete(sandbox: Sandbox, config: Path, target: str, task_id: str) -> None:
    """Mark one task completed through the CRM's own API, as a CSM's click would."""
    if target == "hubspot":
        answer = requests.patch(
            f"{sandbox.urls['hubspot']}/crm/v3/objects/tasks/{task_id}",
            json={"properties": {"hs_task_status": "COMPLETED"}},
            headers=TOKEN,
            timeout=10,
        )
        answer.raise_for_status()
        return
    settings = load_config(config)
    assert settings.sources.salesforce is not None
    sf = open_salesforce(
        settings.sources.salesforce, salesforce_client(settings.sources.salesforce, settings.http)
    )
    sf.Task.update(task_id, {"Status": "Completed"})


def test_a_task_completed_in_the_crm_is_recorded_by_the_next_run_once(
    sandbox_config: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    sandbox, config = sandbox_config
    start = sandbox.world.now
    report = tmp_path / "report.json"

    def run(day: int) -> dict[str, dict[str, int]]:
        now = (start + timedelta(days=day)).isoformat()
        assert main(["run", "--config", str(config), "--now", now, "--report", str(report)]) == 0
        crm: dict[str, dict[str, int]] = json.loads(report.read_text())["crm"]
        return crm

    first = run(0)
    assert all(first[t]["tasks_completed"] == 0 for t in TARGETS)
    store = open_store(yaml.safe_load(config.read_text())["database_url"])
    chosen: dict[str, tuple[str, str]] = {}
    with store.engine.connect() as conn:
        for target in TARGETS:
            query = select(task_keys.c.key, task_keys.c.task_id).where(
                task_keys.c.target == target, task_keys.c.status == "created"
            )
            key, task_id = conn.execute(query.order_by(task_keys.c.key).limit(1)).one()
            chosen[target] = (key, task_id)
    for target, (_, task_id) in chosen.items():
        complete(sandbox, config, target, task_id)

    second = run(1)
    assert {t: second[t]["tasks_completed"] for t in TARGETS} == {t: 1 for t in TARGETS}
    with store.engine.connect() as conn:
        rows = {r.target: r for r in conn.execute(select(task_outcomes))}
    for target, (key, task_id) in chosen.items():
        row = rows[target]
        assert (row.key, row.task_id) == (key, task_id)
        assert [row.completed_by] == task_owners(sandbox, config, target)[key]  # who
        assert row.completed_at is not None  # when
    third = run(1)
    assert all(third[t]["tasks_completed"] == 0 for t in TARGETS)  # recorded once
    store.engine.dispose()
