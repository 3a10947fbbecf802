"""A scored batch as columns (one row per account).

`Engine.score_many` turns the columns into `ScoreResult`s, whose dicts callers read;
`csbridge score` prints them straight from the arrays (`scoring/json_rows.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
DRIVER_MIN_IMPACT = 0.005


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
