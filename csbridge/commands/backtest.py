"""`csbridge backtest`: how well a model's score ranked and separated real churn."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from csbridge import __version__
from csbridge.commands.backtest_page import render_page
from csbridge.errors import CsbridgeError
from csbridge.history_file import History, Snapshot, parse_horizon, read_history
from csbridge.scoring import Engine, ScoreResult, ScoringInputError, load_model
from csbridge.scoring.backtest import figures, indicator_matrix

BATCH_SIZE = 2048


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="measure how well a model's score predicted churn in labelled history",
        description="Score every snapshot of a labelled history (JSON Lines) and report AUC, "
        "decile lift, churn per band, calibration and each indicator's own AUC.",
    )
    parser.add_argument("--model", default="seed-5d", help="seed-5d, seed-6d or a YAML path")
    parser.add_argument("--history", required=True, help="labelled history, JSON Lines")
    parser.add_argument(
        "--horizon",
        help="count churn within this many days of as_of (e.g. 90d); default: the model's "
        "calibration horizon, else every churn in the outcome",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--report", help="also write a self-contained HTML report here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    history = read_history(args.history)
    horizon = parse_horizon(args.horizon) if args.horizon else None
    if horizon is None and model.calibration is not None:
        horizon = model.calibration.horizon_days
    engine = Engine(model)
    report = backtest(engine, history.snapshots, horizon)
    report["provenance"] = provenance(engine, history, _command(args))
    if args.report:
        write_file(args.report, render_page(report, title=f"Backtest of {model.name}"))
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(summary(report))
    return 0


def backtest(engine: Engine, snapshots: Sequence[Snapshot], horizon: int | None) -> dict[str, Any]:
    """Every backtest figure of `engine`'s scores over the snapshots."""
    results = score_snapshots(engine, snapshots)
    score = np.array([np.nan if r.score is None else r.score for r in results])
    churned = np.array([s.churned_within(horizon) for s in snapshots])
    probability = None
    if engine.model.calibration is not None:
        probability = np.array([r.data.get("churn_probability") for r in results], dtype=float)
    report = figures(
        score,
        [r.status for r in results],
        [b.name for b in engine.model.bands],
        churned,
        indicator_matrix(engine, results),
        engine.keys,
        probability,
    )
    report["horizon_days"] = horizon
    return report


def score_snapshots(engine: Engine, snapshots: Sequence[Snapshot]) -> list[ScoreResult]:
    """Score every snapshot; a bad one raises the same one-line error as `score`."""
    results: list[ScoreResult] = []
    for start in range(0, len(snapshots), BATCH_SIZE):
        batch = snapshots[start : start + BATCH_SIZE]
        try:
            results += engine.score_many(
                [
                    (
                        s.account.id,
                        s.account.signals,
                        s.account.indicator_scores,
                        s.account.attributes,
                    )
                    for s in batch
                ]
            )
        except ScoringInputError as exc:
            raise CsbridgeError(f"{batch[exc.row].account.where}: {exc}") from None
    return results


def provenance(engine: Engine, history: History, command: str) -> dict[str, Any]:
    return {
        "model": engine.model.name,
        "model_hash": engine.model_hash,
        "data_hash": history.data_hash,
        "csbridge_version": __version__,
        "command": command,
    }


def _command(args: argparse.Namespace) -> str:
    parts = ["csbridge backtest", f"--model {args.model}", f"--history {args.history}"]
    if args.horizon:
        parts.append(f"--horizon {args.horizon}")
    return " ".join(parts)


def write_file(path: str, text: str, what: str = "report") -> None:
    """Write `text` to `path`, replacing the file only once the whole text is written."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CsbridgeError(f"{path}: cannot write the {what} ({exc.strerror})") from None


def summary(report: dict[str, Any]) -> str:
    """The report's key figures as a few lines of text."""
    auc = report["auc"]
    lines = [
        f"snapshots {report['snapshots']} (unscored {report['unscored']}), "
        f"churned {report['churned']} ({(report['churn_rate'] or 0):.1%})",
        f"AUC {'n/a' if auc is None else f'{auc:.3f}'}",
    ]
    top = report["deciles"][0] if report["deciles"] else None
    if top and top["lift"] is not None:
        lines.append(f"lowest-score decile: lift {top['lift']:.2f}, captures {top['capture']:.0%}")
    for b in report["bands"]:
        rate = "-" if b["churn_rate"] is None else f"{b['churn_rate']:.1%}"
        lines.append(
            f"  {b['band']:<12} {b['accounts']:>6} accounts  churn {rate:>6}  "
            f"(95 % {b['low']:.1%}-{b['high']:.1%})"
        )
    cal = report["calibration"]
    if cal is not None:
        lines.append(f"Brier {cal['brier']:.4f}, expected calibration error {cal['ece']:.3f}")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"
