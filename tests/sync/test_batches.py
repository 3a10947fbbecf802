"""Batches of customers give what one whole-portfolio read gives, on SQLite and PostgreSQL.

A sandbox is pulled into the store over real HTTP; then the portfolio read 7 customers
at a time must hold the same customers, facts, unmatched report and benchmarks as
`load_portfolio`, and `health`, `plan` and a dry `run` (after one real run, so score
history, episodes and the write ledger are read) must print and report exactly the
same with batches of 7 as with one batch: the models that scored, the touchpoint
cadence and the CSM load included. The real run itself goes in batches of 7 and must
attach a report note to every account of the whole portfolio in each CRM.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.scoring import Engine, load_model
from csbridge.scoring.cadence import customer_cadence, share_on_cadence
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.signals import (
    SignalOptions,
    per_user_rates,
    portfolio_signals,
    with_benchmarks,
)
from csbridge.store.store import open_store
from csbridge.sync import batches as batches_module
from csbridge.sync.batches import Batches
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull
from csbridge.sync.run import run_sync
from csbridge_sandbox.runner import run_sandbox

ACCOUNTS = 40
SMALL, WHOLE = 7, 100_000


@pytest.fixture
def pulled(database_url: str, tmp_path: Path) -> Iterator[tuple[Path, datetime]]:
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=7, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = database_url
        data["reports"] = {"crm_notes": {"review": "monthly"}}
        config.write_text(yaml.safe_dump(data))
        store = open_store(database_url)
        try:
            assert pull(load_config(config), store).ok
        finally:
            store.close()
        yield config, sandbox.world.now


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    out = capsys.readouterr().out
    return out[out.index("{\n") :]  # logs may precede the document


def test_batches_read_what_the_whole_portfolio_read_gives(
    pulled: tuple[Path, datetime],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, now = pulled
    settings = load_config(config)
    store = open_store(settings.database_url)
    try:
        whole = load_portfolio(store, "domain", now)
        assert len(whole.customers) >= ACCOUNTS and whole.report.total > 0
        rates = [per_user_rates(c, now) for c in whole.customers]
        for size in (SMALL, WHOLE):
            batches = Batches(store, "domain", now, size=size)
            read = [list(batch) for batch in batches.customers()]
            assert len(read) == -(-len(whole.customers) // size)
            assert [c for batch in read for c in batch] == whole.customers
            assert batches.report_unmatched().rows() == whole.unmatched()
            got = batches.benchmarks(SignalOptions(), batches.keys)
            assert got.session_benchmark is not None
            assert got == with_benchmarks(SignalOptions(), rates)
        engine = Engine(load_model(settings.model))
        signals = portfolio_signals(whole.customers, now, engine.model, settings.signal_options())
        expected = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
        cadence = load_rules(settings.rules).cadence
        statuses = [
            customer_cadence(cadence, r.segment, c, now)
            for c, r in zip(whole.customers, expected, strict=True)
        ]
        in_crm = {
            crm: sum(1 for c in whole.customers if any(a.source == crm for a in c.accounts))
            for crm in settings.crm.targets
        }
    finally:
        store.close()

    def both(argv: list[str]) -> str:
        printed = []
        for size in (SMALL, WHOLE):
            monkeypatch.setattr(batches_module, "BATCH", size)
            printed.append(cli([*argv, "--config", str(config), "--now", now.isoformat()], capsys))
        assert printed[0] == printed[1], argv
        return printed[0]

    health = both(["health", "--format", "json"])
    document: dict[str, Any] = orjson.loads(health)
    assert health == orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    used = {"name": engine.model.name, "hash": engine.model_hash}
    assert document["accounts"] == [
        {
            **r.as_dict(),
            "model": used,
            "cadence": None if c is None else c.as_dict(),
            **{k: e[k] for k in ("name", "ids", "signals", "last_seen_at")},
            "given_by": s.given_by,
        }
        for r, c, s, e in zip(expected, statuses, signals, document["accounts"], strict=True)
    ]
    assert document["models"] == {f"{used['name']} ({used['hash']})": len(expected)}
    assert document["cadence"] == share_on_cadence(statuses)
    assert document["cadence"]["measured"] > 0
    assert document["unmatched"] == whole.unmatched()

    first = orjson.loads(both(["plan", "--format", "json"]))
    assert any(a["fields"] for a in first["accounts"])
    assert main(["init-crm", "--config", str(config)]) == 0
    monkeypatch.setattr(batches_module, "BATCH", SMALL)
    store = open_store(settings.database_url)
    try:
        ran = run_sync(settings, store, now, pull_first=False).as_dict()
    finally:
        store.close()
    assert ran["ok"], ran
    assert {crm: ran["crm"][crm]["notes_created"] for crm in in_crm} == in_crm
    assert min(in_crm.values()) > 0
    capsys.readouterr()
    assert orjson.loads(both(["plan", "--format", "json"])) != first  # the ledger is read
    reports = []
    for size in (SMALL, WHOLE):
        monkeypatch.setattr(batches_module, "BATCH", size)
        store = open_store(settings.database_url)
        try:
            report = run_sync(settings, store, now, dry_run=True, pull_first=False).as_dict()
        finally:
            store.close()
        timing = ("run_id", "duration_seconds", "steps_seconds")
        reports.append({k: v for k, v in report.items() if k not in timing})
    assert reports[0] == reports[1]
    assert reports[0]["accounts_scored"] >= ACCOUNTS
