"""`csbridge worker`: process the webhook inbox until interrupted (or once with --drain)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from csbridge.config import load_config
from csbridge.store.store import open_store
from csbridge.webhooks import worker


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
    react = worker.account_lookup_reaction(store.engine)
    lease = settings.webhooks.lease_seconds
    try:
        if args.drain:
            counts: dict[str, int] = {}
            while (done := worker.run_once(store.engine, react, lease_seconds=lease)) is not None:
                counts[done[1]] = counts.get(done[1], 0) + 1
            summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"
            sys.stdout.write(f"inbox drained: {summary}\n")
            return 0
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        worker.run(store.engine, react, stop, lease_seconds=lease)
    finally:
        store.close()
    return 0
