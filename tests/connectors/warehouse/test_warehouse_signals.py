"""Signals queries of the warehouse source against a DuckDB file and a PostgreSQL schema.

Rows of (account, indicator, value[, as_of]) read in batches as IndicatorValues, the
cursor bound on the next run, values checked against the model's transforms (a number
for a linear one, a category for a table), and every mistake one line naming the query
and the column. The signals then prefer a given value to the computed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pg_schemas import postgres_schema
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from csbridge.config import WarehouseQuery, WarehouseSettings
from csbridge.connectors.warehouse.indicators import model_transforms
from csbridge.connectors.warehouse.source import WarehouseSource
from csbridge.http.errors import SetupError
from csbridge.models import Account, IndicatorValue, UsageDay
from csbridge.scoring import load_model
from csbridge.scoring.signals import CustomerFacts, SignalOptions, compute_signals

T0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
MODEL = load_model("seed-5d")
SQL = (
    "SELECT account, indicator, value, as_of, loaded_at FROM account_signals "
    "WHERE loaded_at >= :watermark ORDER BY loaded_at"
)
Row = tuple[str, str, str, int]  # account, indicator, value (text), loaded_at offset in hours


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    with postgres_schema() as url:
        yield url


def add_rows(url: str, rows: list[Row]) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS account_signals (account VARCHAR(200), "
                "indicator VARCHAR(100), value VARCHAR(100), as_of DATE, "
                "loaded_at TIMESTAMP WITH TIME ZONE)"
            )
        )
        for account, indicator, value, hours in rows:
            connection.execute(
                text("INSERT INTO account_signals VALUES (:a, :i, :v, :d, :t)"),
                {
                    "a": account,
                    "i": indicator,
                    "v": value,
                    "d": date(2026, 10, 31),
                    "t": T0 + timedelta(hours=hours),
                },
            )
    engine.dispose()


def source(url: str, sql: str = SQL, batch_size: int = 2) -> WarehouseSource:
    settings = WarehouseSettings(
        url=SecretStr(url),
        batch_size=batch_size,
        queries={"health_inputs": WarehouseQuery(sql=sql, kind="signals")},
    )
    return WarehouseSource(settings, "domain", transforms=model_transforms([MODEL]))


def read(wh: WarehouseSource, cursor: str | None = None) -> list[tuple[list[IndicatorValue], str]]:
    ((name, reader),) = wh.streams()
    assert name == "health_inputs"
    return [(page.records, page.cursor or "") for page in reader(cursor)]


def test_values_are_read_in_batches_as_numbers_or_categories(warehouse_url: str) -> None:
    add_rows(
        warehouse_url,
        [
            ("WWW.Acme.com", "usage.dau_mau", "0.42", 0),
            ("acme.com", "engagement.community_activity", "contributor", 1),
            ("beta.io", "satisfaction.nps", "8", 2),  # a table with bins takes a number
        ],
    )
    pages = read(source(warehouse_url))
    assert [len(records) for records, _ in pages] == [2, 1]
    assert datetime.fromisoformat(pages[-1][1]) == T0 + timedelta(hours=2)
    values = [v for records, _ in pages for v in records]
    assert [(v.account_id, v.indicator, v.value) for v in values] == [
        ("acme.com", "usage.dau_mau", 0.42),
        ("acme.com", "engagement.community_activity", "contributor"),
        ("beta.io", "satisfaction.nps", 8.0),
    ]
    assert values[0].id == "acme.com:usage.dau_mau@2026-10-31T00:00:00+00:00"  # dated: history
    assert values[0].source == "warehouse"
    assert values[0].as_of == datetime(2026, 10, 31, tzinfo=UTC)
    assert values[0].updated_at == T0


def test_the_next_run_reads_from_the_cursor_on(warehouse_url: str) -> None:
    add_rows(warehouse_url, [("acme.com", "usage.dau_mau", "0.4", 0)])
    wh = source(warehouse_url)
    cursor = read(wh)[-1][1]
    add_rows(warehouse_url, [("beta.io", "usage.dau_mau", "0.3", 5)])
    again = [(v.account_id, v.value) for records, _ in read(wh, cursor) for v in records]
    assert again == [("acme.com", 0.4), ("beta.io", 0.3)]  # the cursor's own row again


@pytest.mark.parametrize(
    ("row", "sql", "says"),
    [
        (
            ("acme.com", "usage.dau", "0.4", 0),
            SQL,
            "column indicator of account 'acme.com': 'usage.dau' is not an indicator of the "
            "model; return a dimension.indicator key such as ",
        ),
        (
            ("acme.com", "usage.dau_mau", "n/a", 0),
            SQL,
            "column value of account 'acme.com', indicator usage.dau_mau is 'n/a', "
            "not a number; cast or map it in the SQL",
        ),
        (
            ("acme.com", "engagement.community_activity", "0.5", 0),
            SQL,
            "indicator engagement.community_activity is '0.5', not one of none, lurker, "
            "contributor, active",
        ),
        (
            ("acme.com", "usage.dau_mau", "0.4", 0),
            SQL.replace("value, as_of,", "value AS val, as_of,"),
            "the result has no column value; select it (rename with AS)",
        ),
        (
            ("acme.com", "usage.dau_mau", "0.4", 0),
            SQL.replace("as_of,", "'soon' AS as_of,"),
            "column as_of of account 'acme.com' is 'soon'; return a timestamp or a date",
        ),
    ],
)
def test_a_row_the_user_must_fix_is_one_line_naming_the_query_and_column(
    warehouse_url: str, row: Row, sql: str, says: str
) -> None:
    add_rows(warehouse_url, [row])
    with pytest.raises(SetupError) as info:
        read(source(warehouse_url, sql))
    message = str(info.value)
    assert message.startswith("warehouse query health_inputs: ") and says in message
    assert "\n" not in message


def test_a_given_value_wins_over_the_computed_one_until_it_is_dated_after_now() -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    usage = [
        UsageDay(
            source="mixpanel",
            id=UsageDay.usage_id("acme.com", now.date() - timedelta(days=d)),
            account_id="acme.com",
            day=now.date() - timedelta(days=d),
            active_users=5,
            sessions=5,
            events=20,
        )
        for d in range(1, 20)
    ]

    def given(value: float, as_of: datetime) -> IndicatorValue:
        return IndicatorValue(
            source="warehouse",
            id="acme.com:usage.dau_mau",
            account_id="acme.com",
            indicator="usage.dau_mau",
            value=value,
            as_of=as_of,
        )

    computed = compute_signals(CustomerFacts("acme.com", usage=usage), now, MODEL)
    assert computed.values["usage.dau_mau"] not in (0.07, 0.9)
    crm = [Account(source="salesforce", id="001", name="Acme", custom={"DAU_MAU__c": 0.9})]
    options = SignalOptions(custom_fields={"usage.dau_mau": "DAU_MAU__c"})

    def dau_mau(*indicators: IndicatorValue) -> object:
        facts = CustomerFacts("acme.com", crm, usage=usage, indicators=indicators)
        return compute_signals(facts, now, MODEL, options).values["usage.dau_mau"]

    assert dau_mau() == 0.9  # the custom field wins over the computed value
    assert dau_mau(given(0.07, now)) == 0.07  # the warehouse's wins over both
    facts = CustomerFacts("acme.com", crm, usage=usage, indicators=[given(0.07, now)])
    assert compute_signals(facts, now, MODEL).catalogue["dau_mau"] == 0.07  # playbooks see it
    assert dau_mau(given(0.07, now + timedelta(days=1))) == 0.9  # not yet known at `now`
