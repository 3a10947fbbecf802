"""`csbridge calibrate`'s procedure: fit a base model on labelled history, validated honestly.

Pure (no I/O, no clock). Every figure reported is measured on rows the fit did not
see: folds are grouped by account (a customer is never in train and test) with exact
duplicate rows kept together; when the snapshots span several dates, a time split
also fits on the earlier ones (only those whose horizon ended before the split) and
reports on the later ones. The calibration and the band cut points are fitted on
out-of-fold scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from csbridge.scoring.backtest import deciles, figures, health_auc, indicator_matrix
from csbridge.scoring.bands import band_indices
from csbridge.scoring.calibrate_fit import (
    Bools,
    Floats,
    band_cuts,
    isotonic_points,
    logistic_points,
)
from csbridge.scoring.calibrate_model import CalibrationError, Columns, fit_model
from csbridge.scoring.calibration import (
    IsotonicCalibration,
    LogisticCalibration,
    churn_probability,
)
from csbridge.scoring.engine import AccountIn, Engine
from csbridge.scoring.model import ScoringModel

TIME_SPLIT_SHARE = 0.8  # the latest 20 % of snapshots are the time split's test set


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled snapshot: the account's input, its date, whether it churned in the horizon."""

    account: AccountIn
    as_of: date
    churned: bool
    content: str  # equal for exact duplicate rows
    late_signals: int = 0  # signals dated after as_of (leakage)


@dataclass(frozen=True, slots=True)
class Settings:
    horizon_days: int = 90
    folds: int = 5
    targets: tuple[float, ...] = (0.40, 0.15, 0.03)
    method: Literal["isotonic", "logistic"] = "logistic"
    min_weight: float = 2.0  # points out of 100 under which an indicator is dropped
    seed: int = 0


def calibrate(
    base: ScoringModel, samples: Sequence[Sample], settings: Settings
) -> tuple[ScoringModel, dict[str, Any]]:
    """The calibrated model and the report of its out-of-fold validation."""
    if len(settings.targets) != len(base.bands) - 1:
        raise CalibrationError(
            f"give {len(base.bands) - 1} band targets for the {len(base.bands)} bands of "
            f"{base.name!r}, not {len(settings.targets)}"
        )
    churned = np.array([s.churned for s in samples])
    if churned.all() or not churned.any():
        raise CalibrationError("the history needs both churned and retained snapshots")
    engine = Engine(base)
    accounts = [s.account for s in samples]
    base_results = engine.score_many(accounts)
    cols = Columns(
        base,
        engine.keys,
        indicator_matrix(engine, base_results),
        [a[1] or {} for a in accounts],
        [a[2] or {} for a in accounts],
    )
    fold = assign_folds(samples, churned, settings.folds, settings.seed)
    everyone = np.ones(len(samples), dtype=bool)
    oof, fold_rows = cross_fit(base, cols, accounts, churned, fold, everyone, settings)
    probability = cross_fitted_probability(oof, churned, fold, settings.method)
    model, weights, dropped = fit_model(base, cols, everyone, churned, settings.min_weight)
    block = fit_calibration(oof, churned, settings.method, settings.horizon_days)
    curve = churn_probability(block, np.arange(101.0))
    cuts = band_cuts(curve, sorted(settings.targets, reverse=True))
    bands: list[dict[str, Any]] = [
        {"name": b.name, "below": c} for b, c in zip(base.bands, cuts, strict=False)
    ]
    bands.append({"name": base.bands[-1].name})
    data = model.model_dump(mode="json")
    data.update(
        name=f"{base.name}-calibrated",
        description=f"{base.name} refitted by csbridge calibrate on {len(samples)} snapshots "
        f"({settings.horizon_days}-day churn).",
        bands=bands,
        calibration=block.model_dump(mode="json"),
    )
    model = ScoringModel.model_validate(data)
    status = _status_of(oof, model)
    report = figures(
        oof, status, [b.name for b in model.bands], churned, cols.base, engine.keys, probability
    )
    report["horizon_days"] = settings.horizon_days
    report["base_auc"] = _round(
        health_auc(np.array([_nan(r.score) for r in base_results]), churned)
    )
    report["folds"] = fold_rows
    aucs = [f["auc"] for f in fold_rows if f["auc"] is not None]
    report["fold_auc_spread"] = (
        {"min": min(aucs), "max": max(aucs), "sd": round(float(np.std(aucs)), 4)} if aucs else None
    )
    report["time_split"] = time_split(base, cols, accounts, samples, churned, settings)
    report["weights"], report["dropped"] = weights, dropped
    late = sum(s.late_signals for s in samples)
    if late:
        report["warnings"].insert(
            0, f"possible leakage: {late} signals are dated after their snapshot's as_of"
        )
    return model, report


