"""End to end over real HTTP: sandbox → `csbridge pull` (real SDKs) → `csbridge health`.

Every sandbox CRM account is scored with data behind it; the ~2 % Zendesk
organizations and Mixpanel group keys that match no CRM account are reported with
counts and examples (not dropped); the sandbox's behaviour profiles order the scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest
import yaml

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.distinct import EXACT_LIMIT, STANDARD_ERROR
from csbridge.scoring import load_model
from csbridge.scoring.signal_groups import per_user_rates, usage_windows
from csbridge.scoring.signal_rules import distinct_users
from csbridge.scoring.signals import compute_signals, with_benchmarks
from csbridge.store.store import open_store
from csbridge.sync.cycle import in_targets
from csbridge.sync.portfolio import load_customer, load_portfolio, usage_rates
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.names import FEATURES
from csbridge_sandbox.world.usage import iter_events_between

ACCOUNTS = 50


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    tmp = tmp_path_factory.mktemp("health")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
        config.write_text(yaml.safe_dump(data))
        store = open_store(data["database_url"])
        try:
            assert pull(load_config(config), store).ok  # the full first pull, for every test
        finally:
            store.close()
        yield sandbox, config, sandbox.world.now.isoformat()


def json_out(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text[text.index("{\n") :])  # logs may precede it
    return document


def test_pull_reports_unmatched_then_health_scores_every_crm_account(
    pulled: tuple[Sandbox, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config, now = pulled
    world = sandbox.world
    assert main(["pull", "--config", str(config), "--json"]) == 0  # incremental, CLI report
    pull_report = json_out(capsys.readouterr().out)
    orphan_orgs = {str(o.id) for o in world.zendesk_orgs if o.account_key is None}
    crm_domains = {a.domain for a in world.accounts}
    orphan_groups = {p.domain for p in world.usage_plans if p.domain not in crm_domains}
    assert orphan_orgs and orphan_groups  # the sandbox's deliberate ~2 %
    unmatched = {(u["source"], u["kind"]): u for u in pull_report["unmatched"]}
    assert unmatched[("zendesk", "accounts")]["count"] == len(orphan_orgs)
    assert set(unmatched[("zendesk", "accounts")]["examples"]) <= orphan_orgs

    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    health = json_out(capsys.readouterr().out)
    assert health["model"]["name"] == "seed-5d"
    scored = {a["id"]: a for a in health["accounts"]}
    assert set(scored) == crm_domains  # every CRM account, keyed by its domain
    for account in world.accounts:
        entry = scored[account.domain]
        assert entry["ids"]["salesforce"] == account.salesforce_id
        assert entry["ids"]["zendesk"] == str(account.zendesk_org_id)
        assert entry["coverage"] > 0 and entry["score"] is not None
        assert set(entry["signals"]) >= {"satisfaction.support_tickets", "usage.dau_mau"}

    # CSM load: every account counted once, in its owner's book, against its segment's ratio
    load = health["csm_load"]
    assert sum(row["accounts"] for row in load) == len(world.accounts)
    assert sum(row["arr"] for row in load) == pytest.approx(sum(a.arr for a in world.accounts))
    for row in load:
        assert row["segment"] is not None and row["accounts_per_csm"] > 0
        assert row["load"] == pytest.approx(row["accounts"] / row["accounts_per_csm"])
    assert len({row["owner"] for row in load}) > 1

    report = {(u["source"], u["kind"]): u for u in health["unmatched"]}
    orgs = report[("zendesk", "accounts")]
    assert orgs["count"] == len(orphan_orgs) and set(orgs["examples"]) <= orphan_orgs
    groups = report[("mixpanel", "group keys")]
    assert groups["count"] == len(orphan_groups) and set(groups["examples"]) <= orphan_groups
    orphan_tickets = [t for t in world.tickets if str(t.org_id) in orphan_orgs]
    assert report[("zendesk", "tickets")]["count"] == len(orphan_tickets)

    by_profile: dict[str, list[float]] = {}
    for account in world.accounts:
        by_profile.setdefault(account.profile, []).append(scored[account.domain]["score"])
    assert fmean(by_profile["champion"]) > fmean(by_profile["at_risk"]) + 10
    # last product event, for the silent-account rule: silent ones 14+ days ago, champions lately
    seen = {d: datetime.fromisoformat(e["last_seen_at"]) for d, e in scored.items()}
    silent = [seen[a.domain] for a in world.accounts if a.profile == "silent"]
    assert silent and max(silent) < world.now - timedelta(days=14)
    champions = [seen[a.domain] for a in world.accounts if a.profile == "champion"]
    assert min(champions) > world.now - timedelta(days=4)


def test_health_seed_6d_table_with_unmatched_lines(
    pulled: tuple[Sandbox, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config, now = pulled
    assert main(["pull", "--config", str(config), "--source", "zendesk"]) == 0
    summary = capsys.readouterr().out
    assert f"customers: {len(sandbox.world.accounts)}, unmatched: " in summary
    assert "zendesk accounts: " in summary
    data = yaml.safe_load(config.read_text())
    data["model"] = "seed-6d"
    six = tmp_path / "six.yaml"
    six.write_text(yaml.safe_dump(data))
    code = main(["health", "--config", str(six), "--now", now])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("account"))
    assert "financial" in lines[header] and "support" in lines[header]
    rows = [line.split()[0] for line in lines[header + 2 :] if line and not line[0].isspace()]
    assert {a.domain for a in sandbox.world.accounts} <= set(rows)
    assert any(line.startswith("CSM load") for line in lines)
    assert any(line.startswith("unmatched: ") for line in lines)
    assert any("mixpanel group keys" in line for line in lines)


def test_health_errors_are_one_line(
    pulled: tuple[Sandbox, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config, _ = pulled
    assert main(["health", "--config", str(config), "--now", "yesterday"]) == 2
    assert "--now 'yesterday'" in capsys.readouterr().err
    bad = tmp_path / "signals.yaml"
    bad.write_text("key_feature: [x]\n")
    assert main(["health", "--config", str(config), "--signals", str(bad)]) == 2
    assert "key_feature: unknown key" in capsys.readouterr().err
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'none.db'}"}))
    assert main(["health", "--config", str(empty)]) == 2
    assert "run `csbridge pull`" in capsys.readouterr().err


def test_one_customer_loads_the_same_facts_as_the_whole_portfolio(
    pulled: tuple[Sandbox, Path, str],
) -> None:
    """A webhook reaction reads one customer (`load_customer`) and the benchmarks' rates
    from 30 days of usage (`usage_rates`): each must equal what the full load gives."""
    _sandbox, config, now_text = pulled
    now = datetime.fromisoformat(now_text)
    store = open_store(load_config(config).database_url)
    try:
        whole = load_portfolio(store, "domain", now)
        assert len(whole.customers) == ACCOUNTS
        for customer in whole.customers:
            for account in customer.accounts:
                one = load_customer(store, account.source, account.id, "domain", now)
                assert one.customers == [customer], (account.source, account.id)
        assert sum(len(c.usage) for c in whole.customers) > 0
        assert load_customer(store, "hubspot", "no-such-company", "domain", now).customers == []
        for targets in (["hubspot"], ["salesforce", "hubspot"]):
            expected = [per_user_rates(c, now) for c in in_targets(whole.customers, targets)]
            assert any(sessions for sessions, _ in expected)
            assert usage_rates(store, whole.index, now, targets) == expected
    finally:
        store.close()


def test_usage_signals_count_the_worlds_distinct_users_features_and_time(
    pulled: tuple[Sandbox, Path, str],
) -> None:
    """Through the export, the fold and the store: MAU is the world's distinct users of
    the 30 days (exact up to 128, else within 3 standard errors), adoption the share of
    the features it used, time in product the durations its events carried."""
    sandbox, config, now_text = pulled
    world, now = sandbox.world, datetime.fromisoformat(now_text)
    settings = load_config(config)
    store = open_store(settings.database_url)
    try:
        portfolio = load_portfolio(store, "domain", now)
    finally:
        store.close()
    first, last = now.date() - timedelta(days=30), now.date() - timedelta(days=1)
    truth: dict[str, tuple[set[str], set[str], float]] = {}
    seen: set[str] = set()
    for event in iter_events_between(world, first, last):
        props = event["properties"]
        if props["$insert_id"] in seen:
            continue  # the world's deliberate duplicates, which the pull drops
        seen.add(props["$insert_id"])
        users, features, seconds = truth.setdefault(props["company_domain"], (set(), set(), 0.0))
        users.add(props["distinct_id"])
        if "feature" in props:
            features.add(props["feature"])
        truth[props["company_domain"]] = (users, features, seconds + props.get("$duration", 0))
    options = with_benchmarks(settings.signal_options(), [(1.0, 1.0)])  # raw minutes per user
    checked, times = 0, set()
    for customer in portfolio.customers:
        if customer.key not in truth:
            continue
        users, features, seconds = truth[customer.key]
        mau = distinct_users(usage_windows(customer, now)[0])
        exact = len(users) <= EXACT_LIMIT
        assert abs(mau - len(users)) <= (0 if exact else 3 * STANDARD_ERROR * len(users))
        values = compute_signals(customer, now, load_model("seed-5d"), options).catalogue
        assert values["feature_adoption"] == len(features) / len(FEATURES)
        assert values["time_in_product"] == pytest.approx(seconds / 60 / mau, rel=1e-3)
        times.add(values["time_in_product"])
        checked += 1
    assert checked > ACCOUNTS / 2 and len(times) > checked / 2  # not one value for all
