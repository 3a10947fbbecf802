"""`csbridge history export`: labelled history (for `backtest` and `calibrate`) from the store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from csbridge.commands.backtest import write_file
from csbridge.commands.health import parse_now
from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.history_file import parse_horizon
from csbridge.store.store import open_store
from csbridge.sync.batches import Batches
from csbridge.sync.history_export import (
    CHURNED_STAGES,
    ExportCounts,
    OutcomeRules,
    churn_dates,
    snapshots,
    stored_signals,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="labelled history from the store, for backtest and calibrate"
    )
    actions = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="write the stored signals of every run, labelled with churn read from the CRM",
        description="One snapshot per account and day scored by `run`, labelled with whether "
        "the CRM shows a churn within the horizon: a renewal closed lost, a churned "
        "lifecycle stage, or --churn-field.",
    )
    export.add_argument("--config", metavar="FILE", help="YAML config file")
    export.add_argument("--horizon", default="90d", help="churn counted within this (default 90d)")
    export.add_argument("--out", required=True, help="JSON Lines file to write")
    export.add_argument(
        "--churn-field",
        metavar="NAME",
        help="CRM account custom field holding a churn date or true (e.g. Churned_On__c)",
    )
    export.add_argument(
        "--churned-stage",
        action="append",
        metavar="STAGE",
        help=f"lifecycle stage meaning churned (repeatable; default {', '.join(CHURNED_STAGES)})",
    )
    export.add_argument("--now", metavar="ISO", help="export as of this time (default: now)")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args.config)
    horizon = parse_horizon(args.horizon)
    now = parse_now(args.now)
    rules = OutcomeRules(
        churned_stages=tuple(args.churned_stage or CHURNED_STAGES), churn_field=args.churn_field
    )
    store = open_store(settings.database_url)
    try:
        batches = Batches(store, settings.identity.key, now)
        churned = {
            key: day
            for customers in batches.customers()
            for key, day in churn_dates(customers, rules).items()
        }
        rows = list(stored_signals(store))
    finally:
        store.close()
    if not rows:
        raise CsbridgeError(
            f"{store.url}: no stored signals yet: `csbridge run` keeps them from this version on"
        )
    counts = ExportCounts()
    lines = snapshots(rows, churned, horizon, now, counts)
    write_file(args.out, "".join(orjson.dumps(line).decode() + "\n" for line in lines), "history")
    print(
        f"{counts.written} snapshots of {len(counts.accounts)} accounts written to {args.out} "
        f"({counts.churned} churned within {horizon} days); left out: {counts.not_yet_known} "
        f"whose horizon has not ended, {counts.after_churn} after the churn",
        file=sys.stdout,
    )
    return 0
