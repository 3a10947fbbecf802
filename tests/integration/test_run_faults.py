"""`csbridge run` under the sandbox's fault injection (real HTTP, real SDKs, a real child
process for the kills): 429 storms and 5xx, a timeout after a task create committed, the
process killed between the CRM write and the ledger commit and mid-batch, a record
rejected by a validation rule, and the Salesforce quota guard.

"Converged" (`assert_converged`) is read back through each CRM's own API against the plan
made before the faults: every planned field value is on its record, every planned tag is
in the tags field once, every planned task key exists exactly once; and a new plan has no
record and no task left to write.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from crm_readback import TAG_FIELDS, crm_state, planned, same

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox

TARGETS = ("salesforce", "hubspot")
SF_COLLECTIONS = "/services/data/v59.0/composite/sobjects"
HS_UPDATE = "POST /crm/v3/objects/companies/batch/update"
HS_TASKS = "POST /crm/v3/objects/tasks/batch/create"
HELD = 120  # seconds a committed answer is held back while the child is killed
Capsys = pytest.CaptureFixture[str]


@dataclass
class Setup:
    sandbox: Sandbox
    config: Path
    now: str
    tmp: Path

    def configure(self, changes: dict[str, Any]) -> None:
        """Merge `changes` (nested sections) into the YAML config."""
        data = yaml.safe_load(self.config.read_text())
        for section, values in changes.items():
            node = data
            for part in section.split("."):
                node = node.setdefault(part, {})
            node.update(values)
        self.config.write_text(yaml.safe_dump(data))

    def plans(self, capsys: Capsys) -> dict[str, Any]:
        return {t: planned(self.config, self.now, t, capsys) for t in TARGETS}

    def run(self, capsys: Capsys) -> tuple[int, dict[str, Any], str]:
        """`csbridge run` in process: exit code, JSON report, terminal output."""
        path = self.tmp / "report.json"
        capsys.readouterr()
        code = main(["run", "--config", str(self.config), "--now", self.now, "--report", str(path)])
        captured = capsys.readouterr()
        return code, json.loads(path.read_text()), captured.out + captured.err

    def child(self) -> subprocess.Popen[bytes]:
        """`csbridge run` in a child process (to be killed)."""
        argv = ["-m", "csbridge.cli", "run", "--config", str(self.config), "--now", self.now]
        log = (self.tmp / "child.log").open("ab")
        return subprocess.Popen([sys.executable, *argv], stdout=log, stderr=log)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A fresh 12-account sandbox, its config (fast client limits, no search-lag wait, short
    retry bounds) and the CRM fields made by init-crm."""
    with run_sandbox(port_base=0, accounts=12, seed=5, rate_limits="off") as sandbox:
        ready = Setup(sandbox, sandbox.write_config(tmp_path / "csbridge.yaml"), "", tmp_path)
        ready.now = sandbox.world.now.isoformat()
        ready.configure(
            {
                "sources.mixpanel": {"queries_per_second": 1000},
                "sources.zendesk": {"requests_per_minute": 100_000},
                "crm.hubspot": {"task_lookup_delay": 0},
                "http": {"max_retry_seconds": 60, "retry_after_cap": 1},
            }
        )
        data = yaml.safe_load(ready.config.read_text())
        data["database_url"] = f"sqlite:///{tmp_path / 'state.db'}"
        ready.config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(ready.config)]) == 0
        yield ready


def pulled_plans(setup: Setup, capsys: Capsys) -> dict[str, Any]:
    assert main(["pull", "--config", str(setup.config)]) == 0
    plans = setup.plans(capsys)
    for plan in plans.values():
        assert plan["summary"]["records"] == 12 and plan["summary"]["tasks"] > 8
    return plans


