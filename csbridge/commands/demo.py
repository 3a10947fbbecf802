"""`csbridge demo`: score the bundled example portfolio and show how to read it."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from importlib import resources
from typing import Any

from csbridge.commands.score import score_file, write_table
from csbridge.scoring import Engine, load_model


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the main job on the bundled example data")
    parser.add_argument("--model", default="seed-5d", help="seed-5d, seed-6d or a YAML path")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = Engine(load_model(args.model))
    portfolio = resources.files("csbridge.examples").joinpath("portfolio.jsonl")
    with resources.as_file(portfolio) as path:
        results = list(score_file(engine, str(path)))
    out = sys.stdout
    out.write(f"csbridge demo: {len(results)} example accounts scored with {engine.model.name}")
    out.write(f" (model hash {engine.model_hash})\n\n")
    write_table(engine, results, out)
    bands = Counter(r.status for r in results)
    out.write("\nby status: " + ", ".join(f"{k} {v}" for k, v in sorted(bands.items())) + "\n")
    first = results[0]
    out.write(f"\nwhy {first.account_id} scores {first.score} ({first.status}):\n")
    for d in first.dimensions:
        shown = "no data" if d.score is None else f"{d.score:6.2f} x {d.weight:.0%}"
        out.write(f"  {d.name:<14} {shown:>16}  = {d.contribution:6.2f}\n")
    for driver in first.drivers:
        out.write(f"  {driver.direction:>4}: {driver.indicator} ({driver.impact:+.2f} points)\n")
    return 0
