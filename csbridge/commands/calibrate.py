"""`csbridge calibrate`: refit a model's weights, anchors and bands on labelled history.

Writes a model YAML that `score`, `health` and `run` use unchanged, with a
`calibration:` block so scores also carry a churn probability.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from csbridge.commands.backtest import provenance, score_snapshots, summary, write_file
from csbridge.commands.backtest_page import render_page
from csbridge.errors import CsbridgeError
from csbridge.history_file import Snapshot, parse_horizon, read_history
from csbridge.scoring import Engine, load_model
from csbridge.scoring.calibrate import Sample, Settings, calibrate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a model's weights, anchors, bands and churn probability on labelled history",
        description="Refit a base model on labelled history (JSON Lines) with grouped, "
        "out-of-fold validation, and write the calibrated model as YAML.",
    )
    parser.add_argument("--model", default="seed-5d", help="base model: a preset or YAML path")
    parser.add_argument("--history", required=True, help="labelled history, JSON Lines")
    parser.add_argument("--out", required=True, help="where to write the calibrated model YAML")
    parser.add_argument("--horizon", default="90d", help="churn counted within this (default 90d)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument(
        "--band-targets",
        default="40,15,3",
        help="churn rates in %% where band cut points go, one fewer than the base model's bands "
        "(default 40,15,3)",
    )
    parser.add_argument(
        "--calibration",
        choices=("logistic", "isotonic"),
        default="logistic",
        help="score to churn probability: logistic (2 parameters, steady on little churn; "
        "default) or isotonic (any monotone shape, wants many churned snapshots)",
    )
    parser.add_argument(
        "--min-weight",
        type=float,
        default=2.0,
        help="drop indicators whose fitted weight is under this many points of 100 (default 2)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--report", help="also write a self-contained HTML report here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.folds < 2:
        raise CsbridgeError(f"--folds is {args.folds}: give 2 or more")
    base = load_model(args.model)
    history = read_history(args.history)
    settings = Settings(
        horizon_days=parse_horizon(args.horizon),
        folds=args.folds,
        targets=_targets(args.band_targets),
        method=args.calibration,
        min_weight=args.min_weight,
    )
    engine = Engine(base)
    score_snapshots(engine, history.snapshots)  # bad lines fail here, named as `score` names them
    samples = history_samples(history.snapshots, settings.horizon_days)
    model, report = calibrate(base, samples, settings)
    report["provenance"] = {
        **provenance(engine, history, _command(args)),
        "calibrated_model": model.name,
        "calibrated_model_hash": model.model_hash(),
    }
    text = yaml.safe_dump(model.model_dump(mode="json", exclude_none=True), sort_keys=False)
    write_file(args.out, f"# Written by: {report['provenance']['command']}\n{text}", "model")
    if args.report:
        write_file(args.report, render_page(report, title=f"Calibration of {base.name}"))
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(calibrate_summary(report, args.out))
    return 0


def history_samples(snapshots: Sequence[Snapshot], horizon: int) -> list[Sample]:
    """The snapshots as the calibration sees them: churn within `horizon`, late signals counted."""
    return [
        Sample(
            (s.account.id, s.account.signals, s.account.indicator_scores, s.account.attributes),
            s.as_of,
            s.churned_within(horizon),
            s.content,
            sum(d > s.as_of for d in s.signal_dates.values()),
        )
        for s in snapshots
    ]


def calibrate_summary(report: dict[str, Any], out: str) -> str:
    """Out-of-fold figures, fold spread, time split, weights and what was dropped, as text."""
    lines = [f"calibrated model written to {out}", "out of fold:", summary(report).rstrip()]
    spread = report["fold_auc_spread"]
    if spread:
        lines.append(f"fold AUC {spread['min']:.3f}-{spread['max']:.3f} (sd {spread['sd']:.3f})")
    lines.append(f"base model AUC {report['base_auc']}")
    split = report["time_split"]
    if split and "skipped" not in split:
        lines.append(
            f"time split at {split['cutoff']}: AUC {split['auc']}, Brier {split['brier']}, "
            f"top-decile lift {split['top_decile_lift']} "
            f"on {split['test_snapshots']} later snapshots"
        )
    elif split:
        lines.append(f"time split at {split['cutoff']} skipped: {split['skipped']}")
    for w in report["weights"]:
        lines.append(f"  {w['indicator']:<32} weight {w['effective']:>6.2f}")
    for d in report["dropped"]:
        lines.append(f"  dropped {d['indicator']}: {d['reason']}")
    return "\n".join(lines) + "\n"


def _targets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) / 100 for x in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 0 < v < 1 for v in values) or len(set(values)) != len(values):
        raise CsbridgeError(
            f"--band-targets is {text!r}: give distinct churn rates in % between 0 and 100, "
            "e.g. 40,15,3"
        )
    return values


def _command(args: argparse.Namespace) -> str:
    return (
        f"csbridge calibrate --model {args.model} --history {args.history} --out {args.out} "
        f"--horizon {args.horizon} --folds {args.folds} --band-targets {args.band_targets} "
        f"--calibration {args.calibration} --min-weight {args.min_weight:g}"
    )