def assign_folds(samples: Sequence[Sample], churned: Bools, folds: int, seed: int) -> np.ndarray:
    """A fold per row. Rows of one account, and exact duplicate rows, share a fold;
    churners are spread evenly over the folds."""
    parent = list(range(len(samples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, s in enumerate(samples):
        for key in (("id", s.account[0]), ("row", s.content)):
            j = first.setdefault(key, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(samples)):
        groups.setdefault(root(i), []).append(i)
    if len(groups) < folds:
        raise CalibrationError(
            f"{len(groups)} accounts are too few for {folds} folds: lower --folds"
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    members = [list(groups.values())[g] for g in order]
    members.sort(key=lambda m: -int(churned[m].sum()))
    fold = np.zeros(len(samples), dtype=int)
    load = [[0, 0] for _ in range(folds)]  # churners, rows
    for m in members:
        f = min(
            range(folds),
            key=lambda k: (load[k][0], load[k][1]) if churned[m].any() else (load[k][1], 0),
        )
        fold[m] = f
        load[f][0] += int(churned[m].sum())
        load[f][1] += len(m)
    return fold


def cross_fit(
    base: ScoringModel,
    cols: Columns,
    accounts: Sequence[AccountIn],
    churned: Bools,
    fold: np.ndarray,
    within: Bools,
    settings: Settings,
) -> tuple[Floats, list[dict[str, Any]]]:
    """Out-of-fold scores of the rows `within` (NaN elsewhere) and each fold's figures."""
    oof = np.full(len(accounts), np.nan)
    rows = []
    for k in np.unique(fold[within]):
        test = within & (fold == k)
        model, _, _ = fit_model(base, cols, within & ~test, churned, settings.min_weight)
        idx = np.nonzero(test)[0]
        results = Engine(model).score_many([accounts[i] for i in idx.tolist()])
        oof[idx] = [_nan(r.score) for r in results]
        auc = health_auc(oof[idx], churned[idx])
        rows.append(
            {
                "fold": int(k) + 1,
                "snapshots": int(idx.size),
                "churned": int(churned[idx].sum()),
                "auc": _round(auc),
            }
        )
    return oof, rows


def cross_fitted_probability(
    score: Floats, churned: Bools, fold: np.ndarray, method: str
) -> Floats:
    """Each row's churn probability from a score→probability map fitted on the other folds."""
    out = np.full(score.size, np.nan)
    for k in np.unique(fold):
        test = fold == k
        block = fit_calibration(score[~test], churned[~test], method, 1)
        out[test] = churn_probability(block, score[test])
    return out


def fit_calibration(
    score: Floats, churned: Bools, method: str, horizon: int
) -> IsotonicCalibration | LogisticCalibration:
    """A score→churn probability map fitted on (out-of-fold) scores; NaN scores are left out."""
    has = ~np.isnan(score)
    s, c = score[has], churned[has]
    if method == "logistic":
        intercept, slope = logistic_points(s, c)
        return LogisticCalibration(
            method="logistic",
            horizon_days=horizon,
            intercept=round(intercept, 5),
            slope=round(slope, 6),
        )
    return IsotonicCalibration(
        method="isotonic", horizon_days=horizon, points=isotonic_points(s, c)
    )


def time_split(
    base: ScoringModel,
    cols: Columns,
    accounts: Sequence[AccountIn],
    samples: Sequence[Sample],
    churned: Bools,
    settings: Settings,
) -> dict[str, Any] | None:
    """Fit on earlier snapshots whose horizon ended before the cut-off; report on later ones."""
    dates = np.array([s.as_of for s in samples])
    if len(set(dates.tolist())) < 2:
        return None
    cutoff = sorted(dates.tolist())[int(len(dates) * TIME_SPLIT_SHARE)]
    test = dates >= cutoff
    horizon = timedelta(days=settings.horizon_days)
    train = np.array([d + horizon <= cutoff for d in dates.tolist()])
    if not (churned[train].any() and (~churned[train]).any() and test.any()):
        return {
            "cutoff": cutoff.isoformat(),
            "skipped": "too few earlier snapshots whose horizon ended before the cut-off",
        }
    fold = assign_folds(samples, churned, settings.folds, settings.seed)
    inner, _ = cross_fit(base, cols, accounts, churned, fold, train, settings)
    block = fit_calibration(inner[train], churned[train], settings.method, settings.horizon_days)
    model, _, _ = fit_model(base, cols, train, churned, settings.min_weight)
    idx = np.nonzero(test)[0]
    score = np.array(
        [_nan(r.score) for r in Engine(model).score_many([accounts[i] for i in idx.tolist()])]
    )
    p = churn_probability(block, score)
    y = churned[idx]
    top = deciles(score, y)[0]
    return {
        "cutoff": cutoff.isoformat(),
        "train_snapshots": int(train.sum()),
        "test_snapshots": int(idx.size),
        "test_churned": int(y.sum()),
        "auc": _round(health_auc(score, y)),
        "brier": round(float(np.mean((p - y) ** 2)), 5),
        "top_decile_lift": top["lift"],
    }


def _status_of(score: Floats, model: ScoringModel) -> list[str]:
    names = [b.name for b in model.bands]
    return [names[i] for i in band_indices(np.round(score, 2), model.bands).tolist()]


def _nan(x: float | None) -> float:
    return np.nan if x is None else x


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
