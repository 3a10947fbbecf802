"""`csbridge plan`: what a sync would write into the CRM, without writing anything.

Reads the facts in the store (filled by `csbridge pull`) a batch of customers at a time
(`csbridge.sync.batches`), scores every customer with
the configured model, runs the playbook rules, builds each account's desired CRM state
and diffs it against the write ledger (what csbridge last wrote; empty before the first
apply). Prints the ChangeSet as a table or JSON. The score history and rule episodes
left by earlier `csbridge run`s are read, so the plan is what `run` would write now.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from csbridge.commands.health import SIGNALS_HELP, load_options, parse_now
from csbridge.config import load_config
from csbridge.connectors.registry import WRITERS
from csbridge.errors import CsbridgeError
from csbridge.mappings.fields import Crm
from csbridge.store.store import open_store
from csbridge.sync.batches import Batches
from csbridge.sync.changes import AccountChanges, ChangeSet
from csbridge.sync.cycle import Cycle


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show the fields, tags, tasks and notifications a sync would write (no writes)",
        description=(
            "Score the stored facts, run the playbook rules and diff the desired CRM state "
            "against what csbridge last wrote. Writes nothing."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--rules", metavar="FILE", help="playbook rules YAML (default: the seeds')")
    parser.add_argument("--mapping", metavar="FILE", help="field mapping override for the target")
    parser.add_argument(
        "--target", choices=sorted(WRITERS), help="CRM (default: first of crm.targets)"
    )
    parser.add_argument("--now", metavar="ISO", help="plan as of this time (default: now)")
    parser.add_argument("--signals", metavar="FILE", help=SIGNALS_HELP)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the plan and print it; exit 0 (also when there is nothing to change)."""
    settings = load_config(args.config)
    target: Crm | None = args.target or (settings.crm.targets[0] if settings.crm.targets else None)
    if target is None:
        raise CsbridgeError("no CRM target: set crm.targets in the config or pass --target")
    now = parse_now(args.now)
    cycle = Cycle.build(
        settings,
        rules=args.rules,
        mappings={target: args.mapping or getattr(settings.crm, target).mapping},
    )
    options = load_options(args.signals, settings)
    store = open_store(settings.database_url)
    try:
        batches = Batches(store, settings.identity.key, now)
        if not batches.keys:
            raise CsbridgeError(
                f"{store.url}: no CRM accounts in the store; "
                "run `csbridge pull` with this config first"
            )
        keys = batches.in_targets((target,))
        options = batches.benchmarks(options, keys)
        ledger = cycle.ledger(store, target)
        planned: list[AccountChanges] = []
        for customers in batches.customers(keys):
            history = cycle.history(store, now, [c.key for c in customers])
            scored = cycle.score(customers, now, history, options)
            planned += cycle.plan(cycle.desired(scored, target, now), ledger).accounts
        changes = ChangeSet(tuple(planned))
    finally:
        store.close()
    write(changes, args.format)
    return 0


def write(changes: ChangeSet, fmt: str, out: Any = None) -> None:
    """Print the ChangeSet as a table or as JSON."""
    stream = out or sys.stdout
    stream.write(changes.to_json() + "\n" if fmt == "json" else changes.render_table())
