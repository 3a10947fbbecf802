"""Playbook outcomes counted from what the runs stored (csbridge.reports.outcomes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from csbridge.reports.outcomes import RuleOutcome, playbook_outcomes, recovery, rule_outcomes
from csbridge.store.store import open_store
from csbridge.store.tables import episode_log, task_keys, task_outcomes

AS_OF = date(2026, 10, 1)


def test_a_key_counts_once_and_a_csm_completion_wins_over_a_closing() -> None:
    created = [
        "a.com:churn_risk:2026-07-01",
        "a.com:churn_risk:2026-07-01",  # the same key in the second CRM
        "a.com:churn_risk:2026-07-01:call",
        "a.com:churn_risk:2026-07-01:plan",
        "b.com:renewal:2026-12-01:90",
        "c.com:detractor_remeasure:nps-1",
        "a.com:churn_risk:2026-07-01:notify",
    ]
    outcomes = [
        ("a.com:churn_risk:2026-07-01", "completed"),  # completed in one CRM ...
        ("a.com:churn_risk:2026-07-01", "closed"),  # ... closed in the other: completed
        ("a.com:churn_risk:2026-07-01:call", "closed"),
    ]
    figures = rule_outcomes(created, outcomes)
    assert figures == {
        "churn_risk": RuleOutcome(created=3, completed=1, closed=1),
        "detractor_remeasure": RuleOutcome(created=1),
        "renewal": RuleOutcome(created=1),
    }
    assert figures["churn_risk"].completion_rate == pytest.approx(1 / 3)
    assert figures["renewal"].completion_rate == 0.0
    assert RuleOutcome().completion_rate is None


def test_churn_risk_episodes_recover_within_sixty_days() -> None:
    episodes = [
        (date(2026, 7, 10), date(2026, 8, 1)),  # ended after 22 days: recovered
        (date(2026, 6, 1), date(2026, 9, 1)),  # ended after 92 days: not recovered
        (date(2026, 9, 15), None),  # running for 16 days: too early to say
        (date(2026, 5, 1), None),  # running for 153 days: not recovered
        (date(2026, 7, 1), date(2026, 8, 30)),  # ended on day 60: recovered
    ]
    result = recovery(episodes, AS_OF)
    assert (result.opened, result.recovered, result.pending) == (4, 2, 1)
    assert result.share == pytest.approx(0.5)


def test_playbook_outcomes_read_the_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    at = datetime(2026, 9, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(
            insert(task_keys),
            [
                {"key": k, "target": t, "task_id": "1", "status": s, "created_at": at}
                | {"updated_at": at}
                for k, t, s in [
                    ("a.com:churn_risk:2026-08-01", "salesforce", "created"),
                    ("a.com:churn_risk:2026-08-01", "hubspot", "created"),
                    ("a.com:churn_risk:2026-08-01:call", "hubspot", "created"),
                    ("a.com:churn_risk:2026-08-01:plan", "hubspot", "failed"),
                ]
            ],
        )
        conn.execute(
            insert(task_outcomes),
            [
                {"target": "hubspot", "key": "a.com:churn_risk:2026-08-01", "task_id": "1"}
                | {"recorded_at": at, "outcome": "completed"},
                {"target": "hubspot", "key": "a.com:churn_risk:2026-08-01:call", "task_id": "2"}
                | {"recorded_at": at, "outcome": "closed"},
            ],
        )
        conn.execute(
            insert(episode_log),
            [
                {"account_key": "a.com", "rule": "churn_risk", "started_on": date(2026, 8, 1)}
                | {"ended_on": date(2026, 8, 20)},
                {"account_key": "b.com", "rule": "churn_risk", "started_on": date(2026, 5, 1)}
                | {"ended_on": None},
                {"account_key": "c.com", "rule": "silent", "started_on": date(2026, 5, 1)}
                | {"ended_on": None},
                # opened after the report's day: not in it
                {"account_key": "d.com", "rule": "churn_risk", "started_on": date(2026, 11, 1)}
                | {"ended_on": None},
            ],
        )
    rules, result = playbook_outcomes(store, AS_OF)
    assert rules == {"churn_risk": RuleOutcome(created=2, completed=1, closed=1)}
    assert (result.opened, result.recovered, result.pending) == (2, 1, 0)
    store.engine.dispose()
