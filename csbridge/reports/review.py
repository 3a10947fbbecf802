"""The Customer Success Review of one account (seed 000's output template, 8 sections).

`build_review` reads one customer's facts and stored scores and returns a `Document`;
it is also called once per account by `bench/reports.py`, with the portfolio benchmark
computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date

from csbridge.reports import labels
from csbridge.reports.document import Document, Missing, Section, Table, day
from csbridge.reports.metrics import DEFINITIONS, Surveys, surveys
from csbridge.reports.sections_account import (
    overview_rows,
    relationship_section,
    satisfaction_section,
    usage_section,
)
from csbridge.reports.sections_health import at_or_before, health_section
from csbridge.reports.sections_plan import actions_section, opportunities_section
from csbridge.reports.source import ReportSource, Scorepoint
from csbridge.scoring.signal_types import SANDBOX_KEY_FEATURES
from csbridge.scoring.signals import CustomerFacts

REVIEW_METRICS = ("nps", "csat", "ces", "time_to_first_value")


def portfolio_benchmark(source: ReportSource) -> Surveys:
    """NPS / CSAT / CES of the whole portfolio over the last year (the benchmark column)."""
    return surveys(answer for _, answer in source.portfolio_answers())


def build_review(
    source: ReportSource,
    key: str,
    benchmark: Surveys,
    facts: CustomerFacts | None = None,
    points: Sequence[Scorepoint] | None = None,
    key_features: Sequence[str] = SANDBOX_KEY_FEATURES,
) -> Document:
    """One account's review as of `source.now` (facts and points are read when not given)."""
    now = source.now
    if facts is None:
        facts = next(source.customers([key]))
    if points is None:
        points = next((p for _, p in source.history([key])), [])
    facts = facts.primary_crm_only()
    account = facts.accounts[0] if facts.accounts else None
    name = account.name if account else key
    latest = at_or_before(points, now)
    owner = source.owner_name(account)
    episodes = source.episodes(key)
    tasks = source.tasks(key)
    segment = latest.payload.get("segment") if latest else None
    own = surveys(facts.surveys)
    document = Document(
        "review",
        f"Customer Success Review - {name}",
        f"{key} · as of {now.date().isoformat()} · scores as stored by csbridge run",
    )
    document.sections = [
        Section(
            "1. Overview",
            [Table(["Parameter", "Value"], overview_rows(facts, owner, segment, now))],
        ),
        health_section(source.model, points, facts.surveys, facts.opportunities, now),
        satisfaction_section(facts, benchmark),
        usage_section(facts, key_features, now),
        success_plan_section(facts, key_features),
        relationship_section(facts, now),
        opportunities_section(facts, owner, episodes, latest, source.model, tasks),
        actions_section(facts, tasks, source.rules, now),
    ]
    document.data = {
        "account": key,
        "name": name,
        "arr": account.arr if account else None,
        "renewal_date": day(account.renewal_date) if account and account.renewal_date else None,
        "score": latest.score if latest else None,
        "status": latest.band if latest else None,
        "surveys": asdict(own),
        "portfolio_surveys": asdict(benchmark),
        "first_value": day(first_value(facts, key_features)),
        "open_playbooks": sorted(episodes),
    }
    document.definitions = {k: DEFINITIONS[k] for k in REVIEW_METRICS}
    return document


def first_value(facts: CustomerFacts, key_features: Sequence[str]) -> date | None:
    """The first day the customer used a key feature on or after its start, if the stored
    usage reaches back to its start (else unknown: None)."""
    account = facts.accounts[0] if facts.accounts else None
    if account is None or account.created_at is None or not facts.usage:
        return None
    start = account.created_at.date()
    if min(d.day for d in facts.usage) > start:
        return None
    used = [
        d.day
        for d in facts.usage
        if d.day >= start and any(d.feature_events.get(f) for f in key_features)
    ]
    return min(used, default=None)


def success_plan_section(facts: CustomerFacts, key_features: Sequence[str]) -> Section:
    """Milestones the data shows (start, first value); objectives come from elsewhere."""
    account = facts.accounts[0] if facts.accounts else None
    started = account.created_at if account else None
    first = first_value(facts, key_features)
    if first is not None and started is not None:
        note = f"time to first value: {(first - started.date()).days} days"
    elif started is not None and facts.usage and min(d.day for d in facts.usage) <= started.date():
        note = "no key-feature use yet"
    else:
        note = "unknown: the stored usage starts after the account did"
    return Section(
        "5. Success plan progress",
        [
            Missing(
                "Success plan objectives (metric, baseline, target, status)",
                "they would come from a success-plan record in the CRM (a custom object in "
                "Salesforce or HubSpot) or a CS platform (Gainsight, Vitally, Planhat)",
            ),
            Table(
                ["Milestone", "Date", "Notes"],
                [
                    [
                        "Customer since (created in the CRM)",
                        day(started),
                        labels.name(account.lifecycle_stage if account else None),
                    ],
                    ["First key-feature use", day(first), note],
                ],
            ),
        ],
    )
