"""Account fields named only in the config's `signals:` section, end to end: a field
created after the first pull through each CRM's own API (Tooling `CustomField` with
simple-salesforce, the properties API with hubspot-api-client), set on one account and
mapped in `signals.custom_fields`, reaches `csbridge health` after the next pull; a mapped
field no source of accounts has is said once, in one line naming the key, the sources and
the field; a Zendesk organization field is not said missing from the CRM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInput
from hubspot.crm.properties import PropertyCreate
from simple_salesforce import Salesforce
from sqlalchemy import select

from csbridge.cli import main
from csbridge.store.store import open_store
from csbridge.store.tables import cursors
from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.zendesk.state import ZendeskState

MAPPED = {
    "engagement.community_activity": "Community_Level_X__c",  # created in Salesforce
    "growth.referrals": "cs_referrals_x",  # created in HubSpot
    "relationship.qbr_participation": "Not_A_Field__c",  # in neither
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("signal-fields")
    with run_sandbox(
        port_base=0, accounts=30, seed=7, rate_limits="off", vendors=("salesforce", "hubspot")
    ) as running:
        yield running, write_config(running, tmp, MAPPED)


def write_config(running: Sandbox, folder: Path, mapped: dict[str, str]) -> Path:
    """The sandbox's config with `signals.custom_fields: mapped`."""
    config = running.write_config(folder / "csbridge.yaml")
    document = yaml.safe_load(config.read_text())
    document["signals"] = {"custom_fields": mapped}
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def pull_then_health(
    config: Path, now: str, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[list[str], dict[str, Any]]:
    """The pull's notice lines and `health --format json`'s accounts by domain."""
    assert main(["pull", "--config", str(config), *options]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    return notes, {a["id"]: a for a in json.loads(out[out.index("{\n") :])["accounts"]}


def stored_cursors(config: Path) -> dict[str, datetime]:
    """The watermark of each stream's stored cursor (the store beside the config)."""
    store = open_store(f"sqlite:///{config.parent / 'csbridge.db'}")
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(cursors.c.stream, cursors.c.watermark)).all()
    finally:
        store.close()
    return {stream: mark for stream, mark in rows if mark is not None}


def salesforce(sandbox: Sandbox) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_cert_path)
    return Salesforce(
        instance_url=sandbox.urls["salesforce"], session_id="sandbox", session=session
    )


