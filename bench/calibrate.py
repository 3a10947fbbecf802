"""Does calibration earn its keep? Out-of-fold AUC, Brier and top-decile lift, in one run.

On a labelled history (default: the ChurnSim crm5 snapshots made by
bench/churnsim_history.py), with the same grouped folds for everyone:
  base        the base model's hand anchors and weights (probability: cross-fitted map)
  calibrated  `csbridge calibrate`'s model, refitted in each fold (probability likewise)
  logistic    scikit-learn logistic regression on the same raw columns (the reference)
  boosting    scikit-learn gradient boosting on the same raw columns (an upper reference)
Prints each figure and its ratio to the logistic regression, and the spread of the
folds' AUC. Target: calibrated AUC >= 0.99 x logistic, Brier no worse.
Needs the `bench` extra (scikit-learn). Usage:
  python bench/calibrate.py [--history FILE] [--model seed-6d] [--folds 5] [--horizon 90]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from csbridge.commands.calibrate import history_samples
from csbridge.history_file import read_history
from csbridge.scoring import Engine, load_model
from csbridge.scoring.backtest import deciles, health_auc, indicator_matrix
from csbridge.scoring.calibrate import (
    Sample,
    Settings,
    assign_folds,
    cross_fit,
    cross_fitted_probability,
)
from csbridge.scoring.calibrate_model import Columns

Floats = np.ndarray


def raw_columns(samples: list[Sample]) -> tuple[Floats, list[str]]:
    """Every signal as a column: numbers as they are (NaN when missing), categories one-hot."""
    numeric: set[str] = set()
    categories: dict[str, set[str]] = {}
    for s in samples:
        for key, value in (s.account[1] or {}).items():
            if isinstance(value, str):
                categories.setdefault(key, set()).add(value)
            else:
                numeric.add(key)
    names = sorted(numeric) + [
        f"{k}={v}" for k in sorted(categories) for v in sorted(categories[k])
    ]
    index = {n: i for i, n in enumerate(names)}
    x = np.full((len(samples), len(names)), np.nan)
    for r, s in enumerate(samples):
        signals = s.account[1] or {}
        for key in categories:
            if key in signals:
                for v in categories[key]:
                    x[r, index[f"{key}={v}"]] = float(signals[key] == v)
        for key in numeric:
            if key in signals:
                x[r, index[key]] = float(signals[key])
    return x, names


def sklearn_oof(x: Floats, y: np.ndarray, fold: np.ndarray, kind: str) -> Floats:
    """Out-of-fold churn probabilities of a scikit-learn model."""
    p = np.full(y.size, np.nan)
    for k in np.unique(fold):
        test = fold == k
        if kind == "logistic":
            means = np.nanmean(x[~test], axis=0)
            filled = np.where(np.isnan(x), means, x)
            scaler = StandardScaler().fit(filled[~test])
            model: Any = LogisticRegression(max_iter=2000)
            model.fit(scaler.transform(filled[~test]), y[~test])
            p[test] = model.predict_proba(scaler.transform(filled[test]))[:, 1]
        else:
            model = HistGradientBoostingClassifier(
                max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0
            )
            model.fit(x[~test], y[~test])
            p[test] = model.predict_proba(x[test])[:, 1]
    return p


def measure(score: Floats, p: Floats, y: np.ndarray, fold: np.ndarray) -> dict[str, Any]:
    """AUC, Brier, top-decile lift over all rows, and the folds' AUC spread.

    `score` is higher for healthier accounts; `p` is the churn probability."""
    aucs = [health_auc(score[fold == k], y[fold == k]) for k in np.unique(fold)]
    aucs = [a for a in aucs if a is not None]
    return {
        "auc": health_auc(score, y),
        "brier": float(np.mean((p - y) ** 2)),
        "lift": deciles(score, y)[0]["lift"],
        "fold_auc": (min(aucs), max(aucs), float(np.std(aucs))),
    }


def default_history(horizon: int) -> Path:
    out = Path(tempfile.gettempdir()) / f"churnsim-history-{horizon}d.jsonl"
    script = Path(__file__).with_name("churnsim_history.py")
    cmd = [sys.executable, str(script), "--out", str(out), "--horizon", str(horizon)]
    subprocess.run(cmd, check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=Path)
    parser.add_argument("--model", default="seed-6d")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=90, help="days")
    args = parser.parse_args()
    history = read_history(str(args.history or default_history(args.horizon)))
    samples = history_samples(history.snapshots, args.horizon)
    y = np.array([s.churned for s in samples])
    settings = Settings(horizon_days=args.horizon, folds=args.folds)
    fold = assign_folds(samples, y, args.folds, settings.seed)
    base = load_model(args.model)
    engine = Engine(base)
    accounts = [s.account for s in samples]
    results = engine.score_many(accounts)
    base_score = np.array([np.nan if r.score is None else r.score for r in results])
    cols = Columns(
        base,
        engine.keys,
        indicator_matrix(engine, results),
        [a[1] or {} for a in accounts],
        [a[2] or {} for a in accounts],
    )
    everyone = np.ones(y.size, dtype=bool)
    oof, _ = cross_fit(base, cols, accounts, y, fold, everyone, settings)
    x, names = raw_columns(samples)
    lr = sklearn_oof(x, y, fold, "logistic")
    gb = sklearn_oof(x, y, fold, "boosting")
    rows = {
        f"base {base.name}": measure(
            base_score, cross_fitted_probability(base_score, y, fold, settings.method), y, fold
        ),
        "calibrated": measure(
            oof, cross_fitted_probability(oof, y, fold, settings.method), y, fold
        ),
        "logistic": measure(-lr, lr, y, fold),
        "boosting": measure(-gb, gb, y, fold),
    }
    ref = rows["logistic"]
    print(
        f"{len(samples)} snapshots, {int(y.sum())} churned within {args.horizon} days, "
        f"{args.folds} folds grouped by account; raw columns: {', '.join(names)}"
    )
    print(
        f"{'model':<16} {'AUC':>6} {'xLR':>6} {'Brier':>8} {'xLR':>6} {'lift@10%':>8} {'xLR':>6}"
        f"  fold AUC min-max (sd)"
    )
    for name, m in rows.items():
        lo, hi, sd = m["fold_auc"]
        print(
            f"{name:<16} {m['auc']:>6.3f} {m['auc'] / ref['auc']:>6.3f} {m['brier']:>8.5f} "
            f"{m['brier'] / ref['brier']:>6.3f} {m['lift']:>8.2f} {m['lift'] / ref['lift']:>6.2f}"
            f"  {lo:.3f}-{hi:.3f} ({sd:.3f})"
        )
    cal = rows["calibrated"]
    verdict = cal["auc"] >= 0.99 * ref["auc"] and cal["brier"] <= ref["brier"]
    met = "met" if verdict else "NOT met"
    print(f"target (calibrated AUC >= 0.99 x logistic and Brier no worse): {met}")


if __name__ == "__main__":
    main()
