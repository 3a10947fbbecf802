"""`csbridge worker`: process the webhook inbox until interrupted (or once with --drain)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from csbridge.config import load_config
from csbridge.store.store import open_store
from csbridge.webhooks import worker
from csbridge.webhooks.alert import React
from csbridge.webhooks.reaction import configured_reaction


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="process the webhook inbox: parse, react, end each row with a reason",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument(
        "--drain", action="store_true", help="stop once the inbox has nothing claimable"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Work until SIGINT/SIGTERM (or until drained with --drain)."""
    settings = load_config(args.config)
    store = open_store(settings.database_url)
    try:
        with configured_reaction(settings, store) as react:
            if args.drain:
                return _drain(store.engine, react, settings.webhooks.lease_seconds)
            stop = threading.Event()

            def _stop(_signum: int, _frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            worker.run(store.engine, react, stop, lease_seconds=settings.webhooks.lease_seconds)
    finally:
        store.close()
    return 0


def _drain(engine: Engine, react: React, lease: float) -> int:
    """Finish every claimable row; stop at the first reaction that fails (exit 1): its
    row stays claimed and is retried once its lease expires."""
    counts: dict[str, int] = {}
    failed = None
    while True:
        try:
            done = worker.run_once(engine, react, lease_seconds=lease)
        except Exception as exc:  # logged by run_once with the row's ids
            failed = exc.__class__.__name__
            break
        if done is None:
            break
        counts[done[1]] = counts.get(done[1], 0) + 1
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"
    if failed is not None:
        sys.stdout.write(
            f"inbox drain stopped after {summary}: a reaction failed ({failed}); "
            f"its row is retried after the {lease:g} s lease\n"
        )
        return 1
    sys.stdout.write(f"inbox drained: {summary}\n")
    return 0