def landed(setup: Setup, target: str, plan: Any) -> tuple[set[str], dict[str, int]]:
    """Record ids whose planned fields are all on the CRM record; tasks per planned key."""
    records, tasks = crm_state(setup.sandbox, setup.config, target, plan)
    done = {
        a["record_id"]
        for a in plan["accounts"]
        if all(same(records[a["record_id"]][f["field"]], f["after"]) for f in a["fields"])
    }
    return done, tasks


def assert_converged(setup: Setup, plans: dict[str, Any], capsys: Capsys) -> None:
    for target, plan in plans.items():
        records, tasks = crm_state(setup.sandbox, setup.config, target, plan)
        for account in plan["accounts"]:
            record = records[account["record_id"]]
            for change in account["fields"]:
                assert same(record[change["field"]], change["after"]), (target, change)
            tags = [t for t in str(record.get(TAG_FIELDS[target]) or "").split(";") if t]
            assert set(account["tags"]["added"]) <= set(tags) and len(tags) == len(set(tags))
            for task in account["tasks"]:
                assert tasks.get(task["key"]) == 1, (target, task["key"], tasks.get(task["key"]))
        again = planned(setup.config, setup.now, target, capsys)["summary"]
        assert again["records"] == 0 and again["tasks"] == 0, (target, again)


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[bytes]) -> None:
    """Poll until `condition` holds; fails if the child exits first or after 60 s."""
    deadline = time.monotonic() + 60
    while not condition():
        assert child.poll() is None, f"the child exited ({child.returncode}) before the fault"
        assert time.monotonic() < deadline, "the fault never fired"
        time.sleep(0.05)


