"""Indicator values as of a moment: the latest of each account and indicator, chosen in SQL.

A warehouse signals query that dates its values adds a row per account, indicator and
date (`IndicatorValue.value_id`), so the table grows with the history it keeps (a
daily query of 100,000 accounts x 3 indicators adds 300,000 rows a day). Scoring at
`now` needs only each account's latest value of each indicator dated no later than
`now`, or its undated value when it has no dated one (what
`csbridge.scoring.signals.given_values` picks from a customer's values); the database
ranks the rows (a window over source, account and indicator) and returns that one row
each, so what is read into Python stays one row per account and indicator however
long the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Text, and_, cast, func, or_, select

from csbridge.models import IndicatorValue
from csbridge.store.facts import as_utc
from csbridge.store.id_list import among
from csbridge.store.tables import indicator_values


def latest_values_select(
    now: datetime | None,
    *,
    source: str | None = None,
    account_ids: Sequence[str] | None = None,
) -> Select[Any]:
    """The payloads (JSON text) of the latest value of each (source, account, indicator)
    as of `now` (None: the latest of all), ordered by key like `fact_select`."""
    table = indicator_values
    rank = (
        func.row_number()
        .over(
            partition_by=(table.c.source, table.c.account_id, table.c.indicator),
            order_by=table.c.as_of.desc().nulls_last(),  # dated first, the latest first
        )
        .label("rank")
    )
    # rank the narrow keys only, then fetch the payloads of the chosen rows by key: the
    # database sorts the history without carrying every payload through the sort
    ranked = select(table.c.source, table.c.id, rank).where(table.c.deleted.is_(False))
    if now is not None:
        ranked = ranked.where(or_(table.c.as_of.is_(None), table.c.as_of <= as_utc(now)))
    if source is not None:
        ranked = ranked.where(table.c.source == source)
    if account_ids is not None:
        ranked = ranked.where(among(table.c.account_id, account_ids))
    chosen = ranked.subquery()
    return (
        select(cast(table.c.payload, Text))
        .join(chosen, and_(table.c.source == chosen.c.source, table.c.id == chosen.c.id))
        .where(chosen.c.rank == 1)
        .order_by(table.c.source, table.c.id)
    )


def load_latest_values(
    connection: Connection,
    now: datetime | None,
    *,
    source: str | None = None,
    account_ids: Sequence[str] | None = None,
) -> list[IndicatorValue]:
    """The values `latest_values_select` picks, as records."""
    query = latest_values_select(now, source=source, account_ids=account_ids)
    return [IndicatorValue.model_validate_json(p) for p in connection.execute(query).scalars()]
