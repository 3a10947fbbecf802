"""What a CSM sees after a run, read back through each CRM's own API (not our ledger).

The accounts most at risk in each CRM: their health fields, tags and csbridge's tasks.
"""

from __future__ import annotations

from typing import IO, Any

from csbridge.config import Settings
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.mappings.fields import load_field_mapping


def show_crm_accounts(settings: Settings, out: IO[str], count: int = 3) -> None:
    """Print the `count` lowest-scored accounts of every target CRM with their tasks."""
    for target in settings.crm.targets:
        if target == "salesforce":
            _salesforce(settings, out, count)
        else:
            _hubspot(settings, out, count)


def _salesforce(settings: Settings, out: IO[str], count: int) -> None:
    source = settings.sources.salesforce
    assert source is not None
    mapping = load_field_mapping("salesforce", settings.crm.salesforce.mapping)
    names = {k: mapping.api_name(k) for k in ("health_score", "health_status", "health_drivers")}
    tags = mapping.api_name("tags")
    client = salesforce_client(source, settings.http)
    try:
        sf = open_salesforce(source, client)
        fields = ", ".join(["Id", "Name", *names.values(), tags])
        rows = sf.query(
            f"SELECT {fields} FROM Account WHERE {names['health_score']} != null "
            f"ORDER BY {names['health_score']} ASC LIMIT {count}"
        )["records"]
        out.write("\nIn Salesforce (SOQL on Account and Task):\n")
        for row in rows:
            _account(out, row["Name"], row, names, row.get(tags))
            key = mapping.task.key_field
            tasks = sf.query(
                f"SELECT Subject, ActivityDate FROM Task WHERE WhatId = '{row['Id']}' "
                f"AND {key} != null ORDER BY ActivityDate ASC"
            )["records"]
            for task in tasks:
                out.write(f"      task due {task['ActivityDate']}: {task['Subject']}\n")
    finally:
        client.close()


def _hubspot(settings: Settings, out: IO[str], count: int) -> None:
    source = settings.sources.hubspot
    assert source is not None
    mapping = load_field_mapping("hubspot", settings.crm.hubspot.mapping)
    names = {k: mapping.api_name(k) for k in ("health_score", "health_status", "health_drivers")}
    tags = mapping.api_name("tags")
    client = hubspot_client(source, settings.http)
    try:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": names["health_score"], "operator": "HAS_PROPERTY"}]}
            ],
            "sorts": [{"propertyName": names["health_score"], "direction": "ASCENDING"}],
            "properties": ["name", *names.values(), tags],
            "limit": count,
        }
        found = client.post(
            "/crm/v3/objects/companies/search", json=body, bucket="search", idempotent=True
        ).json()["results"]
        out.write("\nIn HubSpot (CRM search on companies and tasks):\n")
        for company in found:
            props = company["properties"]
            _account(out, props.get("name") or company["id"], props, names, props.get(tags))
            linked = client.get(
                f"/crm/v4/objects/companies/{company['id']}/associations/tasks"
            ).json()["results"]
            ids = [{"id": str(link["toObjectId"])} for link in linked][:20]
            tasks = []
            if ids:
                read = {"properties": ["hs_task_subject", "hs_timestamp"], "inputs": ids}
                tasks = client.post(
                    "/crm/v3/objects/tasks/batch/read", json=read, idempotent=True
                ).json()["results"]
            for task in sorted(tasks, key=lambda t: str(t["properties"]["hs_timestamp"])):
                p = task["properties"]
                out.write(f"      task due {str(p['hs_timestamp'])[:10]}: {p['hs_task_subject']}\n")
    finally:
        client.close()


def _account(
    out: IO[str], name: str, values: dict[str, Any], names: dict[str, str], tags: object
) -> None:
    score = values.get(names["health_score"])
    status = values.get(names["health_status"])
    out.write(f"  {name[:32]:<32} health {score} ({status})  tags: {tags or '-'}\n")
    out.write(f"      drivers: {values.get(names['health_drivers']) or '-'}\n")
