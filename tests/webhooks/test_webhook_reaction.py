"""Webhook alerts end as CRM tasks through rules → plan → apply, read back from the CRMs.

Real components: the sandbox (both CRMs), `csbridge init-crm`, a pull into SQLite, the
webhook app on a real server receiving signed requests, and `csbridge worker --drain`
(which wires `sync_reaction` because `crm.targets` is set). A Gainsight score drop
(35, was 75) and a HubSpot detractor answer (3/10) each end as exactly one task; a
redelivery and a replay of both rows create nothing more. The rules' notifications go
out through the same apply as `csbridge run`: each task's notification reaches a real
Standard Webhooks receiver exactly once, correctly signed. A Gainsight drop's Churn Risk
tag survives the next `csbridge run` (which plans no change for that account) and ends
only once the alert's hold (`webhooks.alert_hold_days`) is over.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import webhook_signing as signing
import yaml
from conftest import serve

from csbridge.cli import main
from csbridge.config import Settings, load_config
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.models import Account, Contact
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import SegmentModels
from csbridge.scoring.signals import CustomerFacts
from csbridge.store.store import Store, open_store
from csbridge.sync.cycle import in_targets, score_customers
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull
from csbridge.webhooks import worker
from csbridge.webhooks.app import create_app
from csbridge.webhooks.reaction import sync_reaction
from csbridge.webhooks.verify import verify_standard
from csbridge_sandbox.runner import Sandbox, run_sandbox

TOKEN = {"Authorization": "Bearer pat-sandbox-token"}
NOTIFY_SECRET = "whsec_" + "bm90aWZpY2F0aW9ucy1zZWNyZXQtMzItYnl0ZXMhIQ=="


@dataclass
class Notifications:
    """What the notification receiver was sent: (webhook-id, notification key) per post."""

    url: str = ""
    received: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def notifications() -> Iterator[Notifications]:
    state = Notifications()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            msg_id = verify_standard(body, headers, [NOTIFY_SECRET], datetime.now(UTC))
            state.received.append((msg_id, json.loads(body)["data"]["key"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class World:
    sandbox: Sandbox
    config: Path
    settings: Settings
    store: Store
    client: httpx.Client
    url: str


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, notifications: Notifications
) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("reaction")
    with run_sandbox(port_base=0, accounts=20, seed=11) as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp_path / 'state.db'}"
        data["webhooks"] = {
            "sources": {
                "hubspot": {"secrets": [signing.HUBSPOT_SECRET]},
                "gainsight": {"secrets": [signing.PLATFORM_SECRET], "scheme": "hmac"},
            }
        }
        data["notifications"] = {"webhook_url": notifications.url, "webhook_secret": NOTIFY_SECRET}
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        settings = load_config(config)
        store = open_store(settings.database_url)
        assert pull(settings, store).ok
        server, thread, port = serve(create_app(settings.webhooks, store.engine))
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as client:
            yield World(sandbox, config, settings, store, client, url)
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def gainsight_alert(world: World, domain: str, event_id: str = "gs-drop-1") -> None:
    body = signing.platform_event(
        event_id,
        account=domain,
        score=35,
        previous_score=75,
        occurred_at=datetime.now(UTC).isoformat(),
    )
    digest = hmac.new(signing.PLATFORM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"x-csbridge-signature": f"sha256={digest}", "content-type": "application/json"}
    assert (
        world.client.post("/webhooks/gainsight", content=body, headers=headers).status_code == 200
    )


def hubspot_nps(world: World, contact_id: str) -> None:
    event = {
        "eventId": 424242,
        "subscriptionType": "contact.propertyChange",
        "objectId": int(contact_id),
        "occurredAt": signing.now_ts() * 1000,
        "propertyName": "hs_feedback_last_nps_rating",
        "propertyValue": "3",
    }
    url = f"{world.url}/webhooks/hubspot"
    body = json.dumps([event]).encode()
    answer = world.client.post(url, content=body, headers=signing.hubspot_headers(url, body))
    assert answer.status_code == 200


def calm_customers(world: World) -> list[CustomerFacts]:
    """Customers with a domain whose own score and facts raise no churn risk today."""
    now = datetime.now(UTC)
    portfolio = load_portfolio(world.store, "domain", now)
    customers = in_targets(portfolio.customers, world.settings.crm.targets)
    rules = load_rules(world.settings.rules)
    scored = score_customers(
        customers, SegmentModels(Engine(load_model(world.settings.model))), rules, now
    )
    return [
        s.facts
        for s in scored
        if s.facts.accounts[0].domain
        and not any(a.kind == "task" and a.rule == "churn_risk" for a in s.evaluation.actions)
    ]


def pick_accounts(world: World) -> tuple[str, str, str, str]:
    """(domain, its customer) for the Gainsight alert; (HubSpot contact, its customer)."""
    calm = calm_customers(world)
    gainsight = calm[0]
    index = load_portfolio(world.store, "domain").index
    by_company = {
        a.id: index.resolve("hubspot", a.id)
        for a in world.store.load(Account)
        if a.source == "hubspot"
    }
    contact = next(
        c
        for c in world.store.load(Contact)
        if c.source == "hubspot"
        and c.account_id
        and by_company.get(c.account_id) not in (None, gainsight.key)
    )
    assert contact.account_id is not None
    customer = by_company[contact.account_id]
    assert customer is not None and gainsight.accounts[0].domain is not None
    return gainsight.accounts[0].domain, gainsight.key, contact.id, customer


def task_counts(world: World, keys: list[str]) -> dict[tuple[str, str], int]:
    """How many tasks carry each key, per CRM, read through each CRM's own API."""
    counts: dict[tuple[str, str], int] = {}
    search = {
        "filterGroups": [
            {"filters": [{"propertyName": "csbridge_task_key", "operator": "IN", "values": keys}]}
        ],
        "properties": ["csbridge_task_key"],
        "limit": 200,
    }
    answer = requests.post(
        f"{world.sandbox.urls['hubspot']}/crm/v3/objects/tasks/search",
        json=search,
        headers=TOKEN,
        timeout=10,
    )
    answer.raise_for_status()
    found = [("hubspot", t["properties"]["csbridge_task_key"]) for t in answer.json()["results"]]
    source = world.settings.sources.salesforce
    assert source is not None
    sf = open_salesforce(source, salesforce_client(source, world.settings.http))
    rows = sf.query_all("SELECT Id, Csbridge_Key__c FROM Task")["records"]
    found += [("salesforce", r["Csbridge_Key__c"]) for r in rows if r["Csbridge_Key__c"] in keys]
    for crm_key in found:
        counts[crm_key] = counts.get(crm_key, 0) + 1
    return counts


