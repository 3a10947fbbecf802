"""End to end: sandbox → `csbridge pull` → `csbridge plan` (JSON and table), then the plan
against a ledger that records it as written is empty (idempotence through the store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import insert

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.store.store import open_store
from csbridge.store.tables import task_keys, write_ledger
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 40


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str, str]]:
    tmp = tmp_path_factory.mktemp("plan")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=11, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
        config.write_text(yaml.safe_dump(data))
        store = open_store(data["database_url"])
        try:
            assert pull(load_config(config), store).ok
        finally:
            store.close()
        yield sandbox, config, data["database_url"], sandbox.world.now.isoformat()


def plan_json(
    config: Path, now: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    argv = ["plan", "--config", str(config), "--format", "json", "--now", now, *extra]
    assert main(argv) == 0
    out = capsys.readouterr().out
    document: dict[str, Any] = json.loads(out[out.index("{\n") :])
    return document


def test_plan_shows_every_account_then_nothing_once_recorded(
    pulled: tuple[Sandbox, Path, str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, config, url, now = pulled
    first = plan_json(config, now, capsys)
    accounts = {a["record_id"]: a for a in first["accounts"]}
    sf_ids = {a.salesforce_id for a in sandbox.world.accounts}
    assert set(accounts) == sf_ids  # the first plan writes every Salesforce account
    for entry in accounts.values():
        fields = {f["field"]: f for f in entry["fields"]}
        assert fields["Health_Score__c"]["before"] is None
        assert 0 <= fields["Health_Score__c"]["after"] <= 100
        assert "Health_Updated__c" in fields
        assert fields["Marketing_Paused__c"]["after"] in (True, False)
        assert entry["warnings"] == []
        for task in entry["tasks"]:
            assert task["key"].startswith(f"{entry['account_id']}:")
    summary = first["summary"]
    assert summary["records"] == len(sf_ids) and summary["tasks"] > 0
    rules = {t["rule"] for a in accounts.values() for t in a["tasks"]}
    assert "renewal" in rules
    tagged = [a for a in accounts.values() if a["tags"]["added"]]
    assert tagged and all(set(a["tags"]["added"]) <= {"Promoter", "Churn Risk"} for a in tagged)

    # Record the plan as written, as apply will: fields in the ledger, keys in task_keys.
    at = datetime.now(UTC)
    store = open_store(url)
    try:
        with store.engine.begin() as conn:
            for entry in first["accounts"]:
                for f in entry["fields"]:
                    conn.execute(
                        insert(write_ledger).values(
                            target="salesforce",
                            object_type="Account",
                            record_id=entry["record_id"],
                            field=f["field"],
                            value=f["after"],
                            written_at=at,
                        )
                    )
                if entry["tags"]["added"]:
                    conn.execute(
                        insert(write_ledger).values(
                            target="salesforce",
                            object_type="Account",
                            record_id=entry["record_id"],
                            field="CS_Tags__c",
                            value=";".join(["VIP", *entry["tags"]["added"]]),
                            written_at=at,
                        )
                    )
                done = [(t, "salesforce", "created") for t in entry["tasks"]]
                done += [(n, "notify", "sent") for n in entry["notifications"]]
                for item, target, status in done:
                    conn.execute(
                        insert(task_keys).values(
                            key=item["key"],
                            target=target,
                            status=status,
                            created_at=at,
                            updated_at=at,
                        )
                    )
    finally:
        store.close()
    second = plan_json(config, now, capsys)
    assert second["summary"] == {
        "records": 0,
        "fields": 0,
        "tags_added": 0,
        "tags_removed": 0,
        "tasks": 0,
        "notifications": 0,
    }
    assert main(["plan", "--config", str(config), "--now", now]) == 0
    assert "No changes." in capsys.readouterr().out
    # A mapping without the flag and the tags: warned about, not planned.
    mapping = tmp_path / "salesforce.yaml"
    mapping.write_text("write:\n  tags: {api_name: Other__c, type: multipicklist, label: T}\n")
    moved = plan_json(config, now, capsys, "--mapping", str(mapping))
    assert moved["summary"]["tags_added"] > 0  # tags now go to an unwritten field
    assert {a["record_id"] for a in moved["accounts"] if a["tags"]["added"]} <= {
        a["record_id"] for a in first["accounts"]
    }


def test_plan_table_and_user_errors(
    pulled: tuple[Sandbox, Path, str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, config, _, now = pulled
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: {churn_risk: {below: 101}}\n")
    assert main(["plan", "--config", str(config), "--now", now, "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "rules.churn_risk.below" in err and "Traceback" not in err
    assert main(["plan", "--config", str(config), "--now", now, "--target", "hubspot"]) == 0
    table = capsys.readouterr().out
    assert "cs_health_score" in table and "field changes on" in table
    assert "cs_marketing_paused" in table and "warning:" not in table
