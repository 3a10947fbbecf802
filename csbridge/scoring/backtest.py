"""How well a score ranks and separates churn: the figures of `csbridge backtest`.

Pure functions of arrays (numpy only): a health score is good when churners score
low. AUCs here are "health AUCs": the chance that a random account that stayed
scores above a random account that churned (0.5 is a coin, 1.0 perfect); ties count
half. Definitions are in docs/calibration.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from csbridge.scoring.engine import Engine
from csbridge.scoring.results import ScoreResult

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

Z95 = 1.959963984540054
REVERSED_BELOW = 0.45  # an indicator's AUC under this: its data points the other way
LEAK_ABOVE = 0.95  # one indicator alone separates this well: suspect leakage
ROC_POINTS = 200


def health_auc(score: Floats, churned: Bools) -> float | None:
    """P(score of a stayer > score of a churner), ties half; None without both outcomes."""
    n_churn = int(churned.sum())
    n_stay = churned.size - n_churn
    if n_churn == 0 or n_stay == 0:
        return None
    ranks = _ranks(score)
    # Mann-Whitney U of the stayers' ranks among all scores.
    u = ranks[~churned].sum() - n_stay * (n_stay + 1) / 2
    return float(u / (n_stay * n_churn))


def _ranks(x: Floats) -> Floats:
    """1-based ranks, tied values sharing their mean rank."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mean_rank: Floats = upper - (counts - 1) / 2.0
    return mean_rank[inverse.reshape(-1)]


