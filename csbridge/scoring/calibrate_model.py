"""One calibration fit: weights and anchors of a base model refitted on labelled rows.

Pure. The fitted model stays a weighted score: non-negative weights summing to 100
at both levels, linear transforms with the base model's direction, table transforms
as the base model has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from csbridge.errors import CsbridgeError
from csbridge.scoring.calibrate_fit import (
    Bools,
    Floats,
    linear_scores,
    logistic_fit,
    round_to_100,
    search_anchors,
)
from csbridge.scoring.model import LinearTransform, ScoringModel, TableTransform


class CalibrationError(CsbridgeError):
    """The history cannot support a calibration; the message says what it lacks."""


class Columns:
    """The rows' data per indicator of the base model (columns in `keys` order).

    `raw` holds numeric signals of linear indicators (re-anchored at each fit), `given`
    the indicator scores supplied as such, `base` the base model's indicator scores.
    """

    def __init__(
        self,
        base: ScoringModel,
        keys: Sequence[str],
        base_values: Floats,
        signals: Sequence[Mapping[str, Any]],
        given: Sequence[Mapping[str, Any]],
    ):
        self.keys = list(keys)
        self.base = base_values
        self.transforms = [_transform(base, key) for key in self.keys]
        self.raw = np.full(base_values.shape, np.nan)
        self.given = np.full(base_values.shape, np.nan)
        for r, (sig, giv) in enumerate(zip(signals, given, strict=True)):
            for j, key in enumerate(self.keys):
                if isinstance(self.transforms[j], LinearTransform) and key in sig:
                    self.raw[r, j] = float(sig[key])
                if key in giv:
                    self.given[r, j] = float(giv[key])


def fit_model(
    base: ScoringModel, cols: Columns, rows: Bools | np.ndarray, churned: Bools, min_weight: float
) -> tuple[ScoringModel, list[dict[str, Any]], list[dict[str, Any]]]:
    """The base model with anchors and weights fitted on `rows`, its weights, what was dropped."""
    y = churned[rows]
    anchors: dict[str, tuple[float, float]] = {}
    values = cols.base[rows].copy()
    for j, key in enumerate(cols.keys):
        t = cols.transforms[j]
        if not isinstance(t, LinearTransform):
            continue
        found = search_anchors(cols.raw[rows, j], y, increasing=t.full_at > t.zero_at)
        if found is None:
            continue
        anchors[key] = found
        rescored = linear_scores(cols.raw[rows, j], *found)
        given = cols.given[rows, j]
        values[:, j] = np.where(np.isnan(given), rescored, given)
    coverage = (~np.isnan(values)).mean(axis=0)
    usable = [j for j in range(len(cols.keys)) if coverage[j] > 0]
    dropped = [
        {"indicator": cols.keys[j], "reason": "no data"}
        for j in range(len(cols.keys))
        if coverage[j] == 0
    ]
    if not usable:
        raise CalibrationError("no indicator of the model has data in the history")
    x = values[:, usable] / 100.0
    means = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), means, x)
    # churn = sigmoid(a + beta . (1 - x)), beta >= 0: a lower indicator score never lowers risk.
    _, beta = logistic_fit(1.0 - x, y, nonneg=True)
    if beta.sum() <= 0:
        raise CalibrationError(
            "no indicator goes with less churn in this history: check the outcomes and signals"
        )
    shares = beta / beta.sum()
    kept: dict[str, float] = {}
    for j, share in zip(usable, shares, strict=True):
        if share * 100 < min_weight:
            dropped.append(
                {"indicator": cols.keys[j], "reason": f"weight {share * 100:.1f} < {min_weight:g}"}
            )
        else:
            kept[cols.keys[j]] = float(share)
    model, weights = build_model(base, kept, anchors)
    return model, weights, dropped


def build_model(
    base: ScoringModel, shares: dict[str, float], anchors: dict[str, tuple[float, float]]
) -> tuple[ScoringModel, list[dict[str, Any]]]:
    """The base model keeping only `shares`' indicators, weighted by them (rounded to 100s)."""
    by_dim: dict[str, dict[str, float]] = {}
    for key, share in shares.items():
        dim_name, ind_name = key.split(".", 1)
        by_dim.setdefault(dim_name, {})[ind_name] = share
    dims = list(by_dim)
    dim_weights = round_to_100([sum(by_dim[d].values()) for d in dims])
    data = base.model_dump(mode="json")
    new_dims: dict[str, Any] = {}
    rows = []
    for dim, weight in zip(dims, dim_weights, strict=True):
        if weight == 0:
            continue
        names = list(by_dim[dim])
        ind_weights = round_to_100([by_dim[dim][n] for n in names])
        indicators: dict[str, dict[str, Any]] = {}
        for name, iw in zip(names, ind_weights, strict=True):
            ind: dict[str, Any] = dict(data["dimensions"][dim]["indicators"][name], weight=iw)
            key = f"{dim}.{name}"
            if key in anchors:
                zero_at, full_at = (_short(a) for a in anchors[key])
                if zero_at == full_at:
                    zero_at, full_at = anchors[key]
                ind["transform"] = {"type": "linear", "zero_at": zero_at, "full_at": full_at}
                refit = f"Refitted by calibrate: {zero_at:g} scores 0, {full_at:g} scores 100."
                ind["description"] = f"{ind.get('description', '')} {refit}".strip()
            indicators[name] = ind
            rows.append(
                {
                    "indicator": key,
                    "dimension_weight": weight,
                    "weight": iw,
                    "effective": round(weight * iw / 100, 2),
                    "zero_at": ind["transform"].get("zero_at"),
                    "full_at": ind["transform"].get("full_at"),
                }
            )
        new_dims[dim] = {**data["dimensions"][dim], "weight": weight, "indicators": indicators}
    data["dimensions"] = new_dims
    kept = {row["indicator"] for row in rows}
    every = {f"{d}.{i}" for d, dim in base.dimensions.items() for i in dim.indicators}
    data["dropped_indicators"] = sorted((every | set(base.dropped_indicators)) - kept)
    return ScoringModel.model_validate(data), rows


def _transform(model: ScoringModel, key: str) -> LinearTransform | TableTransform:
    dim, ind = key.split(".", 1)
    return model.dimensions[dim].indicators[ind].transform


def _short(x: float) -> float:
    return float(f"{x:.4g}")
