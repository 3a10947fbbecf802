"""`csbridge init-crm` against the sandbox over real HTTP, read back through each CRM's own
API, write calls counted by the sandbox (`/_sandbox/stats`): a dry run creates nothing, a
run creates every field, a rerun writes nothing, and a new owned tag adds one option."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from csbridge.cli import main
from csbridge_sandbox.runner import SALESFORCE_API_VERSION, Sandbox, run_sandbox

BANDS = ["at_risk", "attention", "healthy", "champion"]
TAGS = ["Promoter", "Churn Risk"]
DIMENSIONS = ["usage", "engagement", "satisfaction", "growth", "relationship"]  # seed-5d


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    with run_sandbox(port_base=0, accounts=10, vendors=("salesforce", "hubspot")) as running:
        yield running, running.write_config(tmp_path / "csbridge.yaml")


def init_crm(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["init-crm", "--config", str(config), "--format", "json", *extra]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def sf_fields(sandbox: Sandbox, obj: str) -> dict[str, dict[str, Any]]:
    """describe, as any Salesforce client would read it."""
    base = sandbox.urls["salesforce"]
    verify = str(sandbox.ca_cert_path)
    token = requests.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "t", "client_secret": "s"},
        verify=verify,
        timeout=10,
    ).json()["access_token"]
    answer = requests.get(
        f"{base}/services/data/v{SALESFORCE_API_VERSION}/sobjects/{obj}/describe",
        headers={"Authorization": f"Bearer {token}"},
        verify=verify,
        timeout=10,
    )
    answer.raise_for_status()
    return {f["name"]: f for f in answer.json()["fields"]}


def hs_get(sandbox: Sandbox, path: str) -> list[dict[str, Any]]:
    answer = requests.get(
        sandbox.urls["hubspot"] + path,
        headers={"Authorization": "Bearer pat-sandbox-token"},
        timeout=10,
    )
    answer.raise_for_status()
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def hs_props(sandbox: Sandbox, obj: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in hs_get(sandbox, f"/crm/v3/properties/{obj}")}


def writes(sandbox: Sandbox) -> tuple[int, int]:
    """(Salesforce, HubSpot) write calls the emulators answered since the last call, from
    `/_sandbox/stats` (POST, PATCH, PUT, DELETE except reads such as the OAuth token)."""
    counts = []
    for vendor in ("salesforce", "hubspot"):
        base, verify = sandbox.urls[vendor], str(sandbox.ca_cert_path)
        stats = requests.get(f"{base}/_sandbox/stats", verify=verify, timeout=10).json()
        requests.post(f"{base}/_sandbox/stats/reset", verify=verify, timeout=10)
        counts.append(int(stats["writes"]))
    return counts[0], counts[1]


def snapshot(sandbox: Sandbox) -> tuple[Any, ...]:
    return (
        sorted(sf_fields(sandbox, "Account")),
        sorted(sf_fields(sandbox, "Task")),
        sorted(hs_props(sandbox, "companies")),
        sorted(hs_props(sandbox, "tasks")),
        [g["name"] for g in hs_get(sandbox, "/crm/v3/properties/companies/groups")],
    )


def test_dry_run_then_run_then_rerun(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, config = sandbox
    before = snapshot(running)
    dry = init_crm(config, capsys, "--dry-run")
    # the sandbox already holds the fields CSMs and billing fill in, as an org where
    # init-crm ran before: they are found as they are wanted
    assert dry["summary"] == {"create": 44, "update": 0, "ok": 8, "conflict": 0}
    assert {s["field"] for s in dry["steps"] if s["action"] == "ok"} == {
        *("Relationship_Quality__c", "Community_Level__c", "Referrals_12m__c"),
        *("Days_Past_Due__c", "cs_relationship_quality", "cs_community_level"),
        *("cs_referrals_12m", "cs_days_past_due"),
    }
    assert dry["write_calls"] == {"salesforce": 0, "hubspot": 0}
    assert {s["result"] for s in dry["steps"] if s["action"] != "ok"} == {"dry-run"}
    assert snapshot(running) == before  # nothing created
    assert writes(running) == (0, 0)

    done = init_crm(config, capsys)
    assert done["summary"]["create"] == 44
    assert {s["result"] for s in done["steps"] if s["action"] != "ok"} == {"done"}
    assert done["write_calls"] == {"salesforce": 20, "hubspot": 24}  # one call per field
    assert writes(running) == (20, 24)
    assert any("field-level security" in note for note in done["notes"])

    account = sf_fields(running, "Account")
    kinds = {name: account[name]["type"] for name in account if name.endswith("__c")}
    assert (
        kinds
        | {
            "Health_Score__c": "double",
            "Health_Status__c": "picklist",
            "Health_Trend__c": "double",
            "CS_Segment__c": "picklist",
            "Health_Coverage__c": "double",
            "Health_Drivers__c": "string",
            "Health_Why__c": "string",
            "Health_Previous__c": "double",
            **{f"Health_{d.capitalize()}__c": "double" for d in DIMENSIONS},
            "Health_Updated__c": "datetime",
            "NPS_Category__c": "picklist",
            "CS_Tags__c": "multipicklist",
            "Marketing_Paused__c": "boolean",
            "Strategic_Fit__c": "picklist",
            "Expansion_Potential__c": "picklist",
        }
        == kinds
    )
    values = {n: [v["value"] for v in account[n]["picklistValues"]] for n in kinds}
    assert values["Health_Status__c"] == BANDS
    assert values["CS_Tags__c"] == TAGS
    assert values["NPS_Category__c"] == ["detractor", "passive", "promoter"]
    assert sorted(values["CS_Segment__c"]) == ["high_touch", "low_touch", "mid_touch", "tech_touch"]
    for attribute in ("Strategic_Fit__c", "Expansion_Potential__c"):  # for CSMs to fill in
        assert values[attribute] == ["high", "medium", "low"]
    key = sf_fields(running, "Task")["Csbridge_Key__c"]
    assert (key["type"], key["length"], key["externalId"]) == ("string", 255, True)

    companies = hs_props(running, "companies")
    ours = {n: p for n, p in companies.items() if p["groupName"] == "csbridge"}
    assert {n: (p["type"], p["fieldType"]) for n, p in ours.items()} == {
        "cs_health_score": ("number", "number"),
        "cs_health_status": ("enumeration", "select"),
        "cs_health_trend": ("number", "number"),
        "cs_segment": ("enumeration", "select"),
        "cs_health_coverage": ("number", "number"),
        "cs_health_drivers": ("string", "textarea"),
        "cs_health_previous": ("number", "number"),
        "cs_health_why": ("string", "textarea"),
        **{f"cs_health_{d}": ("number", "number") for d in DIMENSIONS},
        "cs_health_updated": ("datetime", "date"),
        "cs_nps_category": ("enumeration", "select"),
        "cs_tags": ("enumeration", "checkbox"),
        "cs_marketing_paused": ("bool", "booleancheckbox"),
        "cs_strategic_fit": ("enumeration", "select"),
        "cs_expansion_potential": ("enumeration", "select"),
    }
    for attribute in ("cs_strategic_fit", "cs_expansion_potential"):
        assert [o["value"] for o in ours[attribute]["options"]] == ["high", "medium", "low"]
    assert [o["value"] for o in ours["cs_tags"]["options"]] == TAGS
    assert [o["value"] for o in ours["cs_health_status"]["options"]] == BANDS
    for obj, key in (("tasks", "csbridge_task_key"), ("notes", "csbridge_note_key")):
        prop = hs_props(running, obj)[key]
        shape = (prop["type"], prop["fieldType"], prop["groupName"])
        assert shape == ("string", "text", "csbridge")

    created = snapshot(running)
    again = init_crm(config, capsys)
    assert again["summary"] == {"create": 0, "update": 0, "ok": 52, "conflict": 0}
    assert again["write_calls"] == {"salesforce": 0, "hubspot": 0}
    assert snapshot(running) == created
    assert writes(running) == (0, 0)

    assert main(["init-crm", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "init-crm: 0 created, 0 updated, 52 ok, 0 conflicts" in table
    assert "hubspot     companies  cs_tags" in table


def test_new_owned_tag_adds_one_option(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    running, config = sandbox
    init_crm(config, capsys)
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"owned_tags": [*TAGS, "Champion"]}))
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "rules": str(rules)}))

    plan = init_crm(config, capsys, "--dry-run")
    changed = [(s["target"], s["field"], s["action"], s["detail"]) for s in plan["steps"]]
    assert [c for c in changed if c[2] != "ok"] == [
        ("salesforce", "CS_Tags__c", "update", "add Champion"),
        ("hubspot", "cs_tags", "update", "add Champion"),
    ]
    writes(running)  # start counting here
    done = init_crm(config, capsys)
    assert done["summary"] == {"create": 0, "update": 2, "ok": 50, "conflict": 0}
    assert writes(running) == (1, 1)
    options = hs_props(running, "companies")["cs_tags"]["options"]
    assert [(o["value"], o["label"]) for o in options] == [
        ("Promoter", "Promoter"),
        ("Churn Risk", "Churn Risk"),
        ("Champion", "Champion"),
    ]
    picklist = sf_fields(running, "Account")["CS_Tags__c"]
    assert picklist["type"] == "multipicklist"
    assert [v["value"] for v in picklist["picklistValues"]] == [*TAGS, "Champion"]
    assert init_crm(config, capsys)["summary"]["update"] == 0
    assert writes(running) == (0, 0)
