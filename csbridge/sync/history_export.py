"""Labelled history from the store: stored signals per run, churn read from CRM facts.

Each account's signals as scored by `run` become one snapshot per day (the day's last
run); its outcome comes from what the CRM says happened afterwards:
- a renewal opportunity closed lost (its close date),
- an account whose lifecycle stage is one of `churned_stages` (the record's update time),
- with `churn_field`, an account custom field that holds a churn date, or true (the
  record's update time).
The earliest such date is the customer's churn date. A snapshot on or after that date
is left out (the customer had already gone), and so is one whose horizon has not
ended by `now` without a churn: its outcome is not known yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from csbridge.scoring.signal_types import CustomerFacts
from csbridge.store.facts import as_utc
from csbridge.store.store import Store
from csbridge.store.tables import score_history

CHURNED_STAGES = ("churned", "former customer", "former_customer", "closed lost", "closed_lost")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "churned"})


@dataclass(frozen=True)
class OutcomeRules:
    churned_stages: tuple[str, ...] = CHURNED_STAGES
    churn_field: str | None = None


@dataclass
class ExportCounts:
    written: int = 0
    churned: int = 0
    after_churn: int = 0
    not_yet_known: int = 0
    accounts: set[str] = field(default_factory=set)


def churn_date(customer: CustomerFacts, rules: OutcomeRules) -> date | None:
    """The earliest date the CRM facts say this customer churned, or None."""
    found: list[date] = []
    for opp in customer.opportunities:
        if opp.kind == "renewal" and opp.is_closed and not opp.is_won and opp.close_date:
            found.append(opp.close_date)
    stages = {s.lower() for s in rules.churned_stages}
    for account in customer.accounts:
        updated = account.updated_at.date() if account.updated_at else None
        if account.lifecycle_stage and account.lifecycle_stage.lower() in stages and updated:
            found.append(updated)
        if rules.churn_field is not None:
            marked = _field_date(account.custom.get(rules.churn_field), updated)
            if marked is not None:
                found.append(marked)
    return min(found, default=None)


def _field_date(value: Any, updated: date | None) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return updated if value.strip().lower() in TRUE_WORDS else None
    return updated if value is True or (type(value) is int and value == 1) else None


def stored_signals(store: Store) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
    """(account key, scored at, signals) of every stored score that kept its signals."""
    query = (
        select(score_history.c.account_key, score_history.c.scored_at, score_history.c.signals)
        .where(score_history.c.signals.is_not(None))
        .order_by(score_history.c.account_key, score_history.c.scored_at)
    )
    with store.engine.connect() as conn:
        for key, at, signals in conn.execute(query):
            when = as_utc(at)
            if when is not None and isinstance(signals, dict):
                yield key, when, signals


def snapshots(
    rows: Iterable[tuple[str, datetime, dict[str, Any]]],
    churn: dict[str, date | None],
    horizon_days: int,
    now: datetime,
    counts: ExportCounts,
) -> list[dict[str, Any]]:
    """History lines: one per account and day (the day's last scores), labelled."""
    last: dict[tuple[str, date], dict[str, Any]] = {}
    for key, at, signals in rows:
        last[(key, at.date())] = signals  # rows come in time order: the last wins
    horizon = timedelta(days=horizon_days)
    out = []
    for (key, as_of), signals in sorted(last.items()):
        churned_on = churn.get(key)
        if churned_on is not None and churned_on <= as_of:
            counts.after_churn += 1
            continue
        churned = churned_on is not None and churned_on - as_of <= horizon
        if not churned and as_of + horizon > now.date():
            counts.not_yet_known += 1
            continue
        out.append(
            {
                "id": key,
                "as_of": as_of.isoformat(),
                "signals": signals,
                "outcome": {
                    "churned": churned,
                    "date": churned_on.isoformat() if churned and churned_on else None,
                },
            }
        )
        counts.written += 1
        counts.churned += churned
        counts.accounts.add(key)
    return out


def churn_dates(customers: Sequence[CustomerFacts], rules: OutcomeRules) -> dict[str, date | None]:
    return {c.key: churn_date(c, rules) for c in customers}
