"""End to end: the open tasks of an ended churn-risk episode are closed in both sandbox
CRMs, with a comment, and a task a CSM completed is left alone (issue 18 part 3).

Day by day with `csbridge run --now`: the churn-risk accounts get their episode's task
and steps (diagnose, call J2, action plan J3); the diagnose task still open after its
due date is reported overdue; one task is completed through each CRM's own API; then
the accounts recover (a rules file whose threshold nobody is under, as a CS team
lowering it would do) and the next run closes every other open task of those episodes,
read back through the CRMs' APIs: status and comment. A rerun writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from crm_readback import TOKEN
from test_task_lifecycle_e2e import complete

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge_sandbox.runner import Sandbox, run_sandbox

TARGETS = ("salesforce", "hubspot")
DONE = {"salesforce": "Completed", "hubspot": "COMPLETED"}
RECOVERED = {"rules": {"churn_risk": {"below": 1, "drop": 100, "urgent_tickets": 1000}}}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, Path]]:
    tmp = tmp_path_factory.mktemp("close")
    with run_sandbox(port_base=0, accounts=30, seed=5, rate_limits="off") as sandbox:
        rules = tmp / "rules.yaml"
        rules.write_text("")
        config = sandbox.write_config(tmp / "csbridge.yaml", rules=str(rules))
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, rules


def crm_tasks(sandbox: Sandbox, config: Path, target: str) -> dict[str, dict[str, Any]]:
    """Every csbridge task in `target`, read through its API: key → id, status, comment."""
    tasks: dict[str, dict[str, Any]] = {}
    if target == "salesforce":
        settings = load_config(config)
        assert settings.sources.salesforce is not None
        source = settings.sources.salesforce
        sf = open_salesforce(source, salesforce_client(source, settings.http))
        soql = "SELECT Id, Csbridge_Key__c, Status, Description FROM Task"
        for row in sf.query_all(soql)["records"]:
            if row["Csbridge_Key__c"]:
                tasks[row["Csbridge_Key__c"]] = {
                    "id": row["Id"],
                    "status": row["Status"],
                    "text": row["Description"] or "",
                }
        return tasks
    url = f"{sandbox.urls['hubspot']}/crm/v3/objects/tasks"
    params = {"limit": "100", "properties": "csbridge_task_key,hs_task_status,hs_task_body"}
    while True:
        answer = requests.get(url, params=params, headers=TOKEN, timeout=10)
        answer.raise_for_status()
        page = answer.json()
        for task in page["results"]:
            props = task["properties"]
            if props.get("csbridge_task_key"):
                tasks[props["csbridge_task_key"]] = {
                    "id": task["id"],
                    "status": props["hs_task_status"],
                    "text": props.get("hs_task_body") or "",
                }
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return tasks
        params["after"] = after


def test_a_recovered_accounts_open_tasks_are_closed_once_and_a_completed_one_is_left(
    prepared: tuple[Sandbox, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config, rules = prepared
    start, report = sandbox.world.now, tmp_path / "report.json"

    def run(day: int) -> dict[str, Any]:
        now = (start + timedelta(days=day)).isoformat()
        assert main(["run", "--config", str(config), "--now", now, "--report", str(report)]) == 0
        result: dict[str, Any] = json.loads(report.read_text())
        return result

    for day in range(5):  # the episode's task on day 0, the call on day 2, the plan on day 3
        crm = run(day)["crm"]
    before = {t: crm_tasks(sandbox, config, t) for t in TARGETS}
    risky = {t: sorted(k for k in before[t] if ":churn_risk:" in k) for t in TARGETS}
    assert risky["salesforce"] == risky["hubspot"]
    assert any(k.endswith(":call") for k in risky["hubspot"])  # a step of a later day
    assert any(k.endswith(":action_plan") for k in risky["hubspot"])
    today = (start + timedelta(days=4)).date()
    for target in TARGETS:  # day 4: the diagnose tasks of day 0 (due day 2) are still open
        overdue = crm[target]["steps_overdue"]
        late = [o for o in overdue["list"] if o["rule"] == "churn_risk" and o["step"] == "start"]
        assert max(o["days_overdue"] for o in late) == 2
        for o in late:
            assert o["days_overdue"] == (today - date.fromisoformat(o["due"])).days > 0
            assert o["holds_up"] == "call"
        assert overdue["count"] >= len(late)

    kept = risky["hubspot"][0]  # a CSM completes this one in each CRM
    for target in TARGETS:
        complete(sandbox, config, target, before[target][kept]["id"])
    rules.write_text(yaml.safe_dump(RECOVERED))
    day = 5
    capsys.readouterr()
    closed = run(day)["crm"]
    printed = capsys.readouterr().out
    for target in TARGETS:  # what `csbridge run` prints
        assert f"tasks: 1 completed in the CRM, {closed[target]['tasks_closed']} closed" in printed
    on = (start + timedelta(days=day)).date().isoformat()
    for target in TARGETS:
        after = crm_tasks(sandbox, config, target)
        assert closed[target]["tasks_completed"] == 1
        assert closed[target]["tasks_closed"] == len(risky[target]) - 1
        assert after[kept] == {**before[target][kept], "status": DONE[target]}  # untouched
        for key in risky[target]:
            if key == kept:
                continue
            task, was = after[key], before[target][key]
            assert task["status"] == DONE[target], (target, key)
            comment = f"Closed by csbridge on {on}: account back above 1 (health "
            assert task["text"].startswith(was["text"]) and comment in task["text"], key
        others = {k for k in after if k not in risky[target]}
        assert all(after[k] == before[target][k] for k in others if k in before[target])

    again = run(day)
    assert again["ok"]
    for target in TARGETS:
        crm = again["crm"][target]
        writes = (crm["tasks_closed"], crm["records_updated"], crm["tasks_created"])
        assert writes == (0, 0, 0), target
