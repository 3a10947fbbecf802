"""End to end: indicator values from a PostgreSQL warehouse beside the sandbox's systems.

The config keeps every sandbox source and adds `sources.warehouse` with one signals
query over an `account_signals` table in a PostgreSQL schema. `pull` (real SDKs against
the emulators, state in SQLite) stores the values; `health --format json` shows the
warehouse's value in place of the computed one for the accounts it covers only, and
names the warehouse in `given_by`; a dated value changed in the warehouse between two
pulls is kept as history, so `health --now` at the earlier moment gives the earlier
value and `plan`'s "why" says where it came from; a value the model cannot take stops
the pull with one line naming the query and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pg_schemas import postgres_schema
from sqlalchemy import create_engine, text

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox

SQL = (
    "SELECT account, indicator, value, loaded_at FROM account_signals "
    "WHERE loaded_at >= :watermark ORDER BY loaded_at"
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=6, seed=5, rate_limits="off") as running:
        yield running


DATED_SQL = (
    "SELECT account, indicator, value, as_of, loaded_at FROM account_signals "
    "WHERE loaded_at >= :watermark ORDER BY loaded_at"
)


def config_file(sandbox: Sandbox, path: Path, warehouse: str, sql: str = SQL) -> Path:
    data = sandbox.config(database_url=f"sqlite:///{path.with_suffix('.db')}")
    data["sources"]["warehouse"] = {
        "url": warehouse,
        "queries": {"health_inputs": {"sql": sql, "kind": "signals"}},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def add_signals(url: str, rows: list[tuple[str, str, str]]) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE account_signals (account TEXT, indicator TEXT, value TEXT, "
                "loaded_at TIMESTAMPTZ DEFAULT now())"
            )
        )
        for account, indicator, value in rows:
            connection.execute(
                text("INSERT INTO account_signals (account, indicator, value) VALUES (:a, :i, :v)"),
                {"a": account, "i": indicator, "v": value},
            )
    engine.dispose()


def health_accounts(
    config: Path, now: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    return {a["id"]: a for a in json.loads(out[out.index("{\n") :])["accounts"]}


def health(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return {key: a["signals"] for key, a in health_accounts(config, now, capsys).items()}


def test_pull_then_health_shows_the_warehouse_value_of_an_indicator(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = sandbox.world.now.isoformat()
    first, second, *others = [a.domain for a in sandbox.world.accounts]
    with postgres_schema() as url:
        add_signals(
            url,
            [
                (f"https://www.{first}/", "usage.dau_mau", "0.0123"),
                (first, "engagement.community_activity", "contributor"),
                (second, "satisfaction.nps", "3"),
            ],
        )
        config = config_file(sandbox, tmp_path / "signals.yaml", url)
        assert main(["pull", "--config", str(config)]) == 0
        got = health(config, now, capsys)
    assert got[first]["usage.dau_mau"] == 0.0123
    assert got[first]["engagement.community_activity"] == "contributor"
    assert got[second]["satisfaction.nps"] == 3
    assert got[second]["usage.dau_mau"] not in (None, 0.0123)  # computed from Mixpanel
    assert all(got[o].get("engagement.community_activity") != "contributor" for o in others)


def test_a_value_changed_between_pulls_is_kept_as_history_and_named_in_the_why(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warehouse keeps only the current value; csbridge keeps each dated one."""
    now = sandbox.world.now
    first, second, *_ = sandbox.world.accounts
    before, earlier, after = (now - timedelta(days=d) for d in (25, 10, 0))
    with postgres_schema() as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE account_signals (account TEXT, indicator TEXT, value TEXT, "
                    "as_of DATE, loaded_at TIMESTAMPTZ DEFAULT now())"
                )
            )
            connection.execute(
                text("INSERT INTO account_signals VALUES (:a, 'usage.dau_mau', '0.0123', :d)"),
                {"a": first.domain, "d": (now - timedelta(days=20)).date()},
            )
        config = config_file(sandbox, tmp_path / "history.yaml", url, DATED_SQL)
        assert main(["pull", "--config", str(config)]) == 0
        with engine.begin() as connection:  # the value changes in place, a later date
            connection.execute(
                text("UPDATE account_signals SET value = '0.3', as_of = :d, loaded_at = now()"),
                {"d": (now - timedelta(days=5)).date()},
            )
        engine.dispose()
        assert main(["pull", "--config", str(config), "--source", "warehouse"]) == 0
        at = {m: health_accounts(config, m.isoformat(), capsys) for m in (before, earlier, after)}
        why = plan_why(config, earlier.isoformat(), capsys)
    assert at[earlier][first.domain]["signals"]["usage.dau_mau"] == 0.0123
    assert at[after][first.domain]["signals"]["usage.dau_mau"] == 0.3
    assert at[before][first.domain]["signals"]["usage.dau_mau"] not in (0.0123, 0.3)
    assert at[after][first.domain]["given_by"] == {"usage.dau_mau": "warehouse"}
    assert at[before][first.domain]["given_by"] == {} == at[after][second.domain]["given_by"]
    assert "DAU/MAU (1%, warehouse, 0/100)" in why[first.salesforce_id]
    assert "warehouse" not in why[second.salesforce_id]


def plan_why(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Each Salesforce record's planned "why" text."""
    capsys.readouterr()
    assert main(["plan", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    accounts = json.loads(out[out.index("{\n") :])["accounts"]
    return {
        a["record_id"]: f["after"]
        for a in accounts
        for f in a["fields"]
        if f["field"] == "Health_Why__c"
    }


def test_a_value_the_model_cannot_take_stops_pull_with_one_line_and_exit_2(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = sandbox.world.accounts[0].domain
    with postgres_schema() as url:
        add_signals(url, [(domain, "usage.dau_mau", "high")])
        config = config_file(sandbox, tmp_path / "bad.yaml", url)
        capsys.readouterr()
        assert main(["pull", "--config", str(config), "--source", "warehouse"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert (
        f"warehouse query health_inputs: column value of account {domain!r}, indicator "
        "usage.dau_mau is 'high', not a number; cast or map it in the SQL"
    ) in err[0]