def drain(world: World, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["worker", "--config", str(world.config), "--drain"]) == 0
    return capsys.readouterr().out


def inbox(world: World, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["inbox", "list", "--config", str(world.config), "--format", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return sorted(rows, key=lambda r: r["id"])


def test_alerts_end_as_one_task_each_even_when_sent_and_replayed_again(
    world: World, notifications: Notifications, capsys: pytest.CaptureFixture[str]
) -> None:
    domain, dropped, contact, detractor = pick_accounts(world)
    today = datetime.now(UTC).date().isoformat()
    churn_key = f"{dropped}:churn_risk:{today}"
    nps_key = f"{detractor}:detractor:hubspot:hubspot-424242"

    gainsight_alert(world, domain)
    hubspot_nps(world, contact)
    assert "processed=2" in drain(world, capsys)
    rows = inbox(world, capsys)
    assert [(r["source"], r["status"]) for r in rows] == [
        ("gainsight", "processed"),
        ("hubspot", "processed"),
    ]
    assert churn_key in rows[0]["error"] and "task" in rows[0]["error"]
    assert nps_key in rows[1]["error"]
    first = task_counts(world, [churn_key, nps_key])
    for key in (churn_key, nps_key):
        per_crm = [n for (_, k), n in first.items() if k == key]
        assert per_crm and set(per_crm) == {1}, (key, first)
    # the rules' notification for each task, signed (the receiver verified it), once; the
    # detractor answer is also a churn-risk trigger (seed 001 playbook 3)
    sent = sorted(key for _msg, key in notifications.received)
    also = f"{detractor}:churn_risk:{today}:notify"
    assert sent == sorted([f"{churn_key}:notify", f"{nps_key}:notify", also])
    assert len({msg for msg, _key in notifications.received}) == 3

    # a new delivery of the same events is an inbox duplicate; a replay plans nothing new
    gainsight_alert(world, domain)
    hubspot_nps(world, contact)
    assert len(inbox(world, capsys)) == 2
    for row in rows:
        assert main(["inbox", "replay", "--config", str(world.config), str(row["id"])]) == 0
    assert "processed=2" in drain(world, capsys)
    again = inbox(world, capsys)
    assert [r["status"] for r in again] == ["processed", "processed"]
    assert all("created" not in r["error"] for r in again), again
    assert task_counts(world, [churn_key, nps_key]) == first
    assert sorted(key for _msg, key in notifications.received) == sent


def test_a_write_that_does_not_land_leaves_the_row_to_retry(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = next(
        c for c in reversed(calm_customers(world)) if any(a.source == "hubspot" for a in c.accounts)
    )
    company = next(a.id for a in customer.accounts if a.source == "hubspot")
    domain = customer.accounts[0].domain
    assert domain is not None
    churn_key = f"{customer.key}:churn_risk:{datetime.now(UTC).date().isoformat()}"
    hubspot = world.sandbox.control("hubspot")
    hubspot.arm({"kind": "reject_record", "object": "company", "id": company, "count": -1})
    try:
        gainsight_alert(world, domain, "gs-drop-2")
        gainsight_alert(world, "nobody.example", "gs-drop-3")
        capsys.readouterr()
        assert main(["worker", "--config", str(world.config), "--drain"]) == 1
        assert "a reaction failed (ReactionIncompleteError)" in capsys.readouterr().out
    finally:
        hubspot.clear()
    rows = {r["event_id"]: r for r in inbox(world, capsys)}
    assert rows["gs-drop-2"]["status"] == "claimed"

    # once the lease is over the row is claimed again; only what was missing goes out
    later = datetime.now(UTC) + timedelta(seconds=world.settings.webhooks.lease_seconds + 1)
    react = sync_reaction(world.settings, world.store)
    finished = [worker.run_once(world.store.engine, react, clock=lambda: later) for _ in range(2)]
    assert sorted(status for _, status in filter(None, finished)) == ["parked", "processed"]
    rows = {r["event_id"]: r for r in inbox(world, capsys)}
    assert rows["gs-drop-2"]["error"] == "reacted: hubspot: 1 record updated"
    assert rows["gs-drop-3"]["error"] == "unknown account: nobody.example"
    counts = task_counts(world, [churn_key])
    assert counts.get(("hubspot", churn_key)) == 1 and set(counts.values()) == {1}, counts


def churn_tagged(world: World, records: dict[str, str]) -> dict[str, bool]:
    """Whether each CRM's record (CRM → record id) carries the Churn Risk tag, read
    through that CRM's own API."""
    tagged = {}
    if "hubspot" in records:
        answer = requests.get(
            f"{world.sandbox.urls['hubspot']}/crm/v3/objects/companies/{records['hubspot']}",
            params={"properties": "cs_tags"},
            headers=TOKEN,
            timeout=10,
        )
        answer.raise_for_status()
        tagged["hubspot"] = "Churn Risk" in (answer.json()["properties"].get("cs_tags") or "")
    if "salesforce" in records:
        source = world.settings.sources.salesforce
        assert source is not None
        sf = open_salesforce(source, salesforce_client(source, world.settings.http))
        soql = f"SELECT CS_Tags__c FROM Account WHERE Id = '{records['salesforce']}'"
        row = sf.query_all(soql)["records"][0]
        tagged["salesforce"] = "Churn Risk" in (row["CS_Tags__c"] or "")
    return tagged


def account_plan(
    world: World, target: str, key: str, now: datetime, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any] | None:
    """What `csbridge plan` would change for customer `key` in `target` (None: nothing)."""
    capsys.readouterr()
    argv = ["plan", "--config", str(world.config), "--format", "json", "--target", target]
    assert main([*argv, "--now", now.isoformat()]) == 0
    out = capsys.readouterr().out
    accounts = json.loads(out[out.index("{") :])["accounts"]
    return next((a for a in accounts if a["account_id"] == key), None)


def test_a_platform_alert_holds_its_churn_risk_at_the_next_run_until_its_window_ends(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a customer whose own score (70+) would end a churn-risk episode (it stays below 65)
    calm = calm_customers(world)
    taken = {calm[0].key} | {
        next(c.key for c in reversed(calm) if any(a.source == "hubspot" for a in c.accounts))
    }
    now = datetime.now(UTC)
    engine, rules = Engine(load_model(world.settings.model)), load_rules(world.settings.rules)
    scored = score_customers(
        [c for c in calm if c.key not in taken], SegmentModels(engine), rules, now
    )
    customer = next(s.facts for s in scored if s.result.score is not None and s.result.score >= 70)
    targets = world.settings.crm.targets
    records = {a.source: a.id for a in customer.accounts if a.source in targets}
    assert customer.accounts[0].domain is not None and records

    gainsight_alert(world, customer.accounts[0].domain, "gs-hold-1")  # 35, was 75
    assert "processed=1" in drain(world, capsys)
    assert churn_tagged(world, records) == dict.fromkeys(records, True)

    # the next scheduled run keeps the tag and changes nothing for that account
    for target in records:
        assert account_plan(world, target, customer.key, datetime.now(UTC), capsys) is None
    assert main(["run", "--config", str(world.config)]) == 0
    assert churn_tagged(world, records) == dict.fromkeys(records, True)
    for target in records:
        assert account_plan(world, target, customer.key, datetime.now(UTC), capsys) is None

    # once the alert's hold is over, the run's own score decides: the episode ends
    monkeypatch.setenv("CSBRIDGE_WEBHOOKS__ALERT_HOLD_DAYS", "0.5")
    later = datetime.now(UTC) + timedelta(days=1)
    for target in records:
        changes = account_plan(world, target, customer.key, later, capsys)
        assert changes is not None and "Churn Risk" in changes["tags"]["removed"], changes
