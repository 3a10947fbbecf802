"""`csbridge health`: score every CRM customer from the facts in the store.

Reads the store (filled by `csbridge pull`), joins the systems per customer
(identity), computes the raw signals for the configured model (`model:`, or the segment's own
under `model_per_segment:`), scores them, and prints the same shapes as `csbridge
score` plus the CSM load, the share of accounts on touchpoint cadence and the unmatched
report.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import yaml
from pydantic import ValidationError

from csbridge.commands.score import table_text
from csbridge.config import Settings, describe_errors, load_config
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoreResult
from csbridge.scoring.cadence import (
    CadenceStatus,
    cadence_rows,
    customer_cadence,
    share_on_cadence,
)
from csbridge.scoring.csm_load import LoadRow, book_entry, csm_load, load_json, load_table
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import load_segment_models, models_used
from csbridge.scoring.signals import CustomerSignals, SignalOptions
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
    models = load_segment_models(settings.model, settings.model_per_segment)
    cadence = load_rules(settings.rules).cadence
    store = open_store(settings.database_url)
    try:
        portfolio = load_portfolio(store, settings.identity.key, now)
    finally:
        store.close()
    if not portfolio.customers:
        raise CsbridgeError(
            f"{store.url}: no CRM accounts in the store; run `csbridge pull` with this config first"
        )
    signals, results, engines = models.score(portfolio.customers, now, options)
    statuses = [
        customer_cadence(cadence, r.segment, f, now)
        for f, r in zip(portfolio.customers, results, strict=True)
    ]
    out = sys.stdout
    load = csm_load(
        book_entry(f.accounts[0].owner_id if f.accounts else None, s.attributes.get("arr"), r)
        for f, s, r in zip(portfolio.customers, signals, results, strict=True)
    )
    scored = Scored(signals, results, engines, statuses)
    if args.format == "json":
        write_json(models.default, now, portfolio, scored, load, out)
    else:
        write_tables(scored, out)
        header, cells = load_table(load)
        out.write("\nCSM load (accounts / the segment's accounts per CSM):\n")
        out.write(format_table(header, cells, right=[2, 3, 4, 5]))
        write_cadence(share_on_cadence(statuses), out)
        write_unmatched(portfolio, out)
    return 0


@dataclass(frozen=True)
class Scored:
    """The portfolio's signals, scores, the engine that scored each and its cadence."""

    signals: list[CustomerSignals]
    results: list[ScoreResult]
    engines: list[Engine]
    cadence: list[CadenceStatus | None]


def write_tables(scored: Scored, out: IO[str]) -> None:
    """`csbridge score`'s table; one per model when segments have their own model."""
    groups: dict[str, list[ScoreResult]] = {}
    engines: dict[str, Engine] = {}
    for result, engine in zip(scored.results, scored.engines, strict=True):
        groups.setdefault(engine.model_hash, []).append(result)
        engines[engine.model_hash] = engine
    for digest, results in groups.items():
        if len(groups) > 1:
            model = engines[digest].model.name
            out.write(f"\nmodel {model} ({digest}): {len(results)} accounts\n")
        out.write(table_text(engines[digest], results))


def write_cadence(summary: dict[str, Any], out: IO[str]) -> None:
    """The share of accounts on touchpoint cadence, overall and per segment."""
    out.write("\nTouchpoint cadence (seed 002 target: > 90 % on cadence):\n")
    header = ["segment", "measured", "on cadence", "share"]
    out.write(format_table(header, cadence_rows(summary), right=[1, 2, 3]))
    missed = ", ".join(f"{k} {n}" for k, n in summary["missed"].items()) or "none"
    out.write(f"missed touchpoints (accounts): {missed}; not measured: {summary['not_measured']}\n")


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
    scored: Scored,
    load: list[LoadRow],
    out: IO[str],
) -> None:
    """`csbridge score`'s JSON plus, per account, its name, ids, raw signals, the model
    that scored it and its touchpoint cadence; the accounts per model; the CSM load per
    owner and segment; the share on cadence; and unmatched."""
    accounts = []
    rows = zip(
        portfolio.customers,
        scored.signals,
        scored.results,
        scored.engines,
        scored.cadence,
        strict=True,
    )
    for facts, signal, result, used, cadence in rows:
        entry = dict(result.as_dict())
        entry["model"] = {"name": used.model.name, "hash": used.model_hash}
        entry["cadence"] = None if cadence is None else cadence.as_dict()
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
        "models": models_used(scored.engines),
        "csm_load": load_json(load),
        "cadence": share_on_cadence(scored.cadence),
        "unmatched": portfolio.unmatched(),
    }
    out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_unmatched(portfolio: Portfolio, out: IO[str]) -> None:
    """The unmatched report under the table: one line per (source, kind, reason)."""
    report = portfolio.report
    out.write(f"\nunmatched: {report.total}\n")
    for line in report.lines():
        out.write(f"  {line}\n")
