"""`csbridge plan`: what a sync would write into the CRM, without writing anything.

Reads the facts in the store (filled by `csbridge pull`), scores every customer with
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
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules_config import load_rules
from csbridge.store.store import open_store
from csbridge.sync.changes import ChangeSet
from csbridge.sync.cycle import desired_states, in_targets, model_mapping, score_customers
from csbridge.sync.history import load_history
from csbridge.sync.ledger import read_ledger
from csbridge.sync.plan import ledger_states, plan
from csbridge.sync.portfolio import load_portfolio


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
    rules = load_rules(args.rules or settings.rules)
    now = parse_now(args.now)
    engine = Engine(load_model(settings.model))
    mapping = model_mapping(
        target, args.mapping or getattr(settings.crm, target).mapping, engine.model
    )
    options = load_options(args.signals, settings)
    store = open_store(settings.database_url)
    try:
        portfolio = load_portfolio(store, settings.identity.key, now)
        history = load_history(store, now)
        written, done, notified = read_ledger(store, target, mapping.object, mapping.tag_field)
    finally:
        store.close()
    if not portfolio.customers:
        raise CsbridgeError(
            f"{store.url}: no CRM accounts in the store; run `csbridge pull` with this config first"
        )
    customers = in_targets(portfolio.customers, (target,))
    scored = score_customers(customers, engine, rules, now, history, options)
    desired = desired_states(scored, target, mapping, engine, rules, now)
    changes = plan(
        desired, ledger_states(desired, written, done, notified), owned_tags=rules.owned_tags
    )
    write(changes, args.format)
    return 0


def write(changes: ChangeSet, fmt: str, out: Any = None) -> None:
    """Print the ChangeSet as a table or as JSON."""
    stream = out or sys.stdout
    stream.write(changes.to_json() + "\n" if fmt == "json" else changes.render_table())
