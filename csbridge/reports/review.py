"""The Customer Success Review of one account (seed 000's output template, 8 sections).

`build_review` reads one customer's facts and stored scores and returns a `Document`;
it is also called once per account by `bench/reports.py`, with the portfolio benchmark
computed once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date

from csbridge.reports import labels
from csbridge.reports.definitions import DEFINITIONS
from csbridge.reports.document import Document, Missing, Section, Table, day
from csbridge.reports.metrics import Surveys, surveys
from csbridge.reports.sections_account import (
    overview_rows,
    relationship_section,
    satisfaction_section,
    usage_section,
)
from csbridge.reports.sections_health import at_or_before, health_section
from csbridge.reports.sections_plan import actions_section, opportunities_section
from csbridge.reports.source import SLICE, ReportSource, Scorepoint, TaskRow
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
    tasks: Sequence[TaskRow] | None = None,
    episodes: Mapping[str, date] | None = None,
    key_features: Sequence[str] | None = None,
) -> Document:
    """One account's review as of `source.now` (what is not given is read for it)."""
    now = source.now
    if key_features is None:
        key_features = source.key_features
    if facts is None:
        facts = next(source.customers([key]))
    if points is None:
        points = next((p for _, p in source.history([key])), [])
    facts = facts.primary_crm_only()
    account = facts.accounts[0] if facts.accounts else None
    name = account.name if account else key
    latest = at_or_before(points, now)
    owner = source.owner_name(account)
    if episodes is None:
        episodes = source.episodes([key]).get(key, {})
    if tasks is None:
        tasks = source.tasks([key])
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
        success_plan_section(facts, key_features, source.usage_start),
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


def started(facts: CustomerFacts) -> date | None:
    """The day the customer's primary account was created in the CRM."""
    account = facts.accounts[0] if facts.accounts else None
    return account.created_at.date() if account and account.created_at else None


def first_value(facts: CustomerFacts, key_features: Sequence[str]) -> date | None:
    """The first day on or after its start that the customer used a key feature."""
    start = started(facts)
    if start is None:
        return None
    used = [
        d.day
        for d in facts.usage
        if d.day >= start and any(d.feature_events.get(f) for f in key_features)
    ]
    return min(used, default=None)


def success_plan_section(
    facts: CustomerFacts, key_features: Sequence[str], usage_start: date | None
) -> Section:
    """Milestones the data shows (start, first value); objectives come from elsewhere."""
    account = facts.accounts[0] if facts.accounts else None
    start = started(facts)
    first = first_value(facts, key_features)
    if first is not None and start is not None:
        note = f"time to first value: {(first - start).days} days"
    elif start is not None and usage_start is not None and usage_start <= start:
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
                        day(start),
                        labels.name(account.lifecycle_stage if account else None),
                    ],
                    ["First key-feature use", day(first), note],
                ],
            ),
        ],
    )


def every_review(source: ReportSource, benchmark: Surveys) -> Iterator[Document]:
    """Every account's review, one at a time: facts and score history are read a slice of
    accounts at a time, so memory does not grow with the portfolio."""
    keys = source.keys
    for start in range(0, len(keys), SLICE):
        part = keys[start : start + SLICE]
        histories = dict(source.history(part))
        episodes = source.episodes(part)
        tasks: dict[str, list[TaskRow]] = {}
        for task in source.tasks(part):
            tasks.setdefault(task.key.split(":")[0], []).append(task)
        for facts in source.customers(part):
            yield build_review(
                source,
                facts.key,
                benchmark,
                facts,
                histories.get(facts.key, []),
                tasks.get(facts.key, []),
                episodes.get(facts.key, {}),
            )
