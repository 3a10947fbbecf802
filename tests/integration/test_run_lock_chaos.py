"""Chaos on PostgreSQL: a real `csbridge run` (child process, real SDKs over real HTTP
against the sandbox) loses its run lock mid-apply, and a second run starts meanwhile.

The backend holding the child's advisory lock is terminated (as a failover or a
proxy's idle timeout would) while Salesforce holds back the answer to the child's first
task batch, which it has committed. The second run takes the lock and writes
everything. The child, once its answer arrives (or its read timeout ends the wait),
must check the lock before its next batch, stop, report `stopped: lock_lost` and print
one clear line. Read back through both CRMs' APIs: every planned task key exists
exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pg_schemas import terminate_lock_holder
from test_run_faults import (
    HELD,
    SF_COLLECTIONS,
    Capsys,
    Setup,
    assert_converged,
    kill,
    landed,
    pulled_plans,
    wait_for,
)

from csbridge.cli import main
from csbridge_sandbox.runner import run_sandbox

READ_TIMEOUT = 5.0  # how long the child waits for its held answer before it gives up


@pytest.fixture
def setup(tmp_path: Path, postgres_url: str) -> Iterator[Setup]:
    """As test_run_faults' setup, on PostgreSQL, with Salesforce batches of 4."""
    with run_sandbox(port_base=0, accounts=12, seed=5, rate_limits="off") as sandbox:
        ready = Setup(sandbox, sandbox.write_config(tmp_path / "csbridge.yaml"), "", tmp_path)
        ready.now = sandbox.world.now.isoformat()
        ready.configure(
            {
                "sources.mixpanel": {"queries_per_second": 1000},
                "sources.zendesk": {"requests_per_minute": 100_000},
                "crm.hubspot": {"task_lookup_delay": 0},
                "crm.salesforce": {"batch_size": 4},
                "http": {
                    "max_retry_seconds": 60,
                    "retry_after_cap": 1,
                    "read_timeout": READ_TIMEOUT,
                },
            }
        )
        data = yaml.safe_load(ready.config.read_text())
        data["database_url"] = postgres_url
        ready.config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(ready.config)]) == 0
        yield ready


def test_a_run_that_loses_its_lock_stops_and_no_task_is_created_twice(
    setup: Setup, postgres_url: str, capsys: Capsys
) -> None:
    plans = pulled_plans(setup, capsys)
    plan = plans["salesforce"]
    assert plan["summary"]["tasks"] > 8  # at least three task batches of 4
    salesforce = setup.sandbox.control("salesforce")
    salesforce.arm(kind="timeout_after_commit", delay=HELD, match=f"POST {SF_COLLECTIONS}")
    report_path = setup.tmp / "child-report.json"
    argv = ["run", "--config", str(setup.config), "--now", setup.now]
    log_path = setup.tmp / "child.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "csbridge.cli", *argv, "--report", str(report_path)],
            stdout=log,
            stderr=log,
        )
    try:
        # the child's first task batch is in Salesforce, its answer held back
        wait_for(
            lambda: (
                salesforce.armed() == [] and sum(landed(setup, "salesforce", plan)[1].values()) == 4
            ),
            child,
        )
        assert terminate_lock_holder(postgres_url) == 1

        code, report, out = setup.run(capsys)  # the second run takes the free lock

        assert code == 0, out
        assert report["crm"]["salesforce"]["tasks_found_existing"] == 4
        child.wait(timeout=60)
    finally:
        kill(child)
    output = log_path.read_text()
    assert child.returncode == 1, output
    assert "csbridge: error: lost the run lock" in output and "Traceback" not in output
    child_report = json.loads(report_path.read_text())
    assert child_report["stopped"] == "lock_lost" and not child_report["ok"]
    assert "hubspot" not in child_report["crm"]  # stopped before the next CRM
    for target in plans:  # no task key twice in either CRM, every planned one there
        _, tasks = landed(setup, target, plans[target])
        assert max(tasks.values()) == 1, (target, tasks)
    assert_converged(setup, plans, capsys)
