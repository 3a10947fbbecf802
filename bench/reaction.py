"""Webhook reaction benchmark: seconds per alert, ours vs reloading the whole portfolio.

    .venv/bin/python bench/reaction.py [--accounts 2000] [--alerts 10]

Pulls the sandbox once into a temporary SQLite store and creates the CRM fields (not
timed), then sends `--alerts` Gainsight score-drop alerts for different customers
through `sync_reaction` (the worker's reaction: load → score → plan → apply to both
sandbox CRMs, each alert ending in a churn-risk task) and prints, from this one run:
the first reaction (it also computes the portfolio's session benchmark), the median
and slowest of the rest, and the time `load_portfolio` takes (what every reaction
read before it read one customer), as a ratio to our median.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
import yaml

from csbridge.cli import main as cli
from csbridge.config import load_config
from csbridge.models import Account
from csbridge.store.store import open_store
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull
from csbridge.webhooks.alert import Alert
from csbridge.webhooks.reaction import sync_reaction


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=10)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from csbridge_sandbox.runner import run_sandbox

    with tempfile.TemporaryDirectory() as tmp, run_sandbox(accounts=args.accounts) as sandbox:
        config = sandbox.write_config(Path(tmp) / "c.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{Path(tmp) / 'state.db'}"
        config.write_text(yaml.safe_dump(data))
        settings = load_config(config)
        store = open_store(settings.database_url)
        started = time.perf_counter()
        pulled = pull(settings, store)
        facts = sum(pulled.records.values())
        print(f"setup: pulled {facts} records in {time.perf_counter() - started:.0f} s")
        with contextlib.redirect_stdout(io.StringIO()):  # its table of fields created
            assert cli(["init-crm", "--config", str(config)]) == 0

        domains = sorted({a.domain for a in store.load(Account, source="hubspot") if a.domain})
        react = sync_reaction(settings, store)
        seconds = []
        outcomes = []
        for n, domain in enumerate(domains[: args.alerts]):
            alert = Alert(
                source="gainsight",
                event_id=f"bench-{n}",
                account_key=domain,
                kind="score_drop",
                score=30.0,
                previous_score=80.0,
                occurred_at=datetime.now(UTC),
            )
            started = time.perf_counter()
            outcomes.append(react(alert).reason)
            seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        load_portfolio(store, settings.identity.key, datetime.now(UTC))
        whole = time.perf_counter() - started
        store.close()

    tasks = sum("task created" in reason or "tasks created" in reason for reason in outcomes)
    rest = seconds[1:] or seconds
    typical = statistics.median(rest)
    print(f"{args.accounts} accounts, {facts} stored facts, {len(seconds)} alerts")
    print(f"  reactions that created tasks: {tasks} of {len(seconds)}")
    print(f"  first reaction (with the session benchmark): {seconds[0]:.2f} s")
    print(f"  the others: median {typical:.2f} s, slowest {max(rest):.2f} s")
    print(
        f"  load_portfolio alone (every reaction's read before): {whole:.2f} s "
        f"= {whole / typical:.1f}x our median reaction"
    )


if __name__ == "__main__":
    main()
