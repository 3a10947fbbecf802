"""End to end: sandbox → init-crm → `csbridge run` on both CRMs, read back through the
CRMs' own APIs (not our ledger); a second run on unchanged data writes nothing.

What the rules say is taken from `csbridge plan` before the run (JSON): every planned
field value must be on the CRM record afterwards, every planned tag in its tags field,
and every planned task key must exist exactly once as a task on that account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from crm_readback import hubspot_state, planned, salesforce_state, same

from csbridge.cli import main
from csbridge.models import Activity
from csbridge.scoring.activity_signals import engaging
from csbridge.store.store import open_store
from csbridge_sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 30


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    tmp = tmp_path_factory.mktemp("run")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, sandbox.world.now.isoformat()


def test_run_writes_what_the_rules_say_and_a_rerun_writes_nothing(
    prepared: tuple[Sandbox, Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, config, now = prepared
    report_path = tmp_path / "report.json"
    for vendor in ("salesforce", "hubspot"):
        sandbox.control(vendor).reset_stats()
    assert main(["pull", "--config", str(config)]) == 0
    plans = {t: planned(config, now, t, capsys) for t in ("salesforce", "hubspot")}
    assert main(["run", "--config", str(config), "--now", now, "--report", str(report_path)]) == 0
    assert "All writes landed." in capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["accounts_scored"] > 0
    assert sum(report["bands"].values()) >= report["accounts_scored"]
    assert sum(row["accounts"] for row in report["csm_load"]) == sum(report["bands"].values())
    for target, plan in plans.items():
        crm = report["crm"][target]
        assert crm["records_updated"] == plan["summary"]["records"] > 0
        assert crm["tasks_created"] == plan["summary"]["tasks"] > 0
        assert crm["failed_records"] == []
        reader = hubspot_state if target == "hubspot" else None
        records, tasks = reader(sandbox, plan) if reader else salesforce_state(config, plan)
        tag_field = "cs_tags" if target == "hubspot" else "CS_Tags__c"
        segment_field = "cs_segment" if target == "hubspot" else "CS_Segment__c"
        for account in plan["accounts"]:
            record = records[account["record_id"]]
            for change in account["fields"]:
                assert same(record[change["field"]], change["after"]), (target, change)
            tags = set(str(record.get(tag_field) or "").split(";"))
            assert set(account["tags"]["added"]) <= tags
            for task in account["tasks"]:
                assert tasks.get(task["key"]) == 1, (target, task["key"])
            # every sandbox account has an ARR, so every one gets a segment (ARR tier fallback)
            assert record[segment_field], (target, account["record_id"])
        assert report["api_calls"][target] > 0

    # Second run, nothing changed: no write call reaches either CRM, nothing is created.
    for vendor in ("salesforce", "hubspot"):
        sandbox.control(vendor).reset_stats()
    assert main(["run", "--config", str(config), "--now", now, "--report", str(report_path)]) == 0
    again = json.loads(report_path.read_text())
    for target in ("salesforce", "hubspot"):
        assert sandbox.control(target).stats()["writes"] == 0, target
        assert again["crm"][target]["records_updated"] == 0
        assert again["crm"][target]["tasks_created"] == 0
    # the second run pulled the Salesforce tasks the first one created: keyed, so they
    # are stored as csbridge's own and never count as the customer engaging
    store = open_store(yaml.safe_load(config.read_text())["database_url"])
    pulled = store.load(Activity, source="salesforce")
    store.close()
    ours = [a for a in pulled if a.csbridge_key]
    assert len(ours) == report["crm"]["salesforce"]["tasks_created"]
    assert not {a.id for a in ours} & {a.id for a in engaging(pulled)}
