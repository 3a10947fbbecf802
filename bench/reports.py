"""Reports benchmark: the portfolio report and every account review, CPU time and memory.

    .venv/bin/python bench/reports.py [--accounts 10000] [--months 6]

Setup (not timed): a temporary SQLite store of `--accounts` synthetic customers, each
with a Salesforce account, contacts, deals, NPS answers, a Zendesk organization with
tickets and CSAT ratings, and 120 days of Mixpanel usage (pulling that many from the
sandbox emulators takes about 2 minutes per 1,000 accounts here); every customer is
scored once and the score stored at `--months` monthly dates.

Timed, in this process: the portfolio report (built and rendered to HTML), then every
account's review built and rendered to HTML one after the other (`every_review`: facts
and history read a slice of accounts at a time). Printed: CPU seconds and reviews per
CPU second against the target (all reviews in under 60 s of CPU), then the Python heap
peak (tracemalloc, in separate passes since it slows the run) over the first tenth of
the accounts and over all of them: "flat in the number of accounts" is their ratio.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from csbridge.config import Settings
from csbridge.models import (
    Account,
    Contact,
    Fact,
    Opportunity,
    Owner,
    SurveyResponse,
    Ticket,
    UsageDay,
)
from csbridge.reports.periods import quarter_of
from csbridge.reports.portfolio import build_portfolio
from csbridge.reports.render_html import render_html
from csbridge.reports.review import every_review, portfolio_benchmark
from csbridge.reports.source import ReportSource
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import SegmentModels
from csbridge.scoring.signal_types import SANDBOX_KEY_FEATURES
from csbridge.store.store import open_store
from csbridge.sync.cycle import history_entries, score_customers
from csbridge.sync.history import save_history
from csbridge.sync.portfolio import load_portfolio

USAGE_DAYS = 120


def customer(i: int, rng: random.Random, now: datetime) -> Iterator[Fact]:
    """One synthetic customer: a Salesforce account, contacts, deals, a Zendesk org with
    tickets and CSAT, NPS answers and `USAGE_DAYS` of Mixpanel usage (joined by domain)."""
    domain = f"customer{i:05d}.example"
    created = now - timedelta(days=rng.randint(20, 1500))
    arr = float(rng.choice((8_000, 24_000, 60_000, 150_000)))
    renewal = (now + timedelta(days=rng.randint(1, 365))).date()
    yield Account(source="salesforce", id=f"001A{i:08d}", name=f"Customer {i}", domain=domain,
                  owner_id=f"005U{i % 40:04d}", arr=arr, currency="USD", renewal_date=renewal,
                  seats_purchased=50, plan=rng.choice(("starter", "growth", "enterprise")),
                  created_at=created)  # fmt: skip
    yield Account(source="zendesk", id=f"{900_000 + i}", name=f"Customer {i}", domain=domain)
    for k, role in enumerate(("champion", "executive_sponsor", "user", "user")):
        yield Contact(source="salesforce", id=f"003C{i:08d}{k}", account_id=f"001A{i:08d}",
                      name=f"Person {i}-{k}", roles=(role,),
                      last_activity_at=now - timedelta(days=rng.randint(1, 120)))  # fmt: skip
    deals = [("renewal", arr, renewal, False, False)]
    if rng.random() < 0.3:
        deals.append(("upsell", arr * 0.2, (now - timedelta(days=rng.randint(1, 170))).date(),
                      True, True))  # fmt: skip
    if rng.random() < 0.05:
        deals.append(("renewal", arr, (now - timedelta(days=rng.randint(1, 170))).date(), True,
                      False))  # fmt: skip
    for k, (kind, amount, close, closed, won) in enumerate(deals):
        yield Opportunity(source="salesforce", id=f"006D{i:08d}{k}", account_id=f"001A{i:08d}",
                          kind=kind, amount=amount, close_date=close, is_closed=closed,
                          is_won=won, name=f"{kind} {i}")  # fmt: skip
    for k in range(rng.randint(0, 3)):
        yield SurveyResponse(source="salesforce", id=f"a0N{i:08d}{k}", kind="nps",
                             account_id=f"001A{i:08d}", score=rng.randint(0, 10),
                             comment="Good product." if k == 0 else None,
                             responded_at=now - timedelta(days=rng.randint(1, 360)))  # fmt: skip
    for k in range(rng.randint(0, 6)):
        opened = now - timedelta(days=rng.randint(1, 180))
        yield Ticket(source="zendesk", id=f"{i}{k:03d}", account_id=f"{900_000 + i}",
                     status="solved", priority=rng.choice(("low", "normal", "high", "urgent")),
                     created_at=opened, solved_at=opened + timedelta(hours=5))  # fmt: skip
        yield SurveyResponse(source="zendesk", id=f"s{i}{k:03d}", kind="csat",
                             account_id=f"{900_000 + i}", score=float(rng.random() < 0.8),
                             scale_min=0, scale_max=1, responded_at=opened)  # fmt: skip
    users = rng.randint(3, 40)
    for back in range(USAGE_DAYS, 0, -1):
        day = (now - timedelta(days=back)).date()
        if day < created.date():
            continue
        active = rng.randint(0, users)
        features = {f: rng.randint(0, 3 * active) for f in SANDBOX_KEY_FEATURES[:4]}
        yield UsageDay(source="mixpanel", id=UsageDay.usage_id(domain, day), account_id=domain,
                       day=day, active_users=active, sessions=2 * active,
                       events=sum(features.values()) + active, feature_events=features)  # fmt: skip


def fill(url: str, accounts: int, months: int, now: datetime) -> None:
    """A store of `accounts` synthetic customers, scored once and that score stored at
    `months` monthly dates (the history six monthly runs leave; no CRM write)."""
    store = open_store(url)
    rng = random.Random(7)
    started = time.perf_counter()
    page: list[Fact] = []
    rows = 0
    for i in range(accounts):
        page.extend(customer(i, rng, now))
        if len(page) > 20_000 or i == accounts - 1:
            rows += store.save_page(page)
            page = []
    owners = [Owner(source="salesforce", id=f"005U{k:04d}", name=f"CSM {k}",
                    email=f"csm{k}@vendor.example") for k in range(40)]  # fmt: skip
    store.upsert(owners)
    print(f"setup: {rows:,} facts stored in {time.perf_counter() - started:.0f} s")
    engine = Engine(load_model("seed-5d"))
    rules = load_rules(None)
    portfolio = load_portfolio(store, "domain", now)
    scored = score_customers(portfolio.customers, SegmentModels(engine), rules, now)
    entries = history_entries(scored)
    for back in range(months - 1, -1, -1):
        save_history(store, entries, now - timedelta(days=30 * back), model_hash=engine.model_hash)
    store.close()
    print(f"setup: {len(entries):,} customers scored, history at {months} monthly dates")


def reviews(
    source: ReportSource, limit: int | None = None, traced: bool = False
) -> tuple[int, float]:
    """Build and render reviews (all, or the first `limit`): the count, and CPU seconds
    or, `traced`, the Python heap's peak in bytes (tracemalloc slows the run down)."""
    benchmark = portfolio_benchmark(source)
    if traced:
        tracemalloc.start()
    cpu = time.process_time()
    count = 0
    for document in every_review(source, benchmark):
        render_html(document)
        count += 1
        if limit is not None and count >= limit:
            break
    if not traced:
        return count, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, float(peak)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        fill(url, args.accounts, args.months, now)
        settings = Settings(database_url=url)
        source = ReportSource(settings, now)
        cpu = time.process_time()
        page = render_html(build_portfolio(source, quarter_of(now.date())))
        portfolio_cpu = time.process_time() - cpu
        print(f"portfolio report ({len(source.keys):,} accounts, {len(page) / 1e3:.0f} kB "
              f"HTML): {portfolio_cpu:.1f} s CPU")  # fmt: skip
        count, all_cpu = reviews(source)
        tenth, tenth_peak = reviews(source, max(1, count // 10), traced=True)
        _, all_peak = reviews(source, traced=True)
        source.close()
    print(
        f"every review ({count:,} accounts, built and rendered to HTML): {all_cpu:.1f} s CPU "
        f"= {count / all_cpu:,.0f} reviews per CPU second; target < 60 s: "
        f"{'met' if all_cpu < 60 else 'NOT met'}"
    )
    print(
        f"heap peak while building reviews: {tenth_peak / 1e6:.1f} MB over the first "
        f"{tenth:,} accounts, {all_peak / 1e6:.1f} MB over all {count:,} "
        f"(ratio {all_peak / tenth_peak:.2f} for {count / tenth:.0f}x the accounts)"
    )


if __name__ == "__main__":
    main()
