"""The warehouse source against a real PostgreSQL (a schema per test) and a DuckDB file.

The conformance properties that apply to a SQL source (every row read, batch after
batch; an empty result; a cursor that never moves back; the next run reads only from
the cursor on), the sandbox's raw events aggregated in the warehouse giving exactly the
Mixpanel fold's usage days, and every user mistake as one line naming the query and
the fix, with the URL's password never shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pg_schemas import postgres_schema
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from structlog.testing import capture_logs

from csbridge.config import WarehouseQuery, WarehouseSettings
from csbridge.connectors.mixpanel.usage import UsageFold
from csbridge.connectors.warehouse.source import WarehouseSource
from csbridge.http.errors import SetupError
from csbridge.models import UsageDay
from csbridge_sandbox.warehouse import USAGE_SQL, load_events
from csbridge_sandbox.world.build import build_world
from csbridge_sandbox.world.usage import iter_events_between

T0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
SQL = (
    "SELECT account, day, active_users, sessions, events, loaded_at FROM usage_daily "
    "WHERE loaded_at >= :watermark ORDER BY loaded_at"
)


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty warehouse: a DuckDB file, or a fresh schema on the local PostgreSQL."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    with postgres_schema() as url:
        yield url


def add_rows(url: str, rows: list[tuple[str, int, int]]) -> None:
    """(account, day offset, loaded_at offset in hours) rows in `usage_daily`."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS usage_daily (account VARCHAR(200), day DATE, "
                "active_users INTEGER, sessions INTEGER, events INTEGER, "
                "loaded_at TIMESTAMP WITH TIME ZONE)"
            )
        )
        for account, day, hours in rows:
            connection.execute(
                text("INSERT INTO usage_daily VALUES (:a, :d, 2, 3, 10 + :h, :t)"),
                {
                    "a": account,
                    "d": date(2026, 10, 1) + timedelta(days=day),
                    "h": hours,
                    "t": T0 + timedelta(hours=hours),
                },
            )
    engine.dispose()


def source(url: str, sql: str = SQL, batch_size: int = 2, **query: Any) -> WarehouseSource:
    settings = WarehouseSettings(
        url=SecretStr(url),
        batch_size=batch_size,
        queries={"usage": WarehouseQuery(sql=sql, **query)},
    )
    return WarehouseSource(settings, "domain")


def read(wh: WarehouseSource, cursor: str | None = None) -> list[tuple[list[UsageDay], str]]:
    ((name, reader),) = wh.streams()
    assert name == "usage"
    pages = []
    for page in reader(cursor):
        assert page.cursor is not None
        pages.append((page.records, page.cursor))
    return pages


def test_reads_every_row_in_batches_and_the_cursor_never_moves_back(warehouse_url: str) -> None:
    add_rows(
        warehouse_url,
        [
            ("WWW.Acme.com", 0, 0),
            ("beta.io", 0, 1),
            ("acme.com", 1, 1),
            ("https://gamma.org/x", 1, 2),
            ("beta.io", 2, 5),
        ],
    )
    pages = read(source(warehouse_url))
    assert [len(records) for records, _ in pages] == [2, 2, 1]
    cursors = [datetime.fromisoformat(cursor) for _, cursor in pages]
    assert cursors == sorted(cursors) and cursors[-1] == T0 + timedelta(hours=5)
    days = [day for records, _ in pages for day in records]
    assert [d.account_id for d in days] == [
        "acme.com",
        "beta.io",
        "acme.com",
        "gamma.org",
        "beta.io",
    ]
    assert days[0] == UsageDay(
        source="warehouse",
        id="acme.com:2026-10-01",
        account_id="acme.com",
        day=date(2026, 10, 1),
        active_users=2,
        sessions=3,
        events=10,
        updated_at=T0,
    )


def test_the_next_run_binds_the_cursor_and_reads_from_it_on(warehouse_url: str) -> None:
    add_rows(warehouse_url, [("acme.com", 0, 0), ("beta.io", 0, 3)])
    wh = source(warehouse_url)
    cursor = read(wh)[-1][1]
    add_rows(warehouse_url, [("acme.com", 1, 7)])
    again = [(d.account_id, d.events) for records, _ in read(wh, cursor) for d in records]
    assert again == [("beta.io", 13), ("acme.com", 17)]  # the cursor's own row is read again
    assert wh.accounting.count("warehouse", "query usage", "ok") == 2  # one query per run


