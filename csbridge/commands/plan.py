"""`csbridge plan`: what a sync would write into the CRM, without writing anything.

Reads the facts in the store (filled by `csbridge pull`), scores every customer with
the configured model, runs the playbook rules, builds each account's desired CRM state
and diffs it against the write ledger (what csbridge last wrote; empty before the first
apply). Prints the ChangeSet as a table or JSON.

Not yet read from the store: the score 30 days ago, the previous status and the rule
episodes (no score history is written yet), so trends are empty and every active
state is a new episode.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from csbridge.commands.health import load_options, parse_now
from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.mappings.fields import Crm, CrmFieldMapping, load_field_mapping
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules import evaluate
from csbridge.scoring.rules_config import RulesConfig, load_rules
from csbridge.scoring.signals import SignalOptions, portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.changes import ChangeSet, DesiredState, LedgerState
from csbridge.sync.context import rule_context
from csbridge.sync.desired import desired_state
from csbridge.sync.ledger import read_ledger
from csbridge.sync.plan import plan
from csbridge.sync.portfolio import Portfolio, load_portfolio


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
        "--target", choices=("salesforce", "hubspot"), help="CRM (default: first of crm.targets)"
    )
    parser.add_argument("--now", metavar="ISO", help="plan as of this time (default: now)")
    parser.add_argument("--signals", metavar="FILE", help="YAML signal options (as for health)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the plan and print it; exit 0 (also when there is nothing to change)."""
    settings = load_config(args.config)
    target: Crm | None = args.target or (settings.crm.targets[0] if settings.crm.targets else None)
    if target is None:
        raise CsbridgeError("no CRM target: set crm.targets in the config or pass --target")
    mapping = load_field_mapping(target, args.mapping)
    rules = load_rules(args.rules)
    now = parse_now(args.now)
    engine = Engine(load_model(settings.model))
    options = load_options(args.signals)
    store = open_store(settings.database_url)
    try:
        portfolio = load_portfolio(store, settings.identity.key, now)
        tag_field = mapping.write["tags"].api_name if "tags" in mapping.write else None
        written, done, notified = read_ledger(store, target, mapping.object, tag_field)
    finally:
        store.close()
    if not portfolio.customers:
        raise CsbridgeError(
            f"{store.url}: no CRM accounts in the store; run `csbridge pull` with this config first"
        )
    desired = desired_states(portfolio, engine, rules, mapping, target, now, options)
    ledger = {}
    for key, state in desired.items():
        base = written.get(state.record_id, LedgerState())
        ledger[key] = LedgerState(base.fields, base.tags, done, notified)
    changes = plan(desired, ledger, owned_tags=rules.owned_tags)
    write(changes, args.format)
    return 0


def desired_states(
    portfolio: Portfolio,
    engine: Engine,
    rules: RulesConfig,
    mapping: CrmFieldMapping,
    target: Crm,
    now: datetime,
    options: SignalOptions | None = None,
) -> dict[str, DesiredState]:
    """Each customer with an account in `target`: score → rules → desired CRM state."""
    customers = [c for c in portfolio.customers if any(a.source == target for a in c.accounts)]
    signals = portfolio_signals(customers, now, engine.model, options)
    results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
    states = {}
    for facts, signal, result in zip(customers, signals, results, strict=True):
        record_id = next(a.id for a in facts.accounts if a.source == target)
        champion = any(
            k.endswith(".champion_present") and v == "left" for k, v in signal.values.items()
        )
        ctx = rule_context(
            facts.key,
            facts,
            now,
            score=result.score,
            status=result.status,
            champion_left=champion,
            key_features=options.key_features if options else (),
        )
        actions = evaluate(ctx, rules, now).actions
        states[facts.key] = desired_state(
            result,
            ctx,
            actions,
            mapping,
            now,
            record_id=record_id,
            bands=engine.model.bands,
            margin=rules.score_margin,
        )
    return states


def write(changes: ChangeSet, fmt: str, out: Any = None) -> None:
    """Print the ChangeSet as a table or as JSON."""
    stream = out or sys.stdout
    stream.write(changes.to_json() + "\n" if fmt == "json" else changes.render_table())
