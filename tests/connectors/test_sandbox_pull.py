"""End to end: the connectors pull from the local sandbox emulators over real sockets, with
simple-salesforce over TLS; counts and values match the seeded world, and a second run from
the cursors is incremental (far fewer calls, nothing re-read beyond the lookback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from csbridge.config import Settings
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.streams import HubspotConnector
from csbridge.connectors.mixpanel.client import mixpanel_client
from csbridge.connectors.mixpanel.streams import MixpanelConnector
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import SalesforceCursor
from csbridge.connectors.salesforce.streams import SalesforceConnector
from csbridge.connectors.values import normalise_role
from csbridge.connectors.zendesk.client import zendesk_client
from csbridge.connectors.zendesk.streams import ZendeskConnector
from csbridge.http.client import CallAccounting
from csbridge.http.paginate import Page
from csbridge_sandbox.runner import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=40, seed=7, rate_limits="off") as sb:
        yield sb


def drain(pages: Iterator[Page[Any]]) -> tuple[list[Any], str | None]:
    records: list[Any] = []
    cursor = None
    for page in pages:
        records.extend(page.records)
        cursor = page.cursor or cursor
    return records, cursor


def settings(sandbox: Sandbox) -> Settings:
    return Settings(**sandbox.config())


def test_salesforce_full_then_incremental(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.salesforce
    assert src is not None
    world = sandbox.world
    first = CallAccounting()
    sf = SalesforceConnector(src, salesforce_client(src, Settings().http, first))
    accounts, account_cursor = drain(sf.accounts())
    contacts, contact_cursor = drain(sf.contacts())
    nps, _ = drain(sf.nps_answers())
    opps, _ = drain(sf.opportunities())
    assert {a.id: (a.domain, a.arr, a.renewal_date) for a in accounts} == {
        a.salesforce_id: (a.domain, float(a.arr), a.renewal_date) for a in world.accounts
    }
    assert len(contacts) == len(world.contacts) and len(opps) == len(world.opportunities)
    by_id = {c.salesforce_id: c for c in world.contacts}
    for contact in contacts:
        expected = by_id[contact.id]
        assert not expected.role or normalise_role(expected.role) in contact.roles
        assert contact.custom["Left_Company__c"] == expected.left_company
    assert sorted(r.score for r in nps) == sorted(float(a.score) for a in world.nps_answers)
    assert sf.api_usage() is not None

    second = CallAccounting()
    again = SalesforceConnector(src, salesforce_client(src, Settings().http, second))
    for stream, cursor, full in (
        (again.accounts, account_cursor, accounts),
        (again.contacts, contact_cursor, contacts),
    ):
        reread, cursor_after = drain(stream(cursor))
        since = SalesforceCursor.decode(cursor).modstamp - again.lookback
        assert len(reread) < len(full) and all(r.updated_at >= since for r in reread)
        assert cursor_after == cursor
    assert second.count() < first.count()


def test_salesforce_activities_through_simple_salesforce(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.salesforce
    assert src is not None
    world = sandbox.world
    calls = CallAccounting()
    sf = SalesforceConnector(src, salesforce_client(src, Settings().http, calls))
    tasks, task_cursor = drain(sf.tasks())
    events, _ = drain(sf.events())
    members, _ = drain(sf.campaign_members())
    made = world.activities
    account_of = {a.key: a.salesforce_id for a in world.accounts}
    logged = [e for e in made.engagements if e.kind in ("email", "call")]
    assert {t.id: (t.kind, t.account_id) for t in tasks} == {
        e.salesforce_id: (e.kind, account_of[e.account_key]) for e in logged
    }
    calls_in = {e.salesforce_id for e in logged if e.kind == "call" and e.direction == "inbound"}
    assert {t.id for t in tasks if t.direction == "inbound"} == calls_in
    meetings = {e.salesforce_id: e for e in made.engagements if e.kind == "meeting"}
    assert {e.id for e in events} == set(meetings)
    assert {e.status for e in events} == {"Completed", "No Show", "Canceled"}
    assert all(e.occurred_at == meetings[e.id].at for e in events)
    assert {m.id: (m.attended, m.account_id) for m in members} == {
        i.salesforce_id: (i.attended, account_of[i.account_key]) for i in made.invitations
    }
    assert {m.subtype for m in members} == {"Webinar", "Event", "Training"}
    assert drain(sf.tasks(task_cursor))[1] == task_cursor
    emails, _ = drain(sf.email_messages())
    sent = {e.email_id: e for e in made.engagements if e.email_id}
    assert {m.id: (m.direction, m.opened, m.account_id) for m in emails} == {
        i: (e.direction, e.opened, account_of[e.account_key]) for i, e in sent.items()
    }


def test_zendesk_full_then_incremental(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.zendesk
    assert src is not None
    world = sandbox.world
    calls = CallAccounting()
    zd = ZendeskConnector(zendesk_client(src, Settings().http, calls))
    tickets, cursor = drain(zd.tickets())
    orgs, _ = drain(zd.organizations())
    ratings, _ = drain(zd.satisfaction_ratings())
    assert {t.id for t in tickets} == {str(t.id) for t in world.tickets}
    assert {o.id for o in orgs} == {str(o.id) for o in world.zendesk_orgs}
    org_of = {str(t.id): str(t.org_id) for t in world.tickets}
    answered = [r for r in world.satisfaction_ratings if r.score in ("good", "bad")]
    assert len(ratings) == len(answered)
    assert all(r.account_id == org_of[r.ticket_id] for r in ratings)
    assert calls.count(endpoint="tickets/show_many") == 0  # all joined from this run's tickets

    before = calls.count(endpoint="incremental/tickets")
    assert drain(zd.tickets(cursor))[0] == []
    assert calls.count(endpoint="incremental/tickets") == before + 1


def test_mixpanel_usage_full_then_incremental(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.mixpanel
    assert src is not None
    calls = CallAccounting()
    mp = MixpanelConnector(src, mixpanel_client(src, Settings().http, calls))
    days, cursor = drain(mp.usage_days())
    domains = {plan.domain for plan in sandbox.world.usage_plans}  # incl. unmatched ones
    assert days and {d.account_id for d in days} <= domains
    assert all(d.active_users >= 1 and d.sessions >= 1 and d.events >= d.sessions for d in days)
    assert mp.stats.unattributed == 0 and mp.stats.invalid == 0
    full = calls.count()
    _, again = drain(mp.usage_days(cursor))
    assert again == cursor and calls.count() - full < full / 5


def test_hubspot_full_then_incremental(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.hubspot
    assert src is not None
    world = sandbox.world
    calls = CallAccounting()
    hs = HubspotConnector(hubspot_client(src, Settings().http, calls))
    companies, company_cursor = drain(hs.companies())
    contacts, contact_cursor = drain(hs.contacts())
    feedback, _ = drain(hs.feedback_submissions())
    owners, _ = drain(hs.owners())
    assert {c.id: c.domain for c in companies} == {a.hubspot_id: a.domain for a in world.accounts}
    company_of = {a.key: a.hubspot_id for a in world.accounts}
    assert {c.id: c.account_id for c in contacts} == {
        c.hubspot_id: company_of[c.account_key] for c in world.contacts
    }
    assert sorted(f.score for f in feedback) == sorted(float(n.score) for n in world.nps_answers)
    assert {o.email for o in owners} >= {o.email for o in world.owners}

    full = calls.count()
    reread, cursor_after = drain(hs.companies(company_cursor))
    assert len(reread) < len(companies) and cursor_after == company_cursor
    assert drain(hs.contacts(contact_cursor))[1] == contact_cursor
    assert calls.count() - full == 2


def test_hubspot_engagements_with_their_companies(sandbox: Sandbox) -> None:
    src = settings(sandbox).sources.hubspot
    assert src is not None
    world = sandbox.world
    calls = CallAccounting()
    hs = HubspotConnector(hubspot_client(src, Settings().http, calls))
    company_of = {a.key: a.hubspot_id for a in world.accounts}
    made = {e.hubspot_id: e for e in world.activities.engagements}
    pulled = []
    for object_type in ("calls", "emails", "meetings", "notes"):
        records, cursor = drain(hs.activities(object_type))
        pulled += records
        assert drain(hs.activities(object_type, cursor))[1] == cursor
    assert {a.id: (a.kind, a.account_id) for a in pulled} == {
        i: (e.kind, company_of[e.account_key]) for i, e in made.items()
    }
    assert all(a.direction == made[a.id].direction for a in pulled)
    assert {a.status for a in pulled if a.kind == "meeting"} == {"COMPLETED", "NO_SHOW", "CANCELED"}
    contacts, _ = drain(hs.contacts())
    marketing = {c.hubspot_id: world.activities.marketing.get(c.key) for c in world.contacts}
    assert {c.id: marketing[c.id] for c in contacts if c.emails_delivered is not None} == {
        i: m for i, m in marketing.items() if m is not None
    }
    assert all(
        (c.emails_delivered, c.emails_opened, c.emails_clicked) == marketing[c.id]
        for c in contacts
        if c.emails_delivered is not None
    )
