"""`csbridge history export` from a real store (SQLite and PostgreSQL): stored signals,
churn read from CRM facts, horizon and censoring, then `backtest` reads the file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from csbridge.cli import main
from csbridge.models import Account, Opportunity
from csbridge.store.store import open_store
from csbridge.sync.history import HistoryEntry, save_history


def at(y: int, m: int, d: int, h: int = 6) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def scored(key: str, dau: float) -> HistoryEntry:
    return HistoryEntry(key, 50.0, "attention", 1.0, {}, {}, {"usage.dau_mau": dau})


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    store = open_store(database_url)
    store.upsert(
        [
            # churned by lifecycle stage, on the day the record last changed
            Account(
                source="hubspot",
                id="1",
                name="Acme",
                domain="acme.com",
                lifecycle_stage="Churned",
                updated_at=at(2026, 6, 15),
            ),
            # churned by a renewal closed lost
            Account(source="salesforce", id="001B", name="Beta", domain="beta.io"),
            Opportunity(
                source="salesforce",
                id="o1",
                account_id="001B",
                kind="renewal",
                is_closed=True,
                is_won=False,
                close_date=date(2026, 5, 10),
            ),
            # churned by a custom field holding the date
            Account(
                source="salesforce",
                id="001C",
                name="Gamma",
                domain="gamma.dev",
                custom={"Churned_On__c": "2026-09-01"},
            ),
            # stayed: a renewal won
            Account(source="salesforce", id="001D", name="Delta", domain="delta.org"),
            Opportunity(
                source="salesforce",
                id="o2",
                account_id="001D",
                kind="renewal",
                is_closed=True,
                is_won=True,
                close_date=date(2026, 5, 1),
            ),
        ]
    )
    keys = ["acme.com", "beta.io", "gamma.dev", "delta.org"]
    save_history(store, [scored(k, 0.1) for k in keys], at(2026, 3, 1, 5), model_hash="m")
    save_history(store, [scored(k, 0.2) for k in keys], at(2026, 3, 1, 7), model_hash="m")
    save_history(store, [scored(k, 0.3) for k in keys], at(2026, 7, 1), model_hash="m")
    save_history(store, [scored(k, 0.4) for k in keys], at(2026, 10, 1), model_hash="m")
    # a row stored before signals were kept is not exported
    save_history(
        store, [HistoryEntry("delta.org", 1.0, "x", 1.0, {}, {})], at(2026, 2, 1), model_hash="m"
    )
    store.close()
    path = tmp_path / "config.yaml"
    path.write_text(f"database_url: '{database_url}'\n")
    return path


def test_export_labels_churn_from_crm_facts(config: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "history.jsonl"
    args = ["history", "export", "--config", str(config), "--out", str(out)]
    assert main([*args, "--churn-field", "Churned_On__c", "--now", "2026-11-01"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    got = {(r["id"], r["as_of"]): (r["signals"]["usage.dau_mau"], r["outcome"]) for r in lines}
    no = {"churned": False, "date": None}
    assert got == {
        # 2026-03-01: the day's last run (0.2); churn within 90 days?
        ("acme.com", "2026-03-01"): (0.2, no),  # churned 2026-06-15: 106 days later
        ("beta.io", "2026-03-01"): (0.2, {"churned": True, "date": "2026-05-10"}),
        ("gamma.dev", "2026-03-01"): (0.2, no),
        ("delta.org", "2026-03-01"): (0.2, no),
        # 2026-07-01: acme and beta had gone (left out); gamma churns 62 days later
        ("gamma.dev", "2026-07-01"): (0.3, {"churned": True, "date": "2026-09-01"}),
        ("delta.org", "2026-07-01"): (0.3, no),
        # 2026-10-01: delta's horizon ends after --now (unknown yet); the others had gone
    }
    summary = capsys.readouterr().out
    assert "6 snapshots of 4 accounts" in summary
    assert "1 whose horizon has not ended, 5 after the churn" in summary  # acme, beta x2; gamma
    assert main(["backtest", "--history", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["churned"] == 2


def test_without_the_churn_field_gamma_stays(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.jsonl"
    args = ["history", "export", "--config", str(config), "--out", str(out), "--now", "2026-11-01"]
    assert main(args) == 0
    gamma = [json.loads(x) for x in out.read_text().splitlines() if "gamma" in x]
    assert [g["outcome"]["churned"] for g in gamma] == [False, False]
