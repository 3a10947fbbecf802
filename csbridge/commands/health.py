"""`csbridge health`: score every CRM customer from the facts in the store.

Reads the store (filled by `csbridge pull`) a batch of customers at a time
(`csbridge.sync.batches`), joins the systems per customer (identity), computes the raw
signals for the configured model (`model:`, or the segment's own under
`model_per_segment:`), scores them, and prints the same shapes as `csbridge score` plus
the CSM load, the share of accounts on touchpoint cadence and the unmatched report. The
JSON is written as the batches are scored; the table needs every row first.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import yaml
from pydantic import ValidationError

from csbridge.commands.score import table_text
from csbridge.config import Settings, describe_errors, load_config
from csbridge.errors import CsbridgeError
from csbridge.mappings.identity import UnmatchedReport
from csbridge.scoring import Engine, ScoreResult
from csbridge.scoring.cadence import (
    CadenceStatus,
    cadence_rows,
    customer_cadence,
    share_on_cadence,
)
from csbridge.scoring.csm_load import BookEntry, book_entry, csm_load, load_json, load_table
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import load_segment_models, models_used
from csbridge.scoring.signals import CustomerFacts, CustomerSignals, SignalOptions
from csbridge.store.store import open_store
from csbridge.sync.batches import Batches
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
    """Score the portfolio a batch of customers at a time and print it; exit 0."""
    settings = load_config(args.config)
    now = parse_now(args.now)
    options = load_options(args.signals, settings)
    models = load_segment_models(settings.model, settings.model_per_segment)
    cadence = load_rules(settings.rules).cadence
    out = sys.stdout
    store = open_store(settings.database_url)
    try:
        batches = Batches(store, settings.identity.key, now)
        if not batches.keys:
            raise CsbridgeError(
                f"{store.url}: no CRM accounts in the store; "
                "run `csbridge pull` with this config first"
            )
        options = batches.benchmarks(options, batches.keys)
        default = models.default
        head = {"model": {"name": default.model.name, "hash": default.model_hash}}
        json = args.format == "json"
        document = JsonDocument({**head, "now": now.isoformat()}, out) if json else None
        tally = Tally()
        for customers in batches.customers():
            signals, results, engines = models.score(customers, now, options)
            statuses = [
                customer_cadence(cadence, r.segment, f, now)
                for f, r in zip(customers, results, strict=True)
            ]
            tally.add(customers, signals, results, engines, statuses, keep=document is None)
            if document is not None:
                document.add(account_entries(customers, signals, results, engines, statuses))
        report = batches.report_unmatched()
    finally:
        store.close()
    load = csm_load(tally.book)
    share = share_on_cadence(tally.cadence)
    if document is not None:
        tail = {"models": dict(sorted(tally.models.items())), "csm_load": load_json(load)}
        document.close({**tail, "cadence": share, "unmatched": report.rows()})
    else:
        write_tables(tally.results, tally.engines, out)
        header, cells = load_table(load)
        out.write("\nCSM load (accounts / the segment's accounts per CSM):\n")
        out.write(format_table(header, cells, right=[2, 3, 4, 5]))
        write_cadence(share, out)
        write_unmatched(report, out)
    return 0


@dataclass
class Tally:
    """What health keeps of the scored batches: each account's book entry, cadence and
    the accounts per model; the results and engines only for the table (`keep`)."""

    book: list[BookEntry] = field(default_factory=list)
    cadence: list[CadenceStatus | None] = field(default_factory=list)
    models: Counter[str] = field(default_factory=Counter)
    results: list[ScoreResult] = field(default_factory=list)
    engines: list[Engine] = field(default_factory=list)

    def add(
        self,
        customers: Sequence[CustomerFacts],
        signals: Sequence[CustomerSignals],
        results: Sequence[ScoreResult],
        engines: Sequence[Engine],
        statuses: Sequence[CadenceStatus | None],
        *,
        keep: bool,
    ) -> None:
        for facts, signal, result in zip(customers, signals, results, strict=True):
            owner = facts.accounts[0].owner_id if facts.accounts else None
            self.book.append(book_entry(owner, signal.attributes.get("arr"), result))
        self.cadence += statuses
        self.models.update(models_used(engines))
        if keep:
            self.results += results
            self.engines += engines


def write_tables(results: Sequence[ScoreResult], engines: Sequence[Engine], out: IO[str]) -> None:
    """`csbridge score`'s table; one per model when segments have their own model."""
    groups: dict[str, list[ScoreResult]] = {}
    by_hash: dict[str, Engine] = {}
    for result, engine in zip(results, engines, strict=True):
        groups.setdefault(engine.model_hash, []).append(result)
        by_hash[engine.model_hash] = engine
    for digest, rows in groups.items():
        if len(groups) > 1:
            model = by_hash[digest].model.name
            out.write(f"\nmodel {model} ({digest}): {len(rows)} accounts\n")
        out.write(table_text(by_hash[digest], rows))


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


def account_entries(
    customers: Sequence[CustomerFacts],
    signals: Sequence[CustomerSignals],
    results: Sequence[ScoreResult],
    engines: Sequence[Engine],
    statuses: Sequence[CadenceStatus | None],
) -> Iterator[dict[str, Any]]:
    """`csbridge score`'s JSON entry of each account plus the model that scored it, its
    touchpoint cadence, its name, ids, raw signals and which of them a source gave as is
    (`given_by`: key → source, e.g. warehouse)."""
    rows = zip(customers, signals, results, engines, statuses, strict=True)
    for facts, signal, result, used, cadence in rows:
        entry = dict(result.as_dict())
        entry["model"] = {"name": used.model.name, "hash": used.model_hash}
        entry["cadence"] = None if cadence is None else cadence.as_dict()
        entry["name"] = facts.accounts[0].name if facts.accounts else facts.key
        entry["ids"] = {a.source: a.id for a in facts.accounts}
        entry["signals"] = signal.values
        entry["given_by"] = signal.given_by  # key → the source that gave the value as is
        seen = signal.last_seen_at
        entry["last_seen_at"] = seen.isoformat() if seen is not None else None
        yield entry


class JsonDocument:
    """The JSON document (`head`, the accounts, then the tail), written as it goes so the
    accounts are never all held; byte for byte what one `orjson.dumps` of it would be."""

    def __init__(self, head: dict[str, Any], out: IO[str]) -> None:
        self.head, self.out, self.count = head, out, 0
        out.write(self._parts({})[0] + "[")

    def add(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            text = orjson.dumps(entry, option=orjson.OPT_INDENT_2).decode()
            self.out.write(
                ("\n    " if self.count == 0 else ",\n    ") + text.replace("\n", "\n    ")
            )
            self.count += 1

    def close(self, tail: dict[str, Any]) -> None:
        self.out.write(("\n  ]" if self.count else "]") + self._parts(tail)[1] + "\n")

    def _parts(self, tail: dict[str, Any]) -> tuple[str, str]:
        marker = "<accounts>"
        whole = {**self.head, "accounts": marker, **tail}
        text = orjson.dumps(whole, option=orjson.OPT_INDENT_2).decode()
        before, after = text.split(f'"{marker}"', 1)
        return before, after


def write_unmatched(report: UnmatchedReport, out: IO[str]) -> None:
    """The unmatched report under the table: one line per (source, kind, reason)."""
    out.write(f"\nunmatched: {report.total}\n")
    for line in report.lines():
        out.write(f"  {line}\n")