def kill(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child if it still runs (also when a test fails while it does)."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)


def test_429_storm_and_5xx_during_apply_every_write_lands(
    setup: Setup, capsys: Capsys, sleeps: list[float]
) -> None:
    """Nothing lost: with HubSpot answering 429 four times to the company batch update and
    to the task batch create, and Salesforce 503 to its Collections updates and creates
    (then a 500 on a create, whose outcome is unknown), the run exits 0 and every planned
    field, tag and task is in each CRM exactly once."""
    plans = pulled_plans(setup, capsys)
    hubspot, salesforce = setup.sandbox.control("hubspot"), setup.sandbox.control("salesforce")
    hubspot.arm(kind="status", status=429, count=4, match=HS_UPDATE)
    hubspot.arm(kind="status", status=429, count=4, match=HS_TASKS)
    salesforce.arm(kind="status", status=503, count=3, match=f"PATCH {SF_COLLECTIONS}")
    salesforce.arm(kind="status", status=503, count=2, match=f"POST {SF_COLLECTIONS}")
    salesforce.arm(kind="status", status=500, count=1, match=f"POST {SF_COLLECTIONS}")
    for control in (hubspot, salesforce):
        control.reset_stats()

    code, report, out = setup.run(capsys)

    assert code == 0 and report["ok"], out
    assert hubspot.armed() == [] and salesforce.armed() == []  # every fault fired
    assert hubspot.stats()["by_status"]["429"] == 8
    assert salesforce.stats()["by_status"]["503"] == 5
    assert salesforce.stats()["by_status"]["500"] == 1
    assert len(sleeps) >= 8 + 5  # each refusal was waited out before the resend
    for target, plan in plans.items():
        crm = report["crm"][target]
        assert crm["records_updated"] == 12 and crm["failed_records"] == []
        assert crm["tasks_created"] == plan["summary"]["tasks"]
    assert_converged(setup, plans, capsys)


def test_timeout_after_a_task_create_committed_finds_the_task_not_a_second_one(
    setup: Setup, capsys: Capsys
) -> None:
    """Nothing lost, nothing doubled: each CRM commits the task batch but its answer never
    arrives within the 1 s read timeout; the run looks the keys up, adopts the tasks (none
    created twice, the create request sent once) and exits 0."""
    setup.configure({"http": {"read_timeout": 1.0}})
    plans = pulled_plans(setup, capsys)
    hubspot, salesforce = setup.sandbox.control("hubspot"), setup.sandbox.control("salesforce")
    hubspot.arm(kind="timeout_after_commit", delay=5, match=HS_TASKS)
    salesforce.arm(kind="timeout_after_commit", delay=5, match=f"POST {SF_COLLECTIONS}")
    for control in (hubspot, salesforce):
        control.reset_stats()

    code, report, out = setup.run(capsys)

    assert code == 0 and report["ok"], out
    assert hubspot.armed() == [] and salesforce.armed() == []
    assert hubspot.stats()["by_route"][HS_TASKS] == 1
    assert salesforce.stats()["by_route"][f"POST {SF_COLLECTIONS}"] == 1
    for target, plan in plans.items():
        crm = report["crm"][target]
        assert crm["tasks_found_existing"] == plan["summary"]["tasks"], (target, crm)
        assert crm["tasks_created"] == 0
    assert_converged(setup, plans, capsys)


def test_killed_between_the_crm_write_and_the_ledger_commit_then_rerun(
    setup: Setup, capsys: Capsys
) -> None:
    """Nothing lost, nothing doubled: the child is SIGKILLed while HubSpot holds back the
    answer to a task batch it has committed (the ledger still says pending); the rerun
    finds every one of those tasks by its key, creates none, and the CRM converges."""
    plans = pulled_plans(setup, capsys)
    plan = plans["hubspot"]
    tasks = plan["summary"]["tasks"]
    hubspot = setup.sandbox.control("hubspot")
    hubspot.arm(kind="timeout_after_commit", delay=HELD, match=HS_TASKS)
    child = setup.child()
    try:
        wait_for(
            lambda: sum(landed(setup, "hubspot", plans["hubspot"])[1].values()) == tasks, child
        )
    finally:
        kill(child)
    assert child.returncode == -signal.SIGKILL
    assert planned(setup.config, setup.now, "hubspot", capsys)["summary"]["tasks"] == tasks
    hubspot.clear()

    code, report, out = setup.run(capsys)

    assert code == 0, out
    crm = report["crm"]["hubspot"]
    assert crm["tasks_found_existing"] == tasks and crm["tasks_created"] == 0
    assert report["crm"]["salesforce"]["records_updated"] == 0  # the child had finished it
    assert_converged(setup, plans, capsys)


def test_killed_mid_batch_then_rerun(setup: Setup, capsys: Capsys) -> None:
    """Nothing lost, nothing doubled, with Salesforce batches of 4: the child is killed
    while the 2nd record batch is committed but unanswered, a second child while the 2nd
    task batch is; the rerun rewrites only unrecorded records, adopts the 4 held tasks,
    creates the rest once, and both CRMs converge."""
    setup.configure({"crm.salesforce": {"batch_size": 4}})
    plans = pulled_plans(setup, capsys)
    plan = plans["salesforce"]
    salesforce = setup.sandbox.control("salesforce")
    for method, ready in (
        ("PATCH", lambda: len(landed(setup, "salesforce", plan)[0]) == 8),
        ("POST", lambda: sum(landed(setup, "salesforce", plan)[1].values()) == 8),
    ):
        fault = {"kind": "timeout_after_commit", "match": f"{method} {SF_COLLECTIONS}"}
        salesforce.arm_all([{**fault, "delay": 0}, {**fault, "delay": HELD}])
        child = setup.child()
        try:
            wait_for(lambda ready=ready: salesforce.armed() == [] and ready(), child)
        finally:
            kill(child)
        assert child.returncode == -signal.SIGKILL
    assert max(landed(setup, "salesforce", plan)[1].values()) == 1

    code, report, out = setup.run(capsys)

    assert code == 0, out
    crm = report["crm"]["salesforce"]
    assert crm["records_updated"] == 0  # the second child rewrote and recorded them
    assert crm["tasks_found_existing"] == 4
    assert crm["tasks_created"] == plan["summary"]["tasks"] - 8
    assert_converged(setup, plans, capsys)


def test_rejected_record_is_reported_with_its_reason_then_written_next_run(
    setup: Setup, capsys: Capsys
) -> None:
    """Nothing lost: a record refused by a validation rule fails alone (exit 1, listed
    under crm.<name>.failed_records with the CRM's reason, the other 11 land); once the
    rule is gone the next run writes it and exits 0."""
    plans = pulled_plans(setup, capsys)
    rejected = {t: plans[t]["accounts"][0] for t in TARGETS}
    reason = "Renewal fields are locked by finance"
    setup.sandbox.control("hubspot").arm(
        kind="reject_record",
        object="companies",
        id=rejected["hubspot"]["record_id"],
        message=reason,
    )
    setup.sandbox.control("salesforce").arm(
        kind="reject_record",
        object="Account",
        id=rejected["salesforce"]["record_id"],
        message=reason,
    )

    code, report, out = setup.run(capsys)

    assert code == 1 and not report["ok"]
    assert "Some writes did not land" in out
    for target, plan in plans.items():
        crm, account = report["crm"][target], rejected[target]
        assert [(f["kind"], f["ref"]) for f in crm["failed_records"]] == [
            ("record", account["record_id"])
        ]
        assert reason in crm["failed_records"][0]["reason"]
        assert crm["records_updated"] == 11
        done, _ = landed(setup, target, plan)
        assert done == {a["record_id"] for a in plan["accounts"]} - {account["record_id"]}
        setup.sandbox.control(target).clear()

    code, report, out = setup.run(capsys)

    assert code == 0, out
    for target in TARGETS:
        assert report["crm"][target]["records_updated"] == 1
        assert report["crm"][target]["failed_records"] == []
    assert_converged(setup, plans, capsys)


def test_quota_guard_stops_cleanly_then_the_next_run_resumes(setup: Setup, capsys: Capsys) -> None:
    """Nothing lost: the org's API counter is set 4 calls short of csbridge's share (0.5 of
    1000) once the run's pull is done (room for the apply's reads and some of its 3
    batches); the apply stops before the share is passed (exit 1, `stopped` says quota,
    the unsent records listed, no traceback, the org never refuses a call); with the
    counter lowered the next run writes the rest and exits 0."""
    setup.configure({"crm.salesforce": {"batch_size": 4}})
    plans = pulled_plans(setup, capsys)
    salesforce = setup.sandbox.control("salesforce")
    usage = salesforce.hooks.quota
    assert usage is not None
    before = usage.used
    assert main(["pull", "--config", str(setup.config)]) == 0
    pull_calls = usage.used - before  # what the run's own (incremental) pull will use
    salesforce.arm(kind="api_usage", used=500 - pull_calls - 4, max=1000)
    salesforce.reset_stats()

    code, report, out = setup.run(capsys)

    assert code == 1, out
    assert "Traceback" not in out and not report["pull"]["stopped"]
    crm = report["crm"]["salesforce"]
    assert "quota" in crm["stopped"]
    assert 0 < crm["records_updated"] < 12 and crm["tasks_created"] == 0
    unsent = [f for f in crm["failed_records"] if "quota" in f["reason"]]
    assert len(unsent) == 12 - crm["records_updated"]
    assert "403" not in salesforce.stats()["by_status"]  # stopped before the org refused
    assert usage.used <= 500
    assert report["crm"]["hubspot"]["failed_records"] == []

    salesforce.arm(kind="api_usage", used=10, max=1000)  # a new day
    code, report, out = setup.run(capsys)

    assert code == 0, out
    crm = report["crm"]["salesforce"]
    assert crm["stopped"] is None and crm["records_updated"] == len(unsent)
    assert crm["tasks_created"] == plans["salesforce"]["summary"]["tasks"]
    assert_converged(setup, plans, capsys)
