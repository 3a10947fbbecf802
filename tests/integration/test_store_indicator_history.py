"""Indicator values as history on SQLite and PostgreSQL: the latest as of a moment is
picked by the database, and rows stored before 0011 are re-keyed by their date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select

from csbridge.models import IndicatorValue
from csbridge.store import open_store
from csbridge.store.engine import make_engine
from csbridge.store.migrate import alembic_config, head_revision, upgrade
from csbridge.store.tables import indicator_values

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def value(account: str, indicator: str, number: float, days: int | None) -> IndicatorValue:
    """A warehouse value dated `days` after T0 (None: undated)."""
    as_of = None if days is None else T0 + timedelta(days=days)
    return IndicatorValue(
        source="warehouse",
        id=IndicatorValue.value_id(account, indicator, as_of),
        account_id=account,
        indicator=indicator,
        value=number,
        as_of=as_of,
    )


def test_the_latest_value_as_of_now_of_each_account_and_indicator(database_url: str) -> None:
    store = open_store(database_url)
    try:
        store.upsert(
            [
                *[value("a.com", "usage.dau_mau", 0.1 * d, d) for d in (1, 2, 3)],
                value("a.com", "satisfaction.nps", 5, None),  # undated only: always counts
                value("b.com", "satisfaction.nps", 7, None),
                value("b.com", "satisfaction.nps", 9, 2),  # dated wins over undated once held
                value("c.com", "usage.dau_mau", 0.5, 1).model_copy(update={"deleted": True}),
            ]
        )
        assert store.count("indicator_values") == 7  # every dated value kept

        def latest(days: float | None, **where: object) -> set[tuple[str, str, float | str]]:
            now = None if days is None else T0 + timedelta(days=days)
            got = store.latest_values(now, **where)  # type: ignore[arg-type]
            return {(v.account_id, v.indicator, v.value) for v in got}

        assert latest(2.5) == {
            ("a.com", "usage.dau_mau", 0.2),
            ("a.com", "satisfaction.nps", 5),
            ("b.com", "satisfaction.nps", 9),
        }
        assert latest(0) == {("a.com", "satisfaction.nps", 5), ("b.com", "satisfaction.nps", 7)}
        assert ("a.com", "usage.dau_mau", 0.1 * 3) in latest(None)
        assert latest(2, source="warehouse", account_ids=["b.com"]) == {
            ("b.com", "satisfaction.nps", 9)
        }
        assert latest(2, source="other") == set()
    finally:
        store.close()


def test_upgrading_to_indicator_history_rekeys_the_dated_values_and_back(
    database_url: str,
) -> None:
    """0010 stored one row per account and indicator; 0011 gives a dated one its date's id
    (column and payload) and fills `as_of`; the downgrade keeps the latest under the old id."""
    engine = make_engine(database_url)
    dated, undated = value("a.com", "usage.dau_mau", 0.3, 4), value("a.com", "crm.x", 2, None)
    try:
        upgrade(engine, "0010_warehouse_signals")
        with engine.begin() as connection:
            for record in (dated, undated):
                old_id = f"{record.account_id}:{record.indicator}"
                connection.execute(
                    indicator_values.insert().values(
                        source="warehouse",
                        id=old_id,
                        account_id=record.account_id,
                        indicator=record.indicator,
                        deleted=False,
                        payload={**record.model_dump(mode="json"), "id": old_id},
                        stored_at=T0,
                    )
                )
        assert upgrade(engine) == head_revision()
        store = open_store(database_url)
        try:
            got = store.latest_values(T0 + timedelta(days=5))
            assert {(v.id, v.value, v.as_of) for v in got} == {
                ("a.com:usage.dau_mau@2026-03-05T00:00:00+00:00", 0.3, dated.as_of),
                ("a.com:crm.x", 2, None),
            }
            assert store.latest_values(T0) == [undated]  # the dated one held later
            store.upsert([dated])  # the next pull's re-read of the same row: no twin
            assert store.count("indicator_values") == 2
            store.upsert([value("a.com", "usage.dau_mau", 0.6, 9)])
        finally:
            store.close()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0010_warehouse_signals")
        with engine.connect() as connection:
            rows = connection.execute(
                select(indicator_values.c.id, indicator_values.c.payload["value"].as_float())
            ).all()
        assert sorted(rows) == [("a.com:crm.x", 2.0), ("a.com:usage.dau_mau", 0.6)]
    finally:
        engine.dispose()
