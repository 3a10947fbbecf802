"""A scored batch as columns (one row per account), and its JSON without per-account dicts.

`Engine.score_many` turns the columns into `ScoreResult`s, whose dicts callers read.
`csbridge score` only prints them, so `JsonRows` writes the very same text straight
from the arrays: the numbers of a whole batch are serialised by orjson in one call (a
matrix), split, and slotted into a byte template made once per model. This is the
hot path of scoring a large file (see bench/score_throughput.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from csbridge.scoring.segments import Placement

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
DRIVER_MIN_IMPACT = 0.005
NUMPY = orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True)
class Drivers:
    """Each account's drivers, flat in account order; account r's are [ends[r-1], ends[r])."""

    ends: list[int]
    indicator: list[int]  # index into the model's indicator keys
    score: Floats  # rounded as shown
    impact: Floats  # rounded as shown
    down: list[bool]
    imputed: Bools


@dataclass(frozen=True)
class Columns:
    """A batch's scores: B accounts, nd dimensions. NaN where there is no data."""

    shown: Floats  # B, the score rounded to two decimals
    status: list[str]
    coverage: Floats  # B, rounded to four decimals
    dim_score: Floats  # B x nd, unrounded
    eff_dim: Floats  # B x nd, each dimension's effective weight in the total
    covered: Floats  # B x nd, the share of each dimension backed by data
    drivers: Drivers
    churn: Floats | None  # B, the churn probability of a calibrated model, rounded

    def dimension_numbers(self) -> Floats:
        """B x (4 nd): score, weight, contribution, coverage of each dimension, as shown."""
        parts = (
            np.round(self.dim_score, 2),
            np.round(self.eff_dim, 4),
            np.round(np.nan_to_num(self.dim_score * self.eff_dim), 2),
            np.round(self.covered, 4),
        )
        stacked: Floats = np.stack(parts, axis=2)
        return stacked.reshape(self.shown.shape[0], -1)


def pick_drivers(impact: Floats, scored: Floats, present: Bools, each_way: int) -> Drivers:
    """Indicators that pulled the score down or up most, per account.

    Impact is the indicator's effective weight times its distance from the account's
    own score, in points; impacts sum to zero over an account's indicators. Candidates
    are the `each_way` lowest and highest impacts; those under 0.005 points are left out.
    """
    order = np.argsort(np.nan_to_num(impact, nan=0.0), axis=1, kind="stable")
    pick = np.concatenate([order[:, :each_way], order[:, ::-1][:, :each_way]], axis=1)
    rows = np.arange(impact.shape[0])[:, None]
    chosen = np.round(impact[rows, pick], 2)
    down = np.arange(pick.shape[1]) < each_way
    with np.errstate(invalid="ignore"):
        keep = np.where(down, chosen <= -DRIVER_MIN_IMPACT, chosen >= DRIVER_MIN_IMPACT)
    return Drivers(
        ends=np.cumsum(keep.sum(axis=1)).tolist(),
        indicator=pick[keep].tolist(),
        score=np.round(scored[rows, pick], 2)[keep],
        impact=chosen[keep],
        down=down[np.nonzero(keep)[1]].tolist(),
        imputed=~present[rows, pick][keep],
    )


class JsonRows:
    """Writes a batch's accounts as `orjson.dumps(ScoreResult.as_dict())` would, from columns."""

    def __init__(self, keys: Sequence[str], dimension_names: Sequence[str]):
        dims = b",".join(
            orjson.dumps(name).replace(b"%", b"%%")
            + b':{"score":%s,"weight":%s,"contribution":%s,"coverage":%s}'
            for name in dimension_names
        )
        self.template = (
            b'{"id":%s,"score":%s,"status":%s,"coverage":%s,"segment":%s,"dimensions":{'
            + dims
            + b'},"drivers":[%s]%s}'
        )
        # one template per (indicator, direction, imputed): index 4 i + 2 down + imputed
        self.driver_templates = [
            b'{"indicator":'
            + orjson.dumps(key).replace(b"%", b"%%")
            + b',"score":%s,"impact":%s,"direction":"'
            + direction
            + (b'","imputed":true}' if imputed else b'"}')
            for key in keys
            for direction in (b"up", b"down")
            for imputed in (False, True)
        ]

    def rows(
        self, ids: Sequence[str], columns: Columns, placements: Sequence[Placement | None]
    ) -> list[bytes]:
        """One JSON object per account, in order."""
        numbers = np.column_stack([columns.shown, columns.coverage, columns.dimension_numbers()])
        drivers = self._drivers(columns.drivers)
        starts = [0, *columns.drivers.ends[:-1]]
        statuses = {s: orjson.dumps(s) for s in set(columns.status)}
        churn = [b""] * len(ids)
        if columns.churn is not None:
            churn = [b',"churn_probability":' + c for c in _number_rows(columns.churn[:, None])]
        out = []
        for r, (row, status, placed) in enumerate(
            zip(_number_rows(numbers), columns.status, placements, strict=True)
        ):
            score, coverage, *dims = row.split(b",")
            segment, extra = _segment(placed)
            extra = churn[r] + extra
            listed = b",".join(drivers[starts[r] : columns.drivers.ends[r]])
            args = (orjson.dumps(ids[r]), score, statuses[status], coverage, segment)
            out.append(self.template % (*args, *dims, listed, extra))
        return out

    def _drivers(self, drivers: Drivers) -> list[bytes]:
        if not drivers.indicator:
            return []
        numbers = _number_rows(np.column_stack([drivers.score, drivers.impact]))
        which = (
            np.array(drivers.indicator) * 4 + np.array(drivers.down) * 2 + drivers.imputed
        ).tolist()
        templates = self.driver_templates
        return [templates[w] % tuple(n.split(b",")) for w, n in zip(which, numbers, strict=True)]


def _number_rows(matrix: Floats) -> list[bytes]:
    """Each row of a float matrix as orjson writes it ("1.5,null,0.25"), NaN as null."""
    text = orjson.dumps(np.ascontiguousarray(matrix, dtype=np.float64), option=NUMPY)
    return text[2:-2].split(b"],[")


def _segment(placed: Placement | None) -> tuple[bytes, bytes]:
    """The segment's JSON and what follows the drivers (CSM ratio, fallback note)."""
    if placed is None:
        return b"null", b""
    extra = b""
    if placed.cell.accounts_per_csm is not None:
        extra += b',"accounts_per_csm":%d' % placed.cell.accounts_per_csm
    if placed.note is not None:
        extra += b',"segment_note":' + orjson.dumps(placed.note)
    return orjson.dumps(placed.cell.segment), extra
