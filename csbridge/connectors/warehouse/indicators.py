"""Warehouse rows of indicator values, checked against the scoring models (pure: no I/O).

A signals query returns one row per account and indicator (and date, when it keeps
history), the long shape an analyst writes as one `SELECT ... UNION ALL` per
indicator: `account` (the identity key), `indicator` (a key of the configured model,
`financial.payment_delay`), `value` and optionally `as_of` (when the value held: each
dated value is kept as history, see `IndicatorValue.value_id`). A value must suit the
indicator's transform in one of the models (`model`, `model_per_segment`): a number for
a linear transform, a category (or, with `bins`, a number) for a table. Every problem
raises `QueryError` naming the column and the value (the caller adds the query).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from csbridge.connectors.warehouse.rows import ACCOUNT, SOURCE, QueryError, account_key
from csbridge.mappings.identity import IdentityKey
from csbridge.models import IndicatorValue
from csbridge.scoring.model import LinearTransform, ScoringModel, TableTransform

SIGNAL_COLUMNS = (ACCOUNT, "indicator", "value")
Transform = LinearTransform | TableTransform
Transforms = Mapping[str, Sequence[Transform]]


def model_transforms(
    models: Iterable[ScoringModel],
) -> dict[str, list[Transform]]:
    """Indicator key (`dimension.indicator`) → its transform in each model that has it."""
    out: dict[str, list[Transform]] = {}
    for model in models:
        for dim_name, dim in model.dimensions.items():
            for name, indicator in dim.indicators.items():
                out.setdefault(f"{dim_name}.{name}", []).append(indicator.transform)
    return out


def indicator_value(
    row: Mapping[str, Any], key: IdentityKey, watermark: str, transforms: Transforms
) -> IndicatorValue:
    """One signals row (lower-case column names) as an IndicatorValue of source `warehouse`."""
    account = account_key(row[ACCOUNT], key)
    indicator = "" if row["indicator"] is None else str(row["indicator"]).strip()
    if indicator not in transforms:
        known = ", ".join(sorted(transforms)[:6])
        raise QueryError(
            f"column indicator of account {account!r}: {indicator[:60]!r} is not an indicator "
            f"of the model; return a dimension.indicator key such as {known}, ..."
        )
    mark = row[watermark]
    as_of = _as_of(row.get("as_of"), account)
    return IndicatorValue(
        source=SOURCE,
        id=IndicatorValue.value_id(account, indicator, as_of),
        account_id=account,
        indicator=indicator,
        value=_value(row["value"], account, indicator, transforms[indicator]),
        as_of=as_of,
        updated_at=_moment(mark) if isinstance(mark, datetime) else None,
    )


def _value(
    raw: Any,
    account: str,
    indicator: str,
    transforms: Sequence[Transform],
) -> float | str:
    """`raw` as a number or a category that one of the indicator's transforms accepts."""
    where = f"column value of account {account!r}, indicator {indicator}"
    number = _number(raw)
    numeric = any(isinstance(t, LinearTransform) or t.bins for t in transforms)
    if number is not None and numeric:
        return number
    categories = [c for t in transforms if isinstance(t, TableTransform) for c in t.values]
    if isinstance(raw, str) and raw.strip() in categories:
        return raw.strip()
    if numeric:
        accepted = "a number" + (f" or one of {', '.join(categories)}" if categories else "")
    else:
        accepted = f"one of {', '.join(categories)}"
    raise QueryError(f"{where} is {str(raw)[:40]!r}, not {accepted}; cast or map it in the SQL")


def _number(raw: Any) -> float | None:
    """A finite number from a numeric column or a numeric text, else None."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float | Decimal):
        number = float(raw)
    else:
        try:
            number = float(str(raw).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _as_of(value: Any, account: str) -> datetime | None:
    moment = _moment(value)
    if value is not None and moment is None:
        raise QueryError(
            f"column as_of of account {account!r} is {str(value)[:40]!r}; "
            "return a timestamp or a date (or leave the column out)"
        )
    return moment


def _moment(value: Any) -> datetime | None:
    """A timestamp (naive: UTC) or a date (its midnight UTC) as an aware datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return None