def test_a_field_named_only_in_signals_is_pulled_from_either_crm_or_said_missing(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, config = sandbox
    now = running.world.now.isoformat()
    accounts = sorted(running.world.accounts, key=lambda a: a.domain)
    by_sf, by_hs = accounts[0], accounts[1]

    notes, before = pull_then_health(config, now, capsys)
    both = "note: signals.custom_fields: Salesforce Account and HubSpot company have no field"
    assert notes == [  # nothing created yet: every named field is missing, once each
        f"{both} Community_Level_X__c",
        f"{both} cs_referrals_x",
        f"{both} Not_A_Field__c",
    ]
    level = next(  # a level the account does not already show through the default field
        v
        for v in ("lurker", "contributor", "active")
        if v != before[by_sf.domain]["signals"].get("engagement.community_activity")
    )
    assert before[by_hs.domain]["signals"].get("growth.referrals") != 41

    sf = salesforce(running)
    made = sf.toolingexecute(
        "sobjects/CustomField/",
        method="POST",
        data={
            "FullName": "Account.Community_Level_X__c",
            "Metadata": {"label": "Community level X", "type": "Text", "length": 40},
        },
    )
    assert made["success"] is True
    sf.Account.update(by_sf.salesforce_id, {"Community_Level_X__c": level})
    hubspot = HubSpot(access_token="pat-sandbox", host=running.urls["hubspot"])
    hubspot.crm.properties.core_api.create(
        object_type="companies",
        property_create=PropertyCreate(
            name="cs_referrals_x",
            label="Referrals X",
            type="number",
            field_type="number",
            group_name="customer_success",
        ),
    )
    hubspot.crm.companies.basic_api.update(
        by_hs.hubspot_id, SimplePublicObjectInput(properties={"cs_referrals_x": "41"})
    )

    notes, after = pull_then_health(config, now, capsys)
    # a field one CRM has is not missing (the customer's accounts there provide it)
    assert notes == [f"{both} Not_A_Field__c"]
    assert after[by_sf.domain]["signals"]["engagement.community_activity"] == level
    assert after[by_hs.domain]["signals"]["growth.referrals"] == 41
    others = [a.domain for a in accounts[2:]]
    for domain in others:  # the accounts nobody touched keep their values
        assert after[domain]["signals"] == before[domain]["signals"]

    assert main(["run", "--config", str(config), "--dry-run"]) == 0  # its pull says so too
    out = capsys.readouterr().out
    assert [line.strip() for line in out.splitlines() if "note: " in line] == notes


def test_a_zendesk_organization_field_is_not_said_missing_from_the_crm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapped = {
        "engagement.community_activity": "community_level",  # a Zendesk organization field
        "relationship.qbr_participation": "Not_A_Field__c",  # in no source
    }
    with run_sandbox(
        port_base=0, accounts=20, seed=7, rate_limits="off", vendors=("salesforce", "zendesk")
    ) as running:
        config = write_config(running, tmp_path, mapped)
        zendesk: ZendeskState = running.apps["zendesk"].state.zendesk
        org = next(o for o in zendesk.orgs if o.account_key is not None)
        zendesk.update_org_fields(org.id, {"community_level": "active"})
        notes, health = pull_then_health(config, running.world.now.isoformat(), capsys)
    assert notes == [
        "note: signals.custom_fields: Salesforce Account and Zendesk organization have no "
        "field Not_A_Field__c"
    ]
    assert health[org.domain]["signals"]["engagement.community_activity"] == "active"


@pytest.mark.parametrize("command", ["pull", "run"])
def test_full_fills_a_newly_mapped_field_of_a_record_unchanged_since_the_last_pull(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`pull --full`, or `run --full` (whose pull it is), re-reads every record."""
    key = "engagement.community_activity"
    with run_sandbox(
        port_base=0, accounts=20, seed=7, rate_limits="off", vendors=("salesforce",)
    ) as running:
        config = write_config(running, tmp_path, {})
        now = running.world.now.isoformat()
        account = sorted(running.world.accounts, key=lambda a: a.domain)[0]
        _, first = pull_then_health(config, now, capsys)
        level = next(
            v
            for v in ("lurker", "contributor", "active")
            if v != first[account.domain]["signals"].get(key)
        )
        sf = salesforce(running)
        sf.toolingexecute(
            "sobjects/CustomField/",
            method="POST",
            data={
                "FullName": "Account.Community_Level_X__c",
                "Metadata": {"label": "Community level X", "type": "Text", "length": 40},
            },
        )
        crm = running.apps["salesforce"].state.store
        clock = crm.clock
        crm.clock = lambda: clock() - timedelta(minutes=30)  # changed well before the pull
        sf.Account.update(account.salesforce_id, {"Community_Level_X__c": level})
        crm.clock = clock
        other = sorted(running.world.accounts, key=lambda a: a.domain)[1]
        sf.Account.update(other.salesforce_id, {"Community_Level_X__c": level})  # just now
        pull_then_health(config, now, capsys)  # reads both; the field is not named yet
        write_config(running, tmp_path, {key: "Community_Level_X__c"})
        _, incremental = pull_then_health(config, now, capsys)
        assert incremental[account.domain]["signals"].get(key) != level  # not changed since

        marks = stored_cursors(config)
        if command == "run":
            assert main(["run", "--config", str(config), "--dry-run", "--full"]) == 0
            _, full = pull_then_health(config, now, capsys)
        else:
            _, full = pull_then_health(config, now, capsys, "--full")
        assert full[account.domain]["signals"][key] == level
        after = stored_cursors(config)
        assert after.keys() == marks.keys() and all(after[s] >= marks[s] for s in marks)
        for domain, item in full.items():  # the other accounts read the same as before
            if domain != account.domain:
                assert item["signals"] == incremental[domain]["signals"]