def roc_points(score: Floats, churned: Bools) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) as the alarm threshold rises from the lowest score.

    A "positive" is a churner flagged because its score is at or below the threshold.
    At most ROC_POINTS points, always starting at (0, 0) and ending at (1, 1).
    """
    n_churn, n_stay = int(churned.sum()), int((~churned).sum())
    if n_churn == 0 or n_stay == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    order = np.argsort(score, kind="stable")
    s, c = score[order], churned[order]
    last_of_value = np.r_[s[1:] != s[:-1], True]
    tpr = np.cumsum(c)[last_of_value] / n_churn
    fpr = np.cumsum(~c)[last_of_value] / n_stay
    keep = np.unique(np.linspace(0, tpr.size - 1, min(tpr.size, ROC_POINTS)).round().astype(int))
    points = [(0.0, 0.0)]
    points += [
        (round(float(f), 4), round(float(t), 4)) for f, t in zip(fpr[keep], tpr[keep], strict=True)
    ]
    return points


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k events out of n (95 % by default); (0, 1) when n is 0."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def deciles(score: Floats, churned: Bools) -> list[dict[str, Any]]:
    """Accounts from the lowest score up, in ten equal groups: churn rate, lift, capture.

    Lift is the group's churn rate over the overall rate; capture is the share of all
    churners found in this and the lower-scored groups.
    """
    order = np.argsort(score, kind="stable")
    total = int(churned.sum())
    base = total / churned.size if churned.size else 0.0
    rows, found = [], 0
    for d, part in enumerate(np.array_split(order, min(10, order.size)), start=1):
        k = int(churned[part].sum())
        found += k
        rate = k / part.size
        rows.append(
            {
                "decile": d,
                "accounts": int(part.size),
                "churned": k,
                "churn_rate": round(rate, 4),
                "lift": round(rate / base, 3) if base else None,
                "capture": round(found / total, 4) if total else None,
                "max_score": round(float(score[part].max()), 2),
            }
        )
    return rows


def band_rates(
    status: Sequence[str], names: Sequence[str], churned: Bools
) -> tuple[list[dict[str, Any]], list[str]]:
    """Churn rate per band (lowest band first) with Wilson 95 % intervals, and warnings.

    A healthier band should churn less: warn when a band churns more than the band
    below it, or when neighbouring bands' intervals overlap (the data cannot tell them apart).
    """
    labels = np.asarray(status)
    rows: list[dict[str, Any]] = []
    for name in names:
        mask = labels == name
        n, k = int(mask.sum()), int(churned[mask].sum())
        lo, hi = wilson(k, n)
        rate = round(k / n, 4) if n else None
        rows.append(
            {
                "band": name,
                "accounts": n,
                "churned": k,
                "churn_rate": rate,
                "low": round(lo, 4),
                "high": round(hi, 4),
            }
        )
    warnings = [f"band {r['band']} holds no snapshot" for r in rows if not r["accounts"]]
    filled = [r for r in rows if r["accounts"]]
    for lower, upper in pairwise(filled):
        if upper["churn_rate"] > lower["churn_rate"]:
            warnings.append(
                f"bands not monotone: {upper['band']} churns {upper['churn_rate']:.1%}, "
                f"more than {lower['band']} ({lower['churn_rate']:.1%})"
            )
        elif upper["high"] >= lower["low"]:
            warnings.append(
                f"bands {lower['band']} and {upper['band']} overlap: 95 % intervals "
                f"{lower['low']:.1%}-{lower['high']:.1%} and {upper['low']:.1%}-{upper['high']:.1%}"
            )
    return rows, warnings


def brier(probability: Floats, churned: Bools) -> float:
    """Mean squared gap between the predicted churn probability and what happened (0 best)."""
    return float(np.mean((probability - churned) ** 2))


def reliability(
    probability: Floats, churned: Bools, bins: int = 10
) -> tuple[list[dict[str, Any]], float]:
    """Predicted vs observed churn in equal-count groups of predicted probability, and the
    expected calibration error (the groups' |predicted - observed|, weighted by accounts).

    Equal counts rather than equal widths: churn is rare, and equal-width bins would put
    nearly every account in the first one.
    """
    order = np.argsort(probability, kind="stable")
    rows, ece = [], 0.0
    for part in np.array_split(order, min(bins, order.size)):
        predicted, observed = float(probability[part].mean()), float(churned[part].mean())
        ece += part.size / probability.size * abs(predicted - observed)
        rows.append(
            {
                "from": round(float(probability[part].min()), 4),
                "to": round(float(probability[part].max()), 4),
                "accounts": int(part.size),
                "predicted": round(predicted, 4),
                "observed": round(observed, 4),
            }
        )
    return rows, round(ece, 4)


def indicator_rows(values: Floats, keys: Sequence[str], churned: Bools) -> list[dict[str, Any]]:
    """Each indicator on its own: coverage, health AUC, and flags.

    `reversed`: its data points the other way from its transform (AUC < 0.45);
    `leak_suspect`: it alone separates churn too well to be true (AUC or 1-AUC > 0.95).
    """
    rows = []
    for j, key in enumerate(keys):
        has = ~np.isnan(values[:, j])
        auc = health_auc(values[has, j], churned[has]) if has.any() else None
        rows.append(
            {
                "indicator": key,
                "coverage": round(float(has.mean()), 4) if has.size else 0.0,
                "auc": None if auc is None else round(auc, 4),
                "reversed": auc is not None and auc < REVERSED_BELOW,
                "leak_suspect": auc is not None and max(auc, 1 - auc) > LEAK_ABOVE,
            }
        )
    return rows


def indicator_warnings(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per flagged indicator, for the report's warnings."""
    out = []
    for r in rows:
        if r["leak_suspect"]:
            out.append(
                f"possible leakage: {r['indicator']} alone has AUC {r['auc']:.3f}: "
                "check it is measured before as_of"
            )
        elif r["reversed"]:
            out.append(
                f"{r['indicator']} points the other way (AUC {r['auc']:.3f}): "
                "in this history, a higher indicator score goes with more churn"
            )
    return out


def figures(
    score: Floats,
    status: Sequence[str],
    band_names: Sequence[str],
    churned: Bools,
    values: Floats,
    keys: Sequence[str],
    probability: Floats | None = None,
) -> dict[str, Any]:
    """Every backtest figure for scored snapshots (rows without a score are counted, not used)."""
    has = ~np.isnan(score)
    s, c = score[has], churned[has]
    bands, warnings = band_rates([x for x, h in zip(status, has, strict=True) if h], band_names, c)
    indicators = indicator_rows(values[has], keys, c)
    warnings += indicator_warnings(indicators)
    auc = health_auc(s, c)
    if auc is None:
        warnings.insert(0, "AUC undefined: the history needs both churned and retained accounts")
    out: dict[str, Any] = {
        "snapshots": int(score.size),
        "unscored": int((~has).sum()),
        "churned": int(c.sum()),
        "churn_rate": round(float(c.mean()), 4) if c.size else None,
        "auc": None if auc is None else round(auc, 4),
        "roc": roc_points(s, c),
        "deciles": deciles(s, c),
        "bands": bands,
        "indicators": indicators,
        "calibration": None,
        "warnings": warnings,
    }
    if probability is not None:
        p = probability[has]
        table, ece = reliability(p, c)
        out["calibration"] = {"brier": round(brier(p, c), 5), "ece": ece, "reliability": table}
    return out


def indicator_matrix(engine: Engine, results: Sequence[ScoreResult]) -> Floats:
    """Rows of results, columns of `engine.keys`: each indicator's 0-100 score, NaN without data."""
    values = np.full((len(results), len(engine.keys)), np.nan)
    for r, result in enumerate(results):
        for key, value in result.indicator_scores.items():
            values[r, engine.index[key]] = value
    return values
