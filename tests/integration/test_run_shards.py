"""`csbridge run --shard I/N` on PostgreSQL: after one pull, two shards run at the same
time (a real child process and an in-process run, real SDKs over real HTTP against the
sandbox), neither refused by the other's lock; together they score every customer
exactly once, and, read back through both CRMs' own APIs, every planned field, tag and
task is there with no task key twice.

The child's first Salesforce write is committed but its answer held back for a few
seconds, so the child is mid-run, holding its locks, while the second shard starts; the
second shard checks, once it holds its own locks, that the child still holds its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pg_schemas import lock_holders
from sqlalchemy import select
from test_run_faults import SF_COLLECTIONS, Capsys, Setup, assert_converged, kill, wait_for

import csbridge.commands.run as run_command
from csbridge.cli import main
from csbridge.store.store import open_store
from csbridge.store.tables import score_history
from csbridge_sandbox.runner import run_sandbox

HOLD = 8  # seconds Salesforce holds its answer to the child's first write (read timeout 60)


@pytest.fixture
def setup(tmp_path: Path, postgres_url: str) -> Iterator[Setup]:
    with run_sandbox(port_base=0, accounts=16, seed=5, rate_limits="off") as sandbox:
        ready = Setup(sandbox, sandbox.write_config(tmp_path / "csbridge.yaml"), "", tmp_path)
        ready.now = sandbox.world.now.isoformat()
        ready.configure(
            {
                "sources.mixpanel": {"queries_per_second": 1000},
                "sources.zendesk": {"requests_per_minute": 100_000},
                "crm.hubspot": {"task_lookup_delay": 0},
            }
        )
        data = yaml.safe_load(ready.config.read_text())
        data["database_url"] = postgres_url
        ready.config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(ready.config)]) == 0
        yield ready


def shard_argv(setup: Setup, shard: str, report: Path) -> list[str]:
    """`csbridge run` of one shard, after a pull, with its JSON report."""
    return [
        *("run", "--config", str(setup.config), "--now", setup.now),
        *("--shard", shard, "--no-pull", "--report", str(report)),
    ]


def test_two_shards_run_side_by_side_and_cover_every_customer_once(
    setup: Setup, postgres_url: str, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["pull", "--config", str(setup.config)]) == 0
    plans = setup.plans(capsys)
    customers = {a["account_id"] for plan in plans.values() for a in plan["accounts"]}
    assert len(customers) == 16

    salesforce = setup.sandbox.control("salesforce")
    salesforce.arm(kind="timeout_after_commit", delay=HOLD, match=f"PATCH {SF_COLLECTIONS}")
    child_report = setup.tmp / "shard-1.json"
    argv = shard_argv(setup, "1/2", child_report)
    with (setup.tmp / "child.log").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "csbridge.cli", *argv], stdout=log, stderr=log
        )
    seen: list[tuple[int, int]] = []
    real_run_sync = run_command.run_sync

    def second_shard(*args: Any, **kwargs: Any) -> Any:
        # inside the second shard's locks: both shards share the store's lock, and
        # the child still holds its own shard's lock
        seen.append(
            (lock_holders(postgres_url, "run"), lock_holders(postgres_url, "run-shard-1-of-2"))
        )
        return real_run_sync(*args, **kwargs)

    monkeypatch.setattr(run_command, "run_sync", second_shard)
    try:
        wait_for(lambda: salesforce.armed() == [], child)  # the child is mid-write
        report_path = setup.tmp / "shard-2.json"
        assert main(shard_argv(setup, "2/2", report_path)) == 0, capsys.readouterr()
        assert seen == [(2, 1)]
        assert child.wait(timeout=120) == 0, (setup.tmp / "child.log").read_text()
    finally:
        kill(child)

    reports = [json.loads(p.read_text()) for p in (child_report, report_path)]
    assert [r["shard"] for r in reports] == ["1/2", "2/2"] and all(r["ok"] for r in reports)
    assert all(r["pull"] == {} for r in reports)  # neither shard pulled
    scored = [history_keys(postgres_url, r["run_id"]) for r in reports]
    assert scored[0] and scored[1]  # 16 customers: both shards have some
    assert scored[0] | scored[1] == customers and not scored[0] & scored[1]
    assert_converged(setup, plans, capsys)  # every planned write once, nothing left


def history_keys(url: str, run_id: str) -> set[str]:
    """The customers a run stored a score for."""
    store = open_store(url, apply_migrations=False)
    try:
        with store.engine.connect() as conn:
            query = select(score_history.c.account_key).where(score_history.c.run_id == run_id)
            return set(conn.execute(query).scalars())
    finally:
        store.close()
