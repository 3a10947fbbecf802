"""Segment attributes end to end: `init-crm` creates the strategic-fit picklists, a CSM
sets one through each CRM's own SDK, the next pull reads it back, and the account's
segment follows seed-5d's ARR x fit matrix instead of the ARR fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInput
from simple_salesforce import Salesforce

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("segments")
    with run_sandbox(
        port_base=0, accounts=30, seed=7, rate_limits="off", vendors=("salesforce", "hubspot")
    ) as running:
        yield running, running.write_config(tmp / "csbridge.yaml")


def health(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["pull", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    return {a["id"]: a for a in json.loads(out[out.index("{\n") :])["accounts"]}


def salesforce(sandbox: Sandbox) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_cert_path)
    return Salesforce(
        instance_url=sandbox.urls["salesforce"], session_id="sandbox", session=session
    )


def test_a_fit_set_in_either_crm_moves_the_account_into_its_matrix_cell(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, config = sandbox
    world, now = running.world, running.world.now.isoformat()
    assert main(["init-crm", "--config", str(config)]) == 0
    big = sorted((a for a in world.accounts if a.arr > 50_000), key=lambda a: a.domain)
    by_sf, by_hs = big[0], big[1]

    before = health(config, now, capsys)
    for account in (by_sf, by_hs):  # no fit yet: the ARR tier, and the placement says so
        assert before[account.domain]["segment"] == "high_touch"
        assert before[account.domain]["segment_note"]

    salesforce(running).Account.update(by_sf.salesforce_id, {"Strategic_Fit__c": "low"})
    HubSpot(
        access_token="pat-sandbox", host=running.urls["hubspot"]
    ).crm.companies.basic_api.update(
        by_hs.hubspot_id, SimplePublicObjectInput(properties={"cs_strategic_fit": "low"})
    )
    after = health(config, now, capsys)
    for account in (by_sf, by_hs):  # low fit above 50k: low touch, from the matrix itself
        assert after[account.domain]["segment"] == "low_touch"
        assert not after[account.domain].get("segment_note")
    untouched = [a.domain for a in big[2:]]
    assert all(after[d]["segment"] == before[d]["segment"] for d in untouched)
