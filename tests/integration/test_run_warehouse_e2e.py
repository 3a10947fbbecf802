"""End to end: usage from a PostgreSQL warehouse instead of Mixpanel, through `csbridge run`.

The sandbox's raw events are loaded into an `events` table in a PostgreSQL schema; the
config drops `sources.mixpanel` and adds `sources.warehouse` with the SQL that folds
them per account and day in the warehouse. `run` (real SDKs against the emulators,
state in SQLite) pulls the CRMs, Zendesk and the warehouse, scores and writes; every
usage signal of every account equals the one the Mixpanel export path gives on the
same sandbox, so the scores use the warehouse's usage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pg_schemas import postgres_schema

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.models import UsageDay
from csbridge.reports.source import ReportSource
from csbridge.store.store import open_store
from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.warehouse import USAGE_SQL, load_events
from csbridge_sandbox.world.usage import history_start

ACCOUNTS = 16
FEATURE_SIGNALS = ("usage.feature_adoption", "usage.feature_breadth")  # no feature counts here
# The warehouse's rows carry a day's user count, not Mixpanel's distinct-user sketch or event
# durations: these read from the busiest-day approximation (or not at all) there.
USER_SIGNALS = ("usage.dau_mau", "usage.session_frequency", "usage.time_in_product")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=11, rate_limits="off") as running:
        yield running


def config_file(sandbox: Sandbox, path: Path, warehouse: str | None) -> Path:
    data = sandbox.config(database_url=f"sqlite:///{path.with_suffix('.db')}")
    if warehouse is not None:
        del data["sources"]["mixpanel"]
        data["sources"]["warehouse"] = {
            "url": warehouse,
            "queries": {"daily_usage": {"sql": USAGE_SQL, "watermark": "day"}},
        }
    path.write_text(yaml.safe_dump(data))
    return path


def health(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    return {a["id"]: a for a in json.loads(out[out.index("{\n") :])["accounts"]}


def test_run_scores_with_usage_from_the_warehouse(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, now = sandbox.world, sandbox.world.now.isoformat()
    mixpanel = config_file(sandbox, tmp_path / "mixpanel.yaml", None)
    assert main(["pull", "--config", str(mixpanel)]) == 0
    expected = health(mixpanel, now, capsys)

    with postgres_schema() as url:
        load_events(url, world, history_start(world), world.now.date())
        config = config_file(sandbox, tmp_path / "warehouse.yaml", url)
        assert main(["init-crm", "--config", str(config)]) == 0
        report_path = tmp_path / "report.json"
        assert (
            main(["run", "--config", str(config), "--now", now, "--report", str(report_path)]) == 0
        )
        report = json.loads(report_path.read_text())
        got = health(config, now, capsys)

    assert report["ok"] and report["accounts_scored"] == len(world.accounts)
    store = open_store(f"sqlite:///{config.with_suffix('.db')}")
    try:
        assert store.load(UsageDay, source="mixpanel") == []
        usage = store.load(UsageDay, source="warehouse")
        cursor = store.get_cursor("warehouse.daily_usage")
    finally:
        store.close()
    assert len(usage) > ACCOUNTS * 30
    assert cursor is not None and cursor.token == max(d.day for d in usage).isoformat()
    compared = 0
    for account in world.accounts:
        mine, theirs = got[account.domain], expected[account.domain]
        signals = {
            k: v
            for k, v in theirs["signals"].items()
            if k.startswith("usage.") and k not in FEATURE_SIGNALS + USER_SIGNALS
        }
        assert {k: mine["signals"].get(k) for k in signals} == signals, account.domain
        assert mine["last_seen_at"] == theirs["last_seen_at"], account.domain
        for key in ("usage.dau_mau", "usage.session_frequency"):
            assert mine["signals"][key] is not None, (account.domain, key)  # usage arrived
        compared += 1
    assert compared == ACCOUNTS

    reports = ReportSource(load_config(config), world.now)  # the reports see it too
    try:
        facts = {f.key: f for f in reports.customers()}
    finally:
        reports.close()
    assert {a.domain for a in world.accounts} <= set(facts)
    assert all(
        {d.source for d in facts[a.domain].usage} == {"warehouse"}
        for a in world.accounts
        if facts[a.domain].usage
    )
    assert sum(len(facts[a.domain].usage) for a in world.accounts) == len(
        [d for d in usage if d.account_id in {a.domain for a in world.accounts}]
    )


def test_a_failing_warehouse_query_stops_pull_with_one_line_and_exit_2(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with postgres_schema() as url:
        config = config_file(sandbox, tmp_path / "broken.yaml", url)
        data = yaml.safe_load(config.read_text())
        data["sources"]["warehouse"]["queries"]["daily_usage"]["sql"] = USAGE_SQL.replace(
            "FROM events", "FROM event_log"
        )
        config.write_text(yaml.safe_dump(data))
        capsys.readouterr()
        assert main(["pull", "--config", str(config), "--source", "warehouse"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "warehouse query daily_usage: the warehouse refused it: " in err[0]
    assert 'relation "event_log" does not exist' in err[0] and "fix its SQL" in err[0]
