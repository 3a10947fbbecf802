"""`csbridge inbox list | replay`: look at the webhook inbox and re-drive finished rows."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.store.store import open_store
from csbridge.tables import format_table
from csbridge.webhooks import inbox


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("inbox", help="list or replay webhook inbox rows")
    actions = parser.add_subparsers(dest="inbox_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="rows, newest first, with status and reason")
    listing.add_argument("--config", metavar="FILE", help="YAML config file")
    listing.add_argument("--status", choices=inbox.STATUSES, help="only rows in this status")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many rows")
    listing.set_defaults(handler=list_rows)
    again = actions.add_parser(
        "replay", help="put a processed, parked or dead-lettered row back to pending"
    )
    again.add_argument("--config", metavar="FILE", help="YAML config file")
    again.add_argument("id", type=int, help="inbox row id (see `csbridge inbox list`)")
    again.set_defaults(handler=replay)


def list_rows(args: argparse.Namespace) -> int:
    """Print the rows as a table or JSON."""
    store = open_store(load_config(args.config).database_url)
    try:
        rows = inbox.list_rows(store.engine, args.status, args.limit)
    finally:
        store.close()
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    header = ("id", "source", "status", "attempts", "event id", "reason")
    cells = [
        (r["id"], r["source"], r["status"], r["attempts"], r["event_id"], (r["error"] or "")[:80])
        for r in rows
    ]
    sys.stdout.write(format_table(header, cells, right=(0, 3)))
    return 0


def replay(args: argparse.Namespace) -> int:
    """Re-queue one finished row; the worker handles it again."""
    store = open_store(load_config(args.config).database_url)
    try:
        previous = inbox.replay(store.engine, args.id)
    finally:
        store.close()
    if previous is None:
        raise CsbridgeError(f"inbox row {args.id}: not found; see `csbridge inbox list`")
    if previous not in inbox.TERMINAL:
        raise CsbridgeError(f"inbox row {args.id}: is {previous}, not finished; nothing to replay")
    sys.stdout.write(f"inbox row {args.id}: {previous} → pending\n")
    return 0
