"""GRR, NRR and churn rate against the book's own SQL (Fighting Churn With Data, chapter 2).

The ChurnSim subscriptions in ../shared/data/churnsim-crm5/ are loaded into a schema of
the local PostgreSQL shaped as the listings expect (`subscription`), and the listings
shipped in the `fightchurn` 1.2.0 wheel run there: 2.1 net retention, 2.2 churn rate,
2.4 MRR churn. `retention()` gets the same data as snapshots (each account's MRR on
the start and the end date) and must agree on every month of the simulation.

The wheel is read, not installed: fightchurn pins SQLAlchemy 1.4 (csbridge needs 2.x)
and pulls numba, xgboost and shap, so it cannot join the test extra. `make install`
fetches it once into .venv/wheels (`pip download --no-deps`).
"""

from __future__ import annotations

import csv
import os
import sys
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from pg_schemas import POSTGRES_ADMIN

from csbridge.reports.metrics import retention
from csbridge.reports.periods import add_months

DATA = Path(__file__).parents[3] / "shared" / "data" / "churnsim-crm5" / "subscriptions.csv"
WHEEL_DIR = Path(sys.prefix) / "wheels"
WHEEL = WHEEL_DIR / "fightchurn-1.2.0-py3-none-any.whl"
LISTINGS = "fightchurn/listings/chap2/"
MONTHS = [add_months(date(2022, 2, 1), k) for k in range(11)]  # 2022-02 .. 2022-12


def _listing(name: str) -> str:
    # `make install` fetches the wheel (Makefile: FIGHTCHURN); the test reads, never downloads
    assert WHEEL.exists(), f"{WHEEL} is missing: run `make install` (it downloads the wheel)"
    with zipfile.ZipFile(WHEEL) as wheel:
        return wheel.read(LISTINGS + name).decode()


Row = tuple[int, date, date | None, float]


@pytest.fixture(scope="module")
def subscriptions() -> list[Row]:
    with DATA.open(newline="") as handle:
        return [
            (
                int(r["account_id"]),
                date.fromisoformat(r["start_date"]),
                date.fromisoformat(r["end_date"]) if r["end_date"] else None,
                float(r["mrr"]),
            )
            for r in csv.DictReader(handle)
        ]


@pytest.fixture(scope="module")
def book(subscriptions: list[Row]) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection whose search_path is a fresh schema holding `subscription`."""
    schema = f"fightchurn_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(
                "CREATE TABLE subscription (id serial PRIMARY KEY, account_id integer NOT NULL,"
                " start_date date NOT NULL, end_date date, mrr double precision NOT NULL)"
            )
            with conn.cursor().copy(
                "COPY subscription (account_id, start_date, end_date, mrr) FROM STDIN"
            ) as copy:
                for row in subscriptions:
                    copy.write_row(row)
            yield conn
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _run(
    conn: psycopg.Connection[tuple[object, ...]], name: str, start: date, end: date
) -> tuple[object, ...]:
    sql = (
        _listing(name)
        .replace("%from_yyyy-mm-dd", start.isoformat())
        .replace("%to_yyyy-mm-dd", end.isoformat())
    )
    row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return row


def _mrr_on(subscriptions: list[Row], day: date) -> dict[str, float]:
    """Each account's MRR of the subscriptions running on `day` (start <= day < end)."""
    out: dict[str, float] = {}
    for account, start, end, mrr in subscriptions:
        if start <= day and (end is None or end > day):
            out[str(account)] = out.get(str(account), 0.0) + mrr
    return out


@pytest.mark.parametrize("start", MONTHS, ids=[m.strftime("%Y-%m") for m in MONTHS])
def test_retention_matches_the_book_listings(
    book: psycopg.Connection[tuple[object, ...]], subscriptions: list[Row], start: date
) -> None:
    end = add_months(start, 1)
    ours = retention(_mrr_on(subscriptions, start), _mrr_on(subscriptions, end))

    net_retention, _, start_mrr, _ = _run(book, "listing_2_1_net_retention.sql", start, end)
    assert ours.start_arr == pytest.approx(start_mrr)
    assert ours.nrr == pytest.approx(net_retention)

    churn_rate, _, n_start, n_churn = _run(book, "listing_2_2_churn_rate.sql", start, end)
    assert (ours.logos_start, ours.logos_churned) == (n_start, n_churn)
    assert ours.logo_churn == pytest.approx(churn_rate)

    mrr_churn_rate, _, churn_mrr, downsell_mrr = _run(book, "listing_2_4_mrr_churn.sql", start, end)
    # with no churned account the listing's churn MRR is NULL and so is its rate
    assert ours.churned_arr == pytest.approx(churn_mrr or 0.0)
    assert ours.contraction == pytest.approx(downsell_mrr)
    if churn_mrr is not None:
        assert ours.grr is not None
        assert 1 - ours.grr == pytest.approx(mrr_churn_rate)


def test_the_simulation_has_churn_and_downsell_to_compare(subscriptions: list[Row]) -> None:
    """The comparison means something: most months lose logos and some MRR falls."""
    months = [
        retention(_mrr_on(subscriptions, m), _mrr_on(subscriptions, add_months(m, 1)))
        for m in MONTHS
    ]
    assert sum(1 for r in months if r.logos_churned) >= 8
    assert sum(1 for r in months if r.contraction > 0) >= 4
    assert sum(1 for r in months if r.expansion > 0) >= 4
