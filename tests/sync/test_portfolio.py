"""`load_customer`: one customer's facts, as `load_portfolio` groups them, on a real store.

Mixpanel group keys and warehouse accounts join by their value however it is spelled
(case, `www.`), and a
Zendesk organization joins by its domain, so reading one customer must find facts
under ids that are not the customer's key: each case here is one the full load joins.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from csbridge.models import Account, IndicatorValue, Ticket, UsageDay
from csbridge.store.store import Store, open_store
from csbridge.sync.batches import Batches
from csbridge.sync.portfolio import load_customer, load_portfolio

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    s.upsert(
        [
            Account(source="hubspot", id="1", name="Acme", domain="acme.com"),
            Account(source="salesforce", id="001A", name="Acme", domain="acme.com"),
            Account(source="hubspot", id="2", name="Other", domain="other.io"),
            Account(source="zendesk", id="900", name="Acme support", domain="acme.com"),
            *[
                UsageDay(
                    source="mixpanel",
                    id=UsageDay.usage_id(group, date(2026, 11, day)),
                    account_id=group,
                    day=date(2026, 11, day),
                    active_users=3,
                    sessions=9,
                )
                for group in ("acme.com", "WWW.Acme.com", "other.io")
                for day in (20, 21)
            ],
            UsageDay(
                source="warehouse",
                id=UsageDay.usage_id("acme.com", date(2026, 11, 22)),
                account_id="acme.com",
                day=date(2026, 11, 22),
                active_users=4,
            ),
            *[
                IndicatorValue(
                    source="warehouse",
                    id=f"{group}:usage.dau_mau",
                    account_id=group,
                    indicator="usage.dau_mau",
                    value=0.3,
                )
                for group in ("WWW.Other.io", "nobody.org")  # only values, no usage
            ],
            Ticket(source="zendesk", id="t1", account_id="900", status="open", created_at=NOW),
            Ticket(source="zendesk", id="t2", account_id="901", status="open", created_at=NOW),
        ]
    )
    yield s
    s.close()


def test_one_customer_has_the_facts_the_full_load_gives_it(store: Store) -> None:
    whole = {c.key: c for c in load_portfolio(store, "domain", NOW).customers}
    acme = load_customer(store, "salesforce", "001A", "domain", NOW).customers
    assert acme == [whole["acme.com"]]
    assert {(d.source, d.account_id) for d in acme[0].usage} == {
        ("mixpanel", "acme.com"),
        ("mixpanel", "WWW.Acme.com"),
        ("warehouse", "acme.com"),
    }
    assert acme[0].systems >= {"mixpanel", "warehouse"}
    assert [t.id for t in acme[0].tickets] == ["t1"]
    assert load_customer(store, "zendesk", "900", "domain", NOW).customers == acme
    assert load_customer(store, "hubspot", "2", "domain", NOW).customers == [whole["other.io"]]
    assert load_customer(store, "hubspot", "3", "domain", NOW).customers == []


def test_indicator_values_join_their_customer_alone_or_in_batches(store: Store) -> None:
    whole = load_portfolio(store, "domain", NOW)
    other = load_customer(store, "hubspot", "2", "domain", NOW).customers
    assert [(v.account_id, v.value) for v in other[0].indicators] == [("WWW.Other.io", 0.3)]
    assert other == [c for c in whole.customers if c.key == "other.io"]
    assert "warehouse" in other[0].systems
    batches = Batches(store, "domain", NOW, size=1)
    assert [c for batch in batches.customers() for c in batch] == whole.customers
    assert batches.report_unmatched().rows() == whole.unmatched()
    assert any("nobody.org" in row["examples"] for row in whole.unmatched())
