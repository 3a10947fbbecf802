"""`csbridge health`: score every CRM customer from the facts in the store.

Reads the store (filled by `csbridge pull`), joins the systems per customer
(identity), computes the raw signals for the configured model (`model:`), scores
them, and prints the same shapes as `csbridge score` plus the unmatched report.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import yaml
from pydantic import ValidationError

from csbridge.commands.score import table_text
from csbridge.config import Settings, describe_errors, load_config
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoreResult, load_model
from csbridge.scoring.csm_load import LoadRow, book_entry, csm_load, load_json, load_table
from csbridge.scoring.signals import CustomerSignals, SignalOptions, portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.portfolio import Portfolio, load_portfolio
from csbridge.tables import format_table

SIGNALS_HELP = (
    "deprecated, removed in the next release: YAML signal options that override the "
    "config's signals: section (move them there)"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "health",
        help="score every CRM customer from the facts pulled into the store",
        description=(
            "Join the stored facts per customer, compute the health signals and score them "
            "with the configured model; also report what matched no CRM account."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--now", metavar="ISO", help="score as of this time (default: now), e.g. 2026-03-01"
    )
    parser.add_argument("--signals", metavar="FILE", help=SIGNALS_HELP)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Score the portfolio and print it; exit 0."""
    settings = load_config(args.config)
    now = parse_now(args.now)
    options = load_options(args.signals, settings)
    engine = Engine(load_model(settings.model))
    store = open_store(settings.database_url)
    try:
        portfolio = load_portfolio(store, settings.identity.key, now)
    finally:
        store.close()
    if not portfolio.customers:
        raise CsbridgeError(
            f"{store.url}: no CRM accounts in the store; run `csbridge pull` with this config first"
        )
    signals = portfolio_signals(portfolio.customers, now, engine.model, options)
    results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
    out = sys.stdout
    load = csm_load(
        book_entry(f.accounts[0].owner_id if f.accounts else None, s.attributes.get("arr"), r)
        for f, s, r in zip(portfolio.customers, signals, results, strict=True)
    )
    if args.format == "json":
        write_json(engine, now, portfolio, signals, results, load, out)
    else:
        out.write(table_text(engine, results))
        header, cells = load_table(load)
        out.write("\nCSM load (accounts / the segment's accounts per CSM):\n")
        out.write(format_table(header, cells, right=[2, 3, 4, 5]))
        write_unmatched(portfolio, out)
    return 0


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC datetime (naive values are UTC); the clock when absent."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CsbridgeError(
            f"--now {text!r}: not an ISO date or time; use e.g. 2026-03-01 or 2026-03-01T12:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_options(path: str | None, settings: Settings) -> SignalOptions:
    """The config's signal options (`signals:`, `sources.mixpanel.key_features`), with
    the keys a `--signals` YAML file names replaced by its values (kept for one release:
    the file predates the `signals:` section)."""
    configured = settings.signal_options().model_dump()
    if path is None:
        return SignalOptions.model_validate(configured)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise CsbridgeError(f"{path}: cannot read the signals file ({exc.strerror})") from None
    except yaml.YAMLError:
        raise CsbridgeError(f"{path}: not valid YAML; fix the syntax") from None
    if not isinstance(data, dict):
        raise CsbridgeError(f"{path}: the top level must be a mapping (key_features: ...)")
    try:
        return SignalOptions.model_validate({**configured, **data})
    except ValidationError as exc:
        raise CsbridgeError(describe_errors(path, exc)) from None


def write_json(
    engine: Engine,
    now: datetime,
    portfolio: Portfolio,
    signals: list[CustomerSignals],
    results: list[ScoreResult],
    load: list[LoadRow],
    out: IO[str],
) -> None:
    """`csbridge score`'s JSON plus, per account, its name, ids and raw signals; the CSM
    load per owner and segment; and unmatched."""
    accounts = []
    for facts, signal, result in zip(portfolio.customers, signals, results, strict=True):
        entry = dict(result.as_dict())
        entry["name"] = facts.accounts[0].name if facts.accounts else facts.key
        entry["ids"] = {a.source: a.id for a in facts.accounts}
        entry["signals"] = signal.values
        seen = signal.last_seen_at
        entry["last_seen_at"] = seen.isoformat() if seen is not None else None
        accounts.append(entry)
    document = {
        "model": {"name": engine.model.name, "hash": engine.model_hash},
        "now": now.isoformat(),
        "accounts": accounts,
        "csm_load": load_json(load),
        "unmatched": portfolio.unmatched(),
    }
    out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_unmatched(portfolio: Portfolio, out: IO[str]) -> None:
    """The unmatched report under the table: one line per (source, kind, reason)."""
    report = portfolio.report
    out.write(f"\nunmatched: {report.total}\n")
    for line in report.lines():
        out.write(f"  {line}\n")
