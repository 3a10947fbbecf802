"""Vendor text a database cannot hold (NUL, lone surrogates, over-long values) is cleaned
or fitted at the store's edge on SQLite and PostgreSQL, so one bad record never aborts a
page: the rest of the page is stored with it, and the run report can be saved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from csbridge.models import Account, Ticket
from csbridge.store import Store, open_store
from csbridge.store.facts import storable_record
from csbridge.store.tables import accounts, runs

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BAD = "Acme\x00 Corp \ud800 \x00"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def hostile_account() -> Account:
    return Account(
        source="hubspot",
        id="1\x00",
        name=BAD,
        domain="acme.com",
        custom={"note\x00": "nul\x00 inside json", "list": "a\udfffb"},
        updated_at=T0,
    )


def test_a_page_with_nul_and_lone_surrogates_is_stored_whole(store: Store) -> None:
    plain = Account(source="hubspot", id="2", name="Plain", domain="plain.com", updated_at=T0)
    ticket = Ticket(
        source="zendesk", id="7", status="open", created_at=T0, tags=("vip\x00", "x\ud83d")
    )
    assert store.save_page([hostile_account(), plain, ticket]) == 3

    stored = {a.id: a for a in store.load(Account)}
    assert set(stored) == {"1", "2"}
    assert stored["1"].name == "Acme Corp \ufffd "
    assert stored["1"].custom == {"note": "nul inside json", "list": "a\ufffdb"}
    assert stored["2"].name == "Plain"
    assert store.load(Ticket)[0].tags == ("vip", "x\ufffd")


def test_storable_record_names_the_fields_it_changed() -> None:
    clean, fields = storable_record(hostile_account())
    assert fields == ["custom", "id", "name"]
    assert clean.id == "1" and "\x00" not in clean.name
    plain = Account(source="hubspot", id="2", name="Plain", updated_at=T0)
    assert storable_record(plain) == (plain, [])


def test_over_long_values_fit_their_columns_and_stay_distinct(store: Store) -> None:
    long_domain = "a" * 290 + ".example.com"
    rows = [
        Account(source="hubspot", id=f"{n}" * 300, name="N" * 600, domain=long_domain + str(n))
        for n in (1, 2)
    ]
    assert store.save_page(rows) == 2
    with store.engine.connect() as connection:
        stored = connection.execute(select(accounts.c.id, accounts.c.name, accounts.c.domain))
        found = sorted(stored)
    assert len({row.id for row in found}) == 2 and len({row.domain for row in found}) == 2
    for row in found:
        assert len(row.id) == 255 and len(row.domain) == 255
        assert len(row.name) == 512 and row.name.endswith("…")
    assert {a.name for a in store.load(Account)} == {"N" * 600}  # the payload keeps it whole


def test_a_run_report_with_vendor_text_is_saved(store: Store) -> None:
    run_id = store.start_run("pull")
    store.finish_run(run_id, "partial", {"stopped": {"zendesk.tickets": "bad \x00 \ud800"}})
    with store.engine.connect() as connection:
        report = connection.execute(select(runs.c.report)).scalar_one()
    assert report == {"stopped": {"zendesk.tickets": "bad  \ufffd"}}
