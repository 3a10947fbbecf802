"""The state store on SQLite and PostgreSQL: migrations, upserts, cursors, tombstones, runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from csbridge.errors import CsbridgeError
from csbridge.models import Account, Activity, SurveyResponse, Ticket, UsageDay
from csbridge.store import Cursor, CursorRegressionError, FactRef, Store, open_store
from csbridge.store.engine import make_engine
from csbridge.store.migrate import head_revision, upgrade
from csbridge.store.tables import cursors, metadata

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def account(id_: str, name: str, at: datetime) -> Account:
    return Account(source="salesforce", id=id_, name=name, domain=f"{id_}.com", updated_at=at)


def ticket(id_: str, created: datetime, org: str = "9") -> Ticket:
    return Ticket(
        source="zendesk",
        id=id_,
        account_id=org,
        status="open",
        priority="urgent",
        created_at=created,
        updated_at=created,
    )


def test_migrations_create_every_table_matching_the_metadata(store: Store) -> None:
    assert store.revision() == head_revision()
    names = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= names
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_open_twice_is_a_no_op(database_url: str, store: Store) -> None:
    again = open_store(database_url)
    try:
        assert again.revision() == head_revision()
    finally:
        again.close()


def test_upsert_by_natural_key_keeps_the_newest(store: Store) -> None:
    store.upsert([account("a1", "Acme", T0), account("a2", "Beta", T0)])
    store.upsert([account("a1", "Acme Corp", T0 + timedelta(hours=1))])
    store.upsert([account("a1", "Acme (stale)", T0 - timedelta(days=1))])
    loaded = {a.id: a for a in store.load(Account)}
    assert store.count("accounts") == 2
    assert loaded["a1"].name == "Acme Corp"
    assert loaded["a1"].updated_at == T0 + timedelta(hours=1)
    assert loaded["a2"] == account("a2", "Beta", T0)


def test_duplicate_keys_within_a_page_store_once(store: Store) -> None:
    page = [ticket("1", T0), ticket("1", T0 + timedelta(minutes=5)).model_copy(), ticket("2", T0)]
    newer = page[1].model_copy(update={"status": "solved"})
    store.save_page([page[0], newer, page[2]], Cursor("zendesk.tickets", "c1", T0))
    tickets = {t.id: t for t in store.load(Ticket)}
    assert store.count("tickets") == 2
    assert tickets["1"].status == "solved"


def test_save_page_moves_cursor_with_facts(store: Store) -> None:
    assert store.get_cursor("zendesk.tickets") is None
    store.save_page([ticket("1", T0)], Cursor("zendesk.tickets", "tok-1", T0))
    store.save_page([ticket("2", T0)], Cursor("zendesk.tickets", "tok-2", T0 + timedelta(1)))
    assert store.get_cursor("zendesk.tickets") == Cursor(
        "zendesk.tickets", "tok-2", T0 + timedelta(1)
    )


def test_cursor_never_moves_backwards_and_the_page_is_not_stored(store: Store) -> None:
    store.save_page([ticket("1", T0)], Cursor("zendesk.tickets", "tok-2", T0 + timedelta(1)))
    with pytest.raises(CursorRegressionError, match="move back"):
        store.save_page([ticket("99", T0)], Cursor("zendesk.tickets", "tok-1", T0))
    with pytest.raises(CursorRegressionError):
        store.save_page([ticket("98", T0)], Cursor("zendesk.tickets", "tok-x", None))
    assert [t.id for t in store.load(Ticket)] == ["1"]
    assert store.get_cursor("zendesk.tickets") == Cursor(
        "zendesk.tickets", "tok-2", T0 + timedelta(1)
    )


def test_deleted_facts_become_tombstones(store: Store) -> None:
    store.upsert([ticket("1", T0), ticket("2", T0)])
    store.save_page([], deleted=[FactRef("tickets", "zendesk", "2")])
    assert [t.id for t in store.load(Ticket)] == ["1"]
    everything = store.load(Ticket, include_deleted=True)
    assert [t.id for t in everything] == ["1", "2"]
    assert store.count("tickets", include_deleted=False) == 1


def test_load_filters_by_account_source_and_window(store: Store) -> None:
    store.upsert(
        [
            ticket("old", T0 - timedelta(days=100), org="9"),
            ticket("new", T0 - timedelta(days=3), org="9"),
            ticket("other", T0 - timedelta(days=3), org="7"),
            UsageDay(
                source="mixpanel",
                id=UsageDay.usage_id("acme.com", date(2026, 2, 27)),
                account_id="acme.com",
                day=date(2026, 2, 27),
                active_users=4,
                feature_events={"report": 3},
            ),
            UsageDay(
                source="mixpanel",
                id=UsageDay.usage_id("acme.com", date(2025, 12, 1)),
                account_id="acme.com",
                day=date(2025, 12, 1),
            ),
            SurveyResponse(
                source="hubspot", id="s1", kind="nps", account_id="9", score=3, responded_at=T0
            ),
        ]
    )
    window = T0 - timedelta(days=30)
    assert [t.id for t in store.load(Ticket, account_ids=["9"], since=window)] == ["new"]
    usage = store.load(UsageDay, since=window)
    assert [u.day for u in usage] == [date(2026, 2, 27)]
    assert usage[0].feature_events == {"report": 3}
    assert store.load(SurveyResponse, source="hubspot")[0].score == 3
    assert store.load(SurveyResponse, source="salesforce") == []


def test_facts_are_read_by_a_long_list_of_odd_account_ids(store: Store) -> None:
    # the batched reads bind the ids as one array (PostgreSQL) or JSON array (SQLite):
    # quotes, backslashes, commas, braces, spaces, "NULL" and non-ASCII must match as
    # themselves, and a list longer than a batch must read exactly its facts
    odd = ['a"b', "c\\d", 'e\\"f', "g,h", "{i}", " j ", "NULL", "é", "k'l", "m\nn"]
    plain = [f"org-{n}" for n in range(2_500)]
    store.upsert([ticket(f"t{n}", T0, org) for n, org in enumerate([*odd, *plain, "not-asked"])])
    asked = [*odd, *plain[::2], "absent"]
    got = store.load(Ticket, account_ids=asked)
    assert got == [t for t in store.load(Ticket) if t.account_id in set(asked)]
    assert {t.account_id for t in got} == {*odd, *plain[::2]}
    assert [t.id for t in store.load(Ticket, account_ids=["NULL", "none"])] == ["t6"]
    assert store.load(Ticket, account_ids=[]) == []


def test_activities_are_stored_and_windowed_by_when_they_happened(store: Store) -> None:
    def activity(id_: str, days_ago: int, key: str | None = None) -> Activity:
        return Activity(
            source="salesforce",
            id=id_,
            account_id="001A",
            kind="meeting",
            subject="QBR",
            occurred_at=T0 - timedelta(days=days_ago),
            updated_at=T0,
            csbridge_key=key,
        )

    store.upsert([activity("00Uold", 400), activity("00Unew", 5), activity("00Tour", 1, "k1")])
    recent = store.load(Activity, account_ids=["001A"], since=T0 - timedelta(days=366))
    assert [(a.id, a.csbridge_key) for a in recent] == [("00Tour", "k1"), ("00Unew", None)]
    assert store.count("activities") == 3


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run("pull")
    store.finish_run(run_id, "ok", {"calls": 12})
    from sqlalchemy import select

    from csbridge.store.tables import runs

    with store.engine.connect() as connection:
        row = connection.execute(select(runs).where(runs.c.id == run_id)).one()
    assert row.status == "ok"
    assert row.report == {"calls": 12}
    assert row.finished_at is not None


def test_unreachable_database_is_one_line_without_password() -> None:
    with pytest.raises(CsbridgeError) as info:
        open_store("postgresql://postgres:hunter2@127.0.0.1:1/none")
    message = str(info.value)
    assert "hunter2" not in message
    assert "database_url: cannot use" in message
    assert "\n" not in message


def test_unsupported_url() -> None:
    with pytest.raises(CsbridgeError, match="not supported"):
        open_store("mysql://x@localhost/db")


def test_plain_postgres_urls_use_psycopg3() -> None:
    from csbridge.store.engine import normalise_url, safe_url

    assert normalise_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///./csbridge.db").drivername == "sqlite"
    assert "p@" not in safe_url("postgresql://u:p@h/db")


def test_upgrading_to_usage_users_forgets_only_the_mixpanel_cursor(database_url: str) -> None:
    """Usage rows stored before 0006 have no users sketch: the next pull must refill them."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0005_task_queue")
        with engine.begin() as connection:
            for stream in ("mixpanel.usage_days", "zendesk.tickets"):
                connection.execute(
                    cursors.insert().values(stream=stream, token="2026-03-01", updated_at=T0)
                )
        assert upgrade(engine) == head_revision()
        with engine.connect() as connection:
            left = connection.execute(select(cursors.c.stream)).scalars().all()
        assert left == ["zendesk.tickets"]
    finally:
        engine.dispose()


def test_analyze_gives_postgresql_the_fact_tables_sizes(postgres_url: str) -> None:
    """Without statistics PostgreSQL plans a batch's `account_id IN (...)` read as if the
    table were empty; `analyze` (run after a pull) records how many rows it holds."""
    store = open_store(postgres_url)
    try:
        store.upsert(
            [
                UsageDay(source="mixpanel", id=f"a.com:{d}", account_id="a.com", day=d)
                for d in (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3))
            ]
        )
        rows = select(text("reltuples")).select_from(text("pg_class"))
        known = rows.where(text("oid = 'usage_days'::regclass"))
        with store.engine.connect() as conn:
            assert conn.execute(known).scalar_one() <= 0  # never analyzed
        store.analyze()
        with store.engine.connect() as conn:
            assert conn.execute(known).scalar_one() == 3
    finally:
        store.close()
