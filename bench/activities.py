"""CRM activities on the sandbox: the pull's calls for the activity streams, and the
engagement / relationship signals they feed.

    .venv/bin/python bench/activities.py [--accounts 500] [--seed 7]

Prints, measured in this one run (the demo's configuration, rate limits off):
- per activity stream: records, API calls against the minimum the page sizes allow
  (Salesforce: describe + one query per 2,000 rows, calls counted as describe + pages
  since simple-salesforce's queries all carry the `queryAll` label; HubSpot: one search
  per 100 and one association batch read per page);
- per model (seed-5d, seed-6d), for each engagement and relationship indicator: the share
  of accounts with data and its spread (distinct values, 10th / 50th / 90th percentile),
  and the median and 10th-percentile coverage.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
from collections import Counter
from pathlib import Path
from statistics import quantiles

import structlog

from csbridge.config import load_config
from csbridge.scoring import Engine, load_model
from csbridge.scoring.signals import CustomerSignals, portfolio_signals
from csbridge.store.store import open_store
from csbridge.sync.portfolio import load_portfolio
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import run_sandbox

STREAMS = {  # stream -> (system, endpoint prefix of its calls, page size)
    "salesforce.tasks": ("salesforce", "Task", 2000),
    "salesforce.events": ("salesforce", "Event", 2000),
    "salesforce.email_messages": ("salesforce", "EmailMessage", 2000),
    "salesforce.campaign_members": ("salesforce", "CampaignMember", 2000),
    "hubspot.calls": ("hubspot", "calls", 100),
    "hubspot.emails": ("hubspot", "emails", 100),
    "hubspot.meetings": ("hubspot", "meetings", 100),
    "hubspot.notes": ("hubspot", "notes", 100),
}
DIMENSIONS = ("engagement", "relationship")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_sandbox(port_base=0, accounts=args.accounts, seed=args.seed, rate_limits="off") as sb,
    ):
        config = sb.write_config(Path(tmp) / "c.yaml")
        settings = load_config(config).model_copy(
            update={"database_url": f"sqlite:///{Path(tmp) / 'state.db'}"}
        )
        store = open_store(settings.database_url)
        report = pull(settings, store)
        print(f"pull of {args.accounts} accounts, stopped: {report.stopped or 'none'}")
        calls_of: Counter[tuple[str, str]] = Counter()
        for row in report.accounting.rows():
            calls_of[(row.system, row.endpoint)] += row.count
        extra = minimum = 0
        for stream, (system, prefix, size) in STREAMS.items():
            records = report.records.get(stream, 0)
            if system == "salesforce":  # queries are labelled `queryAll`: one call a page
                calls = 1 + report.pages.get(stream, 0)  # describe, then the pages
            else:
                calls = sum(n for (s, e), n in calls_of.items() if s == system and prefix in e)
            pages = max(1, math.ceil(records / size))
            least = 1 + pages if system == "salesforce" else 2 * pages
            extra, minimum = extra + calls, minimum + least
            print(f"  {stream:<30} {records:6d} records  {calls:4d} calls (minimum {least})")
        print(f"  activity streams: {extra} calls, minimum {minimum} ({extra / minimum:.2f}x)")
        portfolio = load_portfolio(store, settings.identity.key, sb.world.now)
        for name in ("seed-5d", "seed-6d"):
            engine = Engine(load_model(name))
            signals = portfolio_signals(portfolio.customers, sb.world.now, engine.model)
            _print_model(name, engine, signals)
        store.close()


def _print_model(name: str, engine: Engine, signals: list[CustomerSignals]) -> None:
    n = len(signals)
    results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
    cover = quantiles([r.coverage for r in results], n=10)
    print(f"{name}: {n} accounts, coverage median {cover[4]:.2f}, 10th percentile {cover[0]:.2f}")
    for key in engine.keys:
        if key.split(".")[0] not in DIMENSIONS:
            continue
        values = [s.values[key] for s in signals if key in s.values]
        share = len(values) / n
        if not values:
            print(f"  {key:<38} no data")
            continue
        spread = f"{len(set(values))} distinct"
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        if len(numbers) == len(values) and len(numbers) > 1:
            p = quantiles(numbers, n=10)
            spread += f", p10 {p[0]:.2f} p50 {p[4]:.2f} p90 {p[8]:.2f}"
        else:
            spread += ": " + ", ".join(f"{v} {c}" for v, c in Counter(values).most_common())
        print(f"  {key:<38} {share:5.0%} with data, {spread}")


if __name__ == "__main__":
    main()
