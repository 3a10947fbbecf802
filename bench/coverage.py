"""Coverage benchmark: how much of each model the sandbox's data feeds, indicator by indicator.

    .venv/bin/python bench/coverage.py [--accounts 500] [--seed 7] [--models seed-5d seed-6d]

Starts the sandbox as `make demo` does (500 accounts, seed 7, its own config: key
features, feature property, durations), pulls it once into a temporary SQLite store
and scores every customer with each model. Prints, measured in this one run:

- per model: the median and 10th-percentile coverage, and the share of customers with
  a segment (and with an ARR, which the segment needs);
- per indicator of the model: the share of customers with data and its spread over
  them (numbers: min, p10, median, p90, max and the count of distinct values;
  categories: the count of each), marking an indicator with one value for everyone
  CONSTANT and one without data for anyone MISSING;
- DAU/MAU with monthly users counted as distinct users vs the busiest day's users
  (the former proxy), medians over customers with usage.

Any indicator a later source feeds (engagement from CRM activities) shows up here with
no change: the rows come from the models.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from statistics import median, quantiles

import structlog

from csbridge.config import Settings, load_config
from csbridge.scoring import Engine, load_model
from csbridge.scoring.signal_groups import usage_windows
from csbridge.scoring.signal_rules import dau_mau, distinct_users, peak_users
from csbridge.scoring.signals import CustomerFacts, SignalValue, portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=["seed-5d", "seed-6d"])
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from csbridge_sandbox.runner import run_sandbox

    with (
        tempfile.TemporaryDirectory() as tmp,
        run_sandbox(port_base=0, accounts=args.accounts, seed=args.seed) as sandbox,
    ):
        config = sandbox.write_config(Path(tmp) / "c.yaml")
        settings = load_config(config).model_copy(
            update={"database_url": f"sqlite:///{Path(tmp) / 'state.db'}"}
        )
        store = open_store(settings.database_url)
        try:
            report = pull(settings, store)
            assert report.ok, report.stopped
            now = sandbox.world.now
            customers = load_portfolio(store, settings.identity.key, now).customers
        finally:
            store.close()
    print(f"customers {len(customers)} (sandbox {args.accounts} accounts, seed {args.seed})")
    for name in args.models:
        measure_model(name, customers, now, settings)
    measure_dau_mau(customers, now)


def measure_model(
    name: str, customers: Sequence[CustomerFacts], now: datetime, settings: Settings
) -> None:
    """Coverage, segments and every indicator's data share and spread under one model."""
    engine = Engine(load_model(name))
    signals = portfolio_signals(customers, now, engine.model, settings.signal_options())
    results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
    coverage = [r.coverage for r in results]
    with_arr = sum(1 for s in signals if "arr" in s.attributes)
    segmented = sum(1 for r in results if r.segment)
    print(f"\n{name}: coverage median {median(coverage):.2f}, p10 {decile(coverage, 1):.2f}")
    print(f"  segment: {segmented}/{len(results)} customers ({with_arr} with an ARR)")
    print(f"  {'indicator':<40} {'data':>6}  spread")
    for dim_name, dim in engine.model.dimensions.items():
        for indicator in dim.indicators:
            key = f"{dim_name}.{indicator}"
            values = [s.values[key] for s in signals if key in s.values]
            share = len(values) / len(signals)
            print(f"  {key:<40} {share:>6.0%}  {spread(values)}")


def spread(values: Sequence[SignalValue]) -> str:
    """min / p10 / median / p90 / max and distinct count, or category counts; flags."""
    if not values:
        return "MISSING"
    distinct = len(set(values))
    flag = "  CONSTANT" if distinct == 1 else ""
    numbers = [float(v) for v in values if not isinstance(v, str)]
    if len(numbers) < len(values):
        counts = Counter(str(v) for v in values).most_common()
        return ", ".join(f"{v} {n}" for v, n in counts) + flag
    points = [min(numbers), decile(numbers, 1), median(numbers), decile(numbers, 9), max(numbers)]
    shown = " / ".join(f"{p:.3g}" for p in points)
    return f"{shown}  ({distinct} distinct){flag}"


def decile(values: Sequence[float], k: int) -> float:
    """The k-th decile (k=1: the 10th percentile); the value itself for one value."""
    if len(values) < 2:
        return values[0]
    return quantiles(values, n=10, method="inclusive")[k - 1]


def measure_dau_mau(customers: Sequence[CustomerFacts], now: datetime) -> None:
    """DAU/MAU over 30 d with distinct monthly users vs the busiest day's users."""
    true_ratio, peak_ratio = [], []
    for customer in customers:
        last = usage_windows(customer, now)[0]
        if not last:
            continue
        true_ratio.append(dau_mau(last, 30, distinct_users(last)))
        peak_ratio.append(dau_mau(last, 30, peak_users(last)))
    if not true_ratio:
        print("\nDAU/MAU: no customer with usage in the last 30 days")
        return
    print(
        f"\nDAU/MAU over {len(true_ratio)} customers with usage: median "
        f"{median(true_ratio):.3f} (distinct users) vs {median(peak_ratio):.3f} (busiest "
        f"day, the former proxy): {median(peak_ratio) / median(true_ratio):.2f}x as high"
    )


if __name__ == "__main__":
    main()
