"""Reading csbridge's writes back through the CRMs' own APIs (not our ledger), for the
end-to-end and fault tests of `csbridge run` on the sandbox.

`planned` is what `csbridge plan --format json` says one target should get; `hubspot_state`
and `salesforce_state` return the account records (planned fields and the tags field) and
how many tasks exist per csbridge task key; `same` compares a CRM value with a planned one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge_sandbox.runner import Sandbox

TOKEN = {"Authorization": "Bearer pat-sandbox-token"}
TAG_FIELDS = {"hubspot": "cs_tags", "salesforce": "CS_Tags__c"}


def planned(config: Path, now: str, target: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """The JSON plan of `target` as `csbridge plan` prints it."""
    capsys.readouterr()
    argv = ["plan", "--config", str(config), "--format", "json", "--now", now, "--target", target]
    assert main(argv) == 0
    out = capsys.readouterr().out
    return json.loads(out[out.index("{\n") :])


def hubspot_state(sandbox: Sandbox, plan: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """The plan's companies (planned properties and tags) and the task count per planned key."""
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
    """Every Account (planned fields and tags) and the task count per csbridge key, by SOQL."""
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


def crm_state(
    sandbox: Sandbox, config: Path, target: str, plan: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """`hubspot_state` or `salesforce_state`, by target name."""
    if target == "hubspot":
        return hubspot_state(sandbox, plan)
    return salesforce_state(config, plan)


def same(crm_value: object, planned_value: object) -> bool:
    """A CRM value equals a planned one (CRMs render numbers, booleans and dates their way)."""
    if planned_value is None:
        return crm_value in (None, "")
    if isinstance(planned_value, bool):
        return str(crm_value).lower() == str(planned_value).lower()
    if isinstance(planned_value, int | float):
        return (
            crm_value not in (None, "") and abs(float(str(crm_value)) - float(planned_value)) < 1e-6
        )
    if isinstance(planned_value, str) and planned_value[:4].isdigit() and "T" in planned_value:
        return crm_value is not None  # a datetime: the CRM renders it its own way
    return crm_value == planned_value


def task_owners(sandbox: Sandbox, config: Path, target: str) -> dict[str, list[str]]:
    """Every csbridge task in `target` (all of them, not only a plan's): key → the owner
    id of each task with that key (two entries would be a duplicate)."""
    owners: dict[str, list[str]] = {}
    if target == "salesforce":
        settings = load_config(config)
        assert settings.sources.salesforce is not None
        sf = open_salesforce(
            settings.sources.salesforce,
            salesforce_client(settings.sources.salesforce, settings.http),
        )
        soql = "SELECT Csbridge_Key__c, OwnerId FROM Task"
        for row in sf.query_all(soql)["records"]:
            if row["Csbridge_Key__c"]:
                owners.setdefault(row["Csbridge_Key__c"], []).append(row["OwnerId"])
        return owners
    url = f"{sandbox.urls['hubspot']}/crm/v3/objects/tasks"
    params: dict[str, str] = {"limit": "100", "properties": "csbridge_task_key,hubspot_owner_id"}
    while True:
        answer = requests.get(url, params=params, headers=TOKEN, timeout=10)
        answer.raise_for_status()
        page = answer.json()
        for task in page["results"]:
            props = task["properties"]
            if props.get("csbridge_task_key"):
                owners.setdefault(props["csbridge_task_key"], []).append(props["hubspot_owner_id"])
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return owners
        params["after"] = after
