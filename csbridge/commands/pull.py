"""`csbridge pull`: read every configured source into the state store (incremental)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from csbridge.config import load_config
from csbridge.connectors.registry import SOURCES, configured_sources
from csbridge.errors import CsbridgeError
from csbridge.store.lock import run_lock
from csbridge.store.store import open_store
from csbridge.sync.batches import Batches
from csbridge.sync.pull import pull
from csbridge.tables import format_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="pull accounts, contacts, deals, NPS, tickets, CSAT and usage into the store",
        description=(
            "Read every source configured under `sources:` into the state store. The first "
            "run reads the history; later runs resume from each stream's cursor (`--full`: "
            "from the start again)."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument(
        "--source",
        action="append",
        choices=sorted(SOURCES),
        help="only this source (repeatable); default: every configured one",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="re-read everything from the start for the chosen sources (not from the "
        "stored cursors), e.g. after naming a field under signals:",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="same as --format json (kept for existing scripts)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Pull under the store's lock, print a summary (or the JSON report); exit 1 if a
    stream stopped early, 2 if another run or pull holds the lock."""
    settings = load_config(args.config)
    configured = configured_sources(settings)
    if not configured:
        raise CsbridgeError(
            f"{args.config or 'environment'}: no sources configured; add a `sources:` section"
        )
    for name in args.source or ():
        if name not in configured:
            raise CsbridgeError(
                f"--source {name}: not configured; configure sources.{name} in "
                f"{args.config or 'the config file (--config FILE)'}"
            )
    store = open_store(settings.database_url)
    try:
        with run_lock(store) as lock:  # never beside a run: both would move the cursors
            only = set(args.source) if args.source else None
            report = pull(settings, store, only, verify_lock=lock.verify, full=args.full)
        # identity: what joined no CRM account is reported, never dropped silently
        batches = Batches(store, settings.identity.key, datetime.now(UTC))
        unmatched = batches.report_unmatched()  # reads ids only, never the whole portfolio
    finally:
        store.close()
    if args.format == "json":
        document = {**report.as_dict(), "unmatched": unmatched.rows()}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        calls = report.as_dict()["calls"]
        state = {name: f"stopped: {reason}" for name, reason in report.stopped.items()}
        rows = [
            (name, report.records[name], report.pages[name], state.get(name, "ok"))
            for name in sorted(report.records)
        ]
        sys.stdout.write(format_table(("stream", "records", "pages", "state"), rows, right=(1, 2)))
        sys.stdout.write("calls: " + ", ".join(f"{k}={v}" for k, v in sorted(calls.items())) + "\n")
        sys.stdout.write(f"customers: {len(batches.keys)}, unmatched: {unmatched.total}\n")
        for line in unmatched.lines():
            sys.stdout.write(f"  {line}\n")
        for line in report.extra.get("missing_fields", ()):
            sys.stdout.write(f"note: {line}\n")
    return 0 if report.ok else 1
