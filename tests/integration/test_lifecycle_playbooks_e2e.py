"""End to end: the post-sale handoff and Champion advocacy driven with `csbridge run
--now` on the sandbox, read back through both CRMs' own APIs.

One new-business deal of the sandbox world closed yesterday (the world's own closed-won
deals are older than the handoff's week). Runs on days 0-6, then day 14: the handoff's
Sales brief appears on day 0 (the late run's current step) and its formal handoff on day
6 (J+7); each Champion-band account's advocacy ask appears on day 0 and its case study
on day 14; every key once in each CRM, on the same day in both.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from crm_readback import task_owners

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import build_world

TARGETS = ("salesforce", "hubspot")
DAYS = (0, 1, 2, 3, 4, 5, 6, 14)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    world = build_world(accounts=60, seed=5)
    deal = next(o for o in world.opportunities if o.type == "new")
    yesterday = world.now.date() - timedelta(days=1)
    fresh = dataclasses.replace(deal, close_date=yesterday, stage="Closed Won")
    deals = tuple(fresh if o is deal else o for o in world.opportunities)
    world = dataclasses.replace(world, opportunities=deals)
    with run_sandbox(port_base=0, rate_limits="off", world=world) as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, yesterday.isoformat()


def test_handoff_and_advocacy_steps_on_their_day_once_in_both_crms(
    prepared: tuple[Sandbox, Path, str], tmp_path: Path
) -> None:
    sandbox, config, closed = prepared
    start = sandbox.world.now
    report = tmp_path / "report.json"
    seen: dict[str, dict[str, int]] = {t: {} for t in TARGETS}  # key → day it appeared
    assert main(["pull", "--config", str(config)]) == 0
    for day in DAYS:
        now = (start + timedelta(days=day)).isoformat()
        assert main(["run", "--config", str(config), "--now", now, "--report", str(report)]) == 0
        assert json.loads(report.read_text())["ok"]
        for target in TARGETS:
            owners = task_owners(sandbox, config, target)
            assert all(len(ids) == 1 for ids in owners.values()), target  # never twice
            for key in owners:
                seen[target].setdefault(key, day)
    assert seen["salesforce"] == seen["hubspot"]
    days = seen["hubspot"]
    handoff = {k.split(":handoff:")[1]: d for k, d in days.items() if ":handoff:" in k}
    assert handoff == {f"{closed}:sales_brief": 0, f"{closed}:handoff_documented": 6}
    asks = {k: d for k, d in days.items() if ":advocacy:" in k and k.count(":") == 2}
    studies = {k: d for k, d in days.items() if k.endswith(":case_study")}
    assert asks and set(asks.values()) == {0}  # every Champion asked on day 0, once
    assert studies and set(studies.values()) == {14}
    assert {k.removesuffix(":case_study") for k in studies} <= set(asks)
    assert not any(k.endswith(":referral") for k in days)  # J30 not reached
