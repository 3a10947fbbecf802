"""End to end: touchpoint cadence on the sandbox, with `cadence.create_tasks` on.

`csbridge health` measures each account's cadence against the activities pulled from
both CRMs; `csbridge run --now` then creates one task per missed touchpoint in each CRM
(read back through the CRMs' own APIs), the executive touchpoint's for the CS manager;
a rerun later the same day (the same period of every touchpoint) creates none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from crm_readback import task_owners

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 25
TARGETS = ("salesforce", "hubspot")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("cadence")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=11, rate_limits="off") as sandbox:
        manager = sandbox.world.manager
        rules = tmp / "rules.yaml"
        rules.write_text(
            yaml.safe_dump(
                {
                    "cadence": {"create_tasks": True},
                    "assignees": {
                        "salesforce": {"default_cs_manager": manager.salesforce_id},
                        "hubspot": {"default_cs_manager": manager.hubspot_id},
                    },
                }
            )
        )
        config = sandbox.write_config(tmp / "csbridge.yaml", rules=str(rules))
        assert main(["init-crm", "--config", str(config)]) == 0
        assert main(["pull", "--config", str(config)]) == 0
        yield sandbox, config


def health(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    return json.loads(out[out.index("{\n") :])


def cadence_keys(sandbox: Sandbox, config: Path, target: str) -> dict[str, list[str]]:
    return {k: v for k, v in task_owners(sandbox, config, target).items() if ":cadence:" in k}


def test_missed_touchpoints_create_one_task_each_and_a_rerun_the_same_day_none(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, config = prepared
    now = sandbox.world.now
    measured = health(config, now.isoformat(), capsys)
    missed = {
        (a["id"], name)
        for a in measured["accounts"]
        if a["cadence"]
        for name in a["cadence"]["missed"]
    }
    assert {name for _, name in missed} >= {"check_in", "email", "executive"}
    assert 0 < measured["cadence"]["measured"] <= ACCOUNTS

    report = tmp_path / "report.json"
    argv = ["run", "--config", str(config), "--report", str(report)]
    assert main([*argv, "--now", now.isoformat()]) == 0
    first = json.loads(report.read_text())
    assert first["ok"] and first["cadence"] == measured["cadence"]
    manager = {
        "salesforce": sandbox.world.manager.salesforce_id,
        "hubspot": sandbox.world.manager.hubspot_id,
    }
    created = {}
    for target in TARGETS:
        keys = cadence_keys(sandbox, config, target)
        assert all(len(owners) == 1 for owners in keys.values()), target  # never twice
        # one task per account and missed touchpoint: key account:cadence:period:touchpoint
        assert {(k.split(":")[0], k.split(":")[-1]) for k in keys} == missed, target
        for key, owners in keys.items():
            if key.endswith(":executive"):
                assert owners == [manager[target]], key
            else:
                assert owners != [manager[target]], key
        created[target] = set(keys)

    assert main([*argv, "--now", (now + timedelta(hours=6)).isoformat()]) == 0
    assert json.loads(report.read_text())["ok"]
    for target in TARGETS:
        again = cadence_keys(sandbox, config, target)
        assert set(again) == created[target], target
        assert all(len(owners) == 1 for owners in again.values()), target
