"""Transforms applied to a column of raw values (one indicator, many accounts).

A bad value is recorded as (row, message) in `errors` and scored NaN, so the engine
can report the first bad account in input order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from csbridge.scoring.model import LinearTransform, TableTransform

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
Errors = list[tuple[int, str]]
ColumnScorer = Callable[[Any, Ints, str, Errors], Floats]
"""Scores a column: raw values in a list (None: no data), or numbers already checked
(NaN: no data) for a linear transform."""
NUMBER_TYPES = {float, int, type(None)}  # exactly: not bool; None is no data


def column_scorer(t: LinearTransform | TableTransform) -> ColumnScorer:
    return _linear(t) if isinstance(t, LinearTransform) else _table(t)


def check_number(
    raws: list[Any],
    rows: Ints,
    field: str,
    errors: Errors,
    bounds: tuple[float, float] | None = None,
) -> Floats:
    """The column as floats, NaN where a value is None (no data); non-numbers, NaN,
    infinities (and values out of bounds) are errors. `rows` are the values' rows."""
    if set(map(type, raws)) <= NUMBER_TYPES:
        x = np.array(raws, dtype=np.float64)  # None is NaN
        finite = np.isfinite(x)
        ok = bounds is None or bool(((x[finite] >= bounds[0]) & (x[finite] <= bounds[1])).all())
        if ok and x.size - np.count_nonzero(finite) == raws.count(None):
            return x
    out = np.full(len(raws), np.nan)
    for j, raw in enumerate(raws):
        if raw is None:
            continue
        problem = _number_problem(raw)
        if problem is None and bounds is not None and not bounds[0] <= raw <= bounds[1]:
            problem = f"is {raw!r}: indicator scores are on {bounds[0]:g}-{bounds[1]:g}"
        if problem is None:
            out[j] = float(raw)
        else:
            errors.append((int(rows[j]), f"{field} {problem}"))
    return out


def _number_problem(raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return f"is {raw!r}, not a number: give a number"
    if not math.isfinite(raw):
        return f"is {raw!r}: give a finite number"
    return None


def _linear(t: LinearTransform) -> ColumnScorer:
    """Linear from `zero_at` (score `floor`) to `full_at` (score 100), clamped."""
    zero_at, span, floor = t.zero_at, t.full_at - t.zero_at, t.floor

    def score(raws: list[Any] | Floats, rows: Ints, field: str, errors: Errors) -> Floats:
        x = raws if isinstance(raws, np.ndarray) else check_number(raws, rows, field, errors)
        frac = np.clip((x - zero_at) / span, 0.0, 1.0)
        result: Floats = floor + (100.0 - floor) * frac
        return result

    return score


def _table(t: TableTransform) -> ColumnScorer:
    """A score per category; with `bins`, a number takes the category of its lower bound."""
    values = dict(t.values)
    lookup: dict[Any, float] = {**values, None: math.nan}  # None is no data
    bins = sorted(((bound, cat) for cat, bound in (t.bins or {}).items()), reverse=True)
    accepted = ", ".join(values) + (" or a number" if bins else "")

    def one(raw: Any) -> float:
        if type(raw) is str:
            if raw in values:
                return values[raw]
        elif bins and not isinstance(raw, bool) and isinstance(raw, int | float):
            problem = _number_problem(raw)
            if problem:
                raise ValueError(problem)
            for bound, cat in bins:
                if raw >= bound:
                    return values[cat]
            raise ValueError(f"is {raw!r}, below the lowest category ({bins[-1][0]:g})")
        raise ValueError(f"is {raw!r}: use one of {accepted}")

    def score(raws: list[Any], rows: Ints, field: str, errors: Errors) -> Floats:
        if set(map(type, raws)) <= {str, type(None)}:  # hashable: looked up at C speed
            fast = list(map(lookup.get, raws))  # a value not in the table is None
            if None not in fast:
                return np.array(fast, dtype=np.float64)
        out = np.full(len(raws), np.nan)
        for j, raw in enumerate(raws):
            if raw is None:
                continue
            try:
                out[j] = one(raw)
            except ValueError as exc:
                errors.append((int(rows[j]), f"{field} {exc}"))
        return out

    return score
