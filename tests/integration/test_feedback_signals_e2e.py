"""The fields CSMs fill in, ticket ratings and executive logins end to end: a CSM sets the
fields `init-crm` created through each CRM's own SDK (simple-salesforce,
hubspot-api-client), the pull reads them back over HTTP from the sandbox, and the
seed-6d signals of the stored facts follow; the sandbox's Zendesk ratings and Mixpanel
users feed ticket_sentiment and exec_logins the same way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInput
from simple_salesforce import Salesforce

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.scoring import load_model
from csbridge.scoring.signals import CustomerSignals, portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.portfolio import load_portfolio
from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.model import World

M5, M6 = load_model("seed-5d"), load_model("seed-6d")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("inputs")
    with run_sandbox(port_base=0, accounts=30, seed=7, rate_limits="off") as running:
        yield running, running.write_config(tmp / "csbridge.yaml")


def salesforce(sandbox: Sandbox) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_cert_path)
    return Salesforce(
        instance_url=sandbox.urls["salesforce"], session_id="sandbox", session=session
    )


def pulled_signals(config: Path, world: World) -> tuple[dict[str, CustomerSignals], ...]:
    assert main(["pull", "--config", str(config)]) == 0
    store = open_store(load_config(config).database_url)
    try:
        customers = load_portfolio(store, "domain", world.now).customers
    finally:
        store.close()
    return tuple(
        {s.key: s for s in portfolio_signals(customers, world.now, model)} for model in (M5, M6)
    )


def test_csm_inputs_set_in_either_crm_are_read_back_into_their_indicators(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, config = sandbox
    accounts = sorted(running.world.accounts, key=lambda a: a.domain)
    by_sf, by_hs = accounts[0], accounts[1]
    sf = salesforce(running)
    sf.Account.update(
        by_sf.salesforce_id,
        {"Relationship_Quality__c": "difficult", "Days_Past_Due__c": 75, "Referrals_12m__c": 3},
    )
    empty = ("Relationship_Quality__c", "Community_Level__c", "Days_Past_Due__c")
    sf.Account.update(by_hs.salesforce_id, dict.fromkeys(empty))  # this team uses HubSpot
    HubSpot(
        access_token="pat-sandbox", host=running.urls["hubspot"]
    ).crm.companies.basic_api.update(
        by_hs.hubspot_id,
        SimplePublicObjectInput(
            properties={
                "cs_relationship_quality": "excellent",
                "cs_community_level": "active",
                "cs_days_past_due": "0",
            }
        ),
    )
    m5, m6 = pulled_signals(config, running.world)
    capsys.readouterr()
    sf_values, hs_values = m6[by_sf.domain].values, m6[by_hs.domain].values
    assert sf_values["relationship.relationship_quality"] == "difficult"
    assert sf_values["financial.payment_delay"] == 75
    assert m5[by_sf.domain].values["growth.referrals"] == 3
    assert hs_values["relationship.relationship_quality"] == "excellent"
    assert hs_values["financial.payment_delay"] == 0
    assert m5[by_hs.domain].values["engagement.community_activity"] == "active"


def test_ticket_ratings_and_executive_logins_come_through_the_pull(
    sandbox: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, config = sandbox
    world = running.world
    _, m6 = pulled_signals(config, world)
    capsys.readouterr()
    since = world.now - timedelta(days=180)
    checked = 0
    for account in world.accounts:
        rated = [
            t.satisfaction
            for t in world.tickets
            if t.org_id == account.zendesk_org_id
            and t.satisfaction in ("good", "bad")
            and t.status != "deleted"
            and since <= t.created_at <= world.now
        ]
        got = m6[account.domain].values.get("support.ticket_sentiment")
        if rated:
            assert got == pytest.approx(rated.count("good") / len(rated), abs=1e-4)
            checked += 1
        else:
            assert got is None
    assert checked >= 10
    logins = [s.values.get("engagement.exec_logins") for s in m6.values()]
    known = [v for v in logins if v is not None]
    assert len(known) >= 20 and len(set(known)) > 3  # most accounts, and it varies