def test_an_empty_result_yields_no_page(warehouse_url: str) -> None:
    add_rows(warehouse_url, [])
    assert read(source(warehouse_url)) == []


def test_sandbox_events_aggregated_in_the_warehouse_equal_the_mixpanel_fold(
    warehouse_url: str,
) -> None:
    world = build_world(accounts=8, seed=3)
    last = world.now.date()
    first = last - timedelta(days=10)
    assert load_events(warehouse_url, world, first, last) > 500
    fold = UsageFold("company_domain")
    fold.add_all(iter_events_between(world, first, last))

    def counts(days: list[UsageDay]) -> dict[tuple[str, date], tuple[Any, ...]]:
        return {
            (d.account_id, d.day): (d.active_users, d.sessions, d.events, d.last_event_at)
            for d in days
        }

    pages = read(source(warehouse_url, USAGE_SQL, batch_size=25, watermark="day"))
    expected = counts(fold.usage_days())
    assert counts([d for records, _ in pages for d in records]) == expected
    assert len(pages) == -(-len(expected) // 25)
    assert pages[-1][1] == max(day for _, day in expected).isoformat()


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (
            "SELECT account, day, events, loaded_at FROM usage_daily WHERE loaded_at >= :watermark",
            "no column active_users, sessions; select it (rename with AS)",
        ),
        ("SELECT * FROM no_such_table WHERE loaded_at >= :watermark", "the warehouse refused it: "),
        ("SELECT * FROM usage_daily", "does not use :watermark; add WHERE loaded_at >= :watermark"),
        (
            SQL.replace("ORDER BY loaded_at", "ORDER BY loaded_at DESC"),
            "rows are not ordered by loaded_at (or it is NULL); add ORDER BY loaded_at",
        ),
        (
            SQL.replace("SELECT account,", "SELECT 'Acme Corp' AS account,"),
            "account 'Acme Corp' is not a domain (identity.key is domain)",
        ),
        (
            SQL.replace("SELECT account,", "SELECT NULL AS account,"),
            "a row has an empty account; filter out NULL keys",
        ),
        (
            SQL.replace("active_users,", "'many' AS active_users,"),
            "column active_users of account 'acme.com': input should be a valid integer",
        ),
    ],
)
def test_a_query_the_user_must_fix_is_one_line_naming_it(
    warehouse_url: str, sql: str, says: str
) -> None:
    add_rows(warehouse_url, [("acme.com", 0, 0), ("beta.io", 0, 3)])
    with pytest.raises(SetupError) as info:
        read(source(warehouse_url, sql))
    message = str(info.value)
    assert message.startswith("warehouse query usage: ") and says in message
    assert "\n" not in message


def test_the_password_in_the_url_is_never_shown(tmp_path: Path) -> None:
    with postgres_schema() as url:
        secret_url = url.replace("postgres@", "postgres:hunter2-pw@")  # trust auth ignores it
        add_rows(url, [("acme.com", 0, 0)])
        with capture_logs() as logs:
            assert len(read(source(secret_url))) == 1
        assert logs and "hunter2-pw" not in repr(logs)
        assert "postgres:***@" in logs[0]["url"]
    unreachable = "postgresql+psycopg://postgres:hunter2-pw@127.0.0.1:1/test"
    with pytest.raises(SetupError) as info:
        read(source(unreachable))
    assert "hunter2-pw" not in str(info.value)
    assert "cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:1/test" in str(info.value)
    assert "check sources.warehouse.url" in str(info.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "sources.warehouse.url is not a SQLAlchemy URL"),
        ("snowflake://user:pw@account/db", "no driver for this URL"),
    ],
)
def test_a_url_without_a_dialect_is_refused_before_any_query(url: str, says: str) -> None:
    with pytest.raises(SetupError) as info:
        source(url)
    assert says in str(info.value) and "pw" not in str(info.value)


def test_an_integer_watermark_is_an_opaque_cursor(warehouse_url: str) -> None:
    add_rows(warehouse_url, [("acme.com", 0, 0), ("beta.io", 0, 4), ("gamma.org", 1, 9)])
    sql = SQL.replace("loaded_at >=", "events >=").replace("BY loaded_at", "BY events")
    wh = source(warehouse_url, sql, watermark="events", start="12")
    pages = read(wh)
    assert [d.account_id for records, _ in pages for d in records] == ["beta.io", "gamma.org"]
    assert pages[-1][1] == "19" and wh.watermark("usage", "19") is None
