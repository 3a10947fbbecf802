"""End to end: playbook sequences driven day by day with `csbridge run --now` on the
sandbox, read back through both CRMs' own APIs.

Each day, the tasks `csbridge plan` announces are created that day in both CRMs, each
key exactly once across all the days (a step is never created twice, an earlier day's
task never again); the steps of running episodes appear on later days; the tasks whose
assignee is `cs_manager` are owned by the manager the rules file names for that CRM.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from crm_readback import planned, task_owners

from csbridge.cli import main
from csbridge.sandbox.runner import Sandbox, run_sandbox
from csbridge.scoring.rules_config import load_rules

ACCOUNTS = 30
DAYS = 4
TARGETS = ("salesforce", "hubspot")
RULES = load_rules().rules
STEPS = {
    f":{step.name}"
    for rule in (RULES.detractor, RULES.churn_risk, RULES.silent, RULES.onboarding)
    for step in rule.steps
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("playbooks")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=5, rate_limits="off") as sandbox:
        manager = sandbox.world.manager
        rules = tmp / "rules.yaml"
        rules.write_text(
            yaml.safe_dump(
                {
                    "assignees": {
                        "salesforce": {"default_cs_manager": manager.salesforce_id},
                        "hubspot": {"default_cs_manager": manager.hubspot_id},
                    }
                }
            )
        )
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
        data["rules"] = str(rules)
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config


def test_each_day_creates_its_steps_once_in_both_crms_and_the_manager_gets_hers(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, config = prepared
    manager = {"salesforce": sandbox.world.manager.salesforce_id}
    manager["hubspot"] = sandbox.world.manager.hubspot_id
    start = sandbox.world.now
    report = tmp_path / "report.json"
    seen: dict[str, dict[str, int]] = {t: {} for t in TARGETS}  # key → day it appeared
    steps_later = to_manager = 0
    assert main(["pull", "--config", str(config)]) == 0
    for day in range(DAYS):
        now = (start + timedelta(days=day)).isoformat()
        plans: dict[str, Any] = {t: planned(config, now, t, capsys) for t in TARGETS}
        assert main(["run", "--config", str(config), "--now", now, "--report", str(report)]) == 0
        assert json.loads(report.read_text())["ok"]
        for target in TARGETS:
            owners = task_owners(sandbox, config, target)
            assert all(len(ids) == 1 for ids in owners.values()), target  # never twice
            tasks = [t for a in plans[target]["accounts"] for t in a["tasks"]]
            new = set(owners) - set(seen[target])
            assert new == {t["key"] for t in tasks}, (target, day)  # what the plan said
            for task in tasks:
                seen[target][task["key"]] = day
                if task["assignee"] == "cs_manager":
                    to_manager += 1
                    assert owners[task["key"]] == [manager[target]], (target, task["key"])
                else:
                    assert owners[task["key"]] != [manager[target]], (target, task["key"])
            steps_later += sum(1 for t in tasks if day > 0 and t["key"].endswith(tuple(STEPS)))
    # the same keys in both CRMs, on the same days; later days carry sequence steps
    assert seen["salesforce"] == seen["hubspot"]
    assert steps_later > 0 and to_manager > 0
