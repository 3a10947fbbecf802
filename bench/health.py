"""Health benchmark: stored facts → identity → signals → scores, on a pulled sandbox.

    .venv/bin/python bench/health.py [--accounts 2000]

Pulls the sandbox once into a temporary SQLite store (not timed), then prints, measured
in this one run: the time to load and join the portfolio (facts/s), to compute the
signals (customers/s) and to score them (customers/s), the share of the whole spent in
each, and the unmatched counts.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import structlog

from csbridge.config import load_config
from csbridge.scoring import Engine, load_model
from csbridge.scoring.signals import portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--model", default="seed-6d")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from csbridge_sandbox.runner import run_sandbox

    with tempfile.TemporaryDirectory() as tmp, run_sandbox(accounts=args.accounts) as sandbox:
        config = sandbox.write_config(Path(tmp) / "c.yaml")
        settings = load_config(config).model_copy(
            update={"database_url": f"sqlite:///{Path(tmp) / 'state.db'}"}
        )
        store = open_store(settings.database_url)
        report = pull(settings, store)
        assert report.ok, report.stopped
        now = sandbox.world.now
        facts = sum(report.records.values())
        t0 = time.perf_counter()
        portfolio = load_portfolio(store, settings.identity.key, now)
        t1 = time.perf_counter()
        engine = Engine(load_model(args.model))
        signals = portfolio_signals(portfolio.customers, now, engine.model)
        t2 = time.perf_counter()
        results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
        t3 = time.perf_counter()
        store.close()
    n = len(portfolio.customers)
    total = t3 - t0
    print(f"customers {n}, facts pulled {facts}, model {args.model}")
    for label, seconds, count, unit in (
        ("load + join", t1 - t0, facts, "facts/s"),
        ("signals", t2 - t1, n, "customers/s"),
        ("score", t3 - t2, n, "customers/s"),
    ):
        rate = count / seconds
        print(f"{label:<13} {seconds:7.2f} s  {rate:10.0f} {unit:<12} {seconds / total:5.0%}")
    coverage = sum(r.coverage for r in results) / n
    print(f"mean coverage {coverage:.0%}; unmatched {portfolio.report.total}")
    for line in portfolio.report.lines():
        print(f"  {line}")


if __name__ == "__main__":
    main()
