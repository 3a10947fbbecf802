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
from typing import Any

import pytest
import requests
import yaml

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.connectors.salesforce import open_salesforce
from csbridge.http_vendors import salesforce_client
from csbridge.sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 30
TOKEN = {"Authorization": "Bearer pat-sandbox-token"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    tmp = tmp_path_factory.mktemp("run")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, sandbox.world.now.isoformat()


def planned(config: Path, now: str, target: str, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    argv = ["plan", "--config", str(config), "--format", "json", "--now", now, "--target", target]
    assert main(argv) == 0
    out = capsys.readouterr().out
    return json.loads(out[out.index("{\n") :])


def hubspot_state(sandbox: Sandbox, plan: Any) -> tuple[dict[str, Any], dict[str, int]]:
    base = sandbox.urls["hubspot"]
    ids = [a["record_id"] for a in plan["accounts"]]
    fields = sorted({f["field"] for a in plan["accounts"] for f in a["fields"]} | {"cs_tags"})
    records = {}
    for start in range(0, len(ids), 100):
        body = {"properties": fields, "inputs": [{"id": i} for i in ids[start : start + 100]]}
        answer = requests.post(
            f"{base}/crm/v3/objects/companies/batch/read", json=body, headers=TOKEN, timeout=10
        )
        answer.raise_for_status()
        records.update({r["id"]: r["properties"] for r in answer.json()["results"]})
    keys = [t["key"] for a in plan["accounts"] for t in a["tasks"]]
    counts: dict[str, int] = {}
    for start in range(0, len(keys), 100):
        search = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "csbridge_task_key",
                            "operator": "IN",
                            "values": keys[start : start + 100],
                        }
                    ]
                }
            ],
            "properties": ["csbridge_task_key"],
            "limit": 200,
        }
        answer = requests.post(
            f"{base}/crm/v3/objects/tasks/search", json=search, headers=TOKEN, timeout=10
        )
        answer.raise_for_status()
        for task in answer.json()["results"]:
            key = task["properties"]["csbridge_task_key"]
            counts[key] = counts.get(key, 0) + 1
    return records, counts


def salesforce_state(config: Path, plan: Any) -> tuple[dict[str, Any], dict[str, int]]:
    settings = load_config(config)
    assert settings.sources.salesforce is not None
    sf = open_salesforce(
        settings.sources.salesforce, salesforce_client(settings.sources.salesforce, settings.http)
    )
    fields = sorted({f["field"] for a in plan["accounts"] for f in a["fields"]} | {"CS_Tags__c"})
    rows = sf.query_all(f"SELECT Id, {', '.join(fields)} FROM Account")["records"]
    records = {r["Id"]: r for r in rows}
    tasks = sf.query_all("SELECT Id, WhatId, Csbridge_Key__c FROM Task")["records"]
    counts: dict[str, int] = {}
    for task in tasks:
        if task["Csbridge_Key__c"]:
            counts[task["Csbridge_Key__c"]] = counts.get(task["Csbridge_Key__c"], 0) + 1
    return records, counts


def same(crm_value: object, planned_value: object) -> bool:
    if planned_value is None:
        return crm_value in (None, "")
    if isinstance(planned_value, bool):
        return str(crm_value).lower() == str(planned_value).lower()
    if isinstance(planned_value, int | float):
        return abs(float(str(crm_value)) - float(planned_value)) < 1e-6
    if isinstance(planned_value, str) and planned_value[:4].isdigit() and "T" in planned_value:
        return crm_value is not None  # a datetime: the CRM renders it its own way
    return crm_value == planned_value


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
    for target, plan in plans.items():
        crm = report["crm"][target]
        assert crm["records_updated"] == plan["summary"]["records"] > 0
        assert crm["tasks_created"] == plan["summary"]["tasks"] > 0
        assert crm["failed_records"] == []
        reader = hubspot_state if target == "hubspot" else None
        records, tasks = reader(sandbox, plan) if reader else salesforce_state(config, plan)
        tag_field = "cs_tags" if target == "hubspot" else "CS_Tags__c"
        for account in plan["accounts"]:
            record = records[account["record_id"]]
            for change in account["fields"]:
                assert same(record[change["field"]], change["after"]), (target, change)
            tags = set(str(record.get(tag_field) or "").split(";"))
            assert set(account["tags"]["added"]) <= tags
            for task in account["tasks"]:
                assert tasks.get(task["key"]) == 1, (target, task["key"])
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
