"""End to end on SQLite and PostgreSQL: a sandbox whose domains are 200 or 250 characters
long (task keys past 255 are hashed to fit) and whose vendor records carry NUL characters
(in names and an NPS verbatim). The pull stores everything, cleaned, and reports the
cleaned records; `run` writes every planned task exactly once in both CRMs, read back
through their APIs; a rerun creates nothing."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from crm_readback import crm_state, planned

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.models import Account, SurveyResponse
from csbridge.store.store import open_store
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import run_sandbox
from csbridge_sandbox.world.build import World, build_world


def long_domain(domain: str, length: int = 200) -> str:
    return ("long-" * 60)[: length - len(domain) - 1] + "." + domain


def hostile_world() -> World:
    """12 accounts, domains of 200 and 250 characters; NUL in names and in a verbatim."""
    today = datetime.now(UTC).date()
    world = build_world(
        accounts=12, seed=5, now=datetime(today.year, today.month, today.day, tzinfo=UTC)
    )
    domains = {
        a.domain: long_domain(a.domain, 250 if n % 2 else 200) for n, a in enumerate(world.accounts)
    }

    def fixed(record: Any) -> Any:
        changes = {}
        for item in dataclasses.fields(record):
            value = getattr(record, item.name)
            if isinstance(value, str) and value in domains:
                changes[item.name] = domains[value]
            elif isinstance(value, str) and value.rpartition("@")[2] in domains:
                user, _, host = value.rpartition("@")
                changes[item.name] = f"{user}@{domains[host]}"
        return dataclasses.replace(record, **changes) if changes else record

    tables = {
        f.name: tuple(fixed(r) for r in getattr(world, f.name))
        for f in dataclasses.fields(world)
        if isinstance(getattr(world, f.name), tuple)
    }
    for name, field, text in (
        ("accounts", "name", "{} Ltd\x00"),
        ("zendesk_orgs", "name", "\x00{}"),
        ("nps_answers", "comment", "Too slow\x00 {}"),
    ):
        head, *rest = tables[name]
        changed = dataclasses.replace(head, **{field: text.format(getattr(head, field))})
        tables[name] = (changed, *rest)
    return dataclasses.replace(world, **tables)


def test_nul_text_and_long_domains_through_pull_and_run(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = hostile_world()
    with run_sandbox(port_base=0, rate_limits="off", world=world) as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = database_url
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        now = world.now.isoformat()

        store = open_store(database_url)
        try:
            report = pull(load_config(config), store)
            assert report.ok, report.stopped
            for stream in ("salesforce.accounts", "hubspot.companies", "zendesk.organizations"):
                assert len(report.sanitised[stream]) == 1, stream
            assert report.sanitised["salesforce.nps_answers"] == [
                world.nps_answers[0].salesforce_id
            ]
            names = {a.name for a in store.load(Account)}
            assert world.accounts[0].name.replace("\x00", "") in names
            assert not any("\x00" in name for name in names)
            comments = {s.comment for s in store.load(SurveyResponse)}
            assert world.nps_answers[0].comment.replace("\x00", "") in comments
            assert len(store.load(Account, source="salesforce")) == len(world.accounts)
        finally:
            store.close()

        plans = {t: planned(config, now, t, capsys) for t in ("salesforce", "hubspot")}
        report_path = tmp_path / "report.json"
        assert (
            main(["run", "--config", str(config), "--now", now, "--report", str(report_path)]) == 0
        )
        first = json.loads(report_path.read_text())
        for target, plan in plans.items():
            keys = [t["key"] for a in plan["accounts"] for t in a["tasks"]]
            assert keys and first["crm"][target]["tasks_created"] == len(keys) > 0
            assert all(key.startswith("long-long-") for key in keys)
            assert max(map(len, keys)) == 255  # some were hashed to fit
            _, tasks = crm_state(sandbox, config, target, plan)
            assert {key: tasks.get(key) for key in keys} == dict.fromkeys(keys, 1), target

        assert (
            main(["run", "--config", str(config), "--now", now, "--report", str(report_path)]) == 0
        )
        again = json.loads(report_path.read_text())
        for target, plan in plans.items():
            assert again["crm"][target]["tasks_created"] == 0
            keys = [t["key"] for a in plan["accounts"] for t in a["tasks"]]
            _, tasks = crm_state(sandbox, config, target, plan)
            assert {key: tasks.get(key) for key in keys} == dict.fromkeys(keys, 1), target
