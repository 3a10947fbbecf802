"""Outbound events: which ones a run's outcome yields, under which keys. Pure parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from csbridge.scoring import Engine, load_model
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.rules_context import Evaluation, RuleContext
from csbridge.scoring.signal_types import CustomerFacts, CustomerSignals
from csbridge.sync.cycle import Scored
from csbridge.sync.events import account_events, run_event
from csbridge.sync.history import History

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = date(2026, 11, 1)
ENGINE = Engine(load_model("seed-5d"))


def scored(
    key: str,
    *,
    status: str,
    previous: str | None,
    segment: str = "mid_touch",
    before: dict[str, date] | None = None,
    after: dict[str, date] | None = None,
) -> Scored:
    result = ScoreResult({"id": key, "score": 55.0, "segment": segment}, [], [])
    ctx = RuleContext(key, previous_status=previous, episodes=before or {})
    return Scored(
        CustomerFacts(key),
        CustomerSignals(key, {}),
        result,
        ctx,
        Evaluation((), after or {}),
        status,
        ENGINE,
    )


def kinds(events: list[Any]) -> dict[str, str]:
    return {e.key: e.rule for e in events}


def test_band_segment_and_churn_risk_episode_events() -> None:
    items = [
        scored("a.com", status="at_risk", previous="attention", after={"churn_risk": NOW.date()}),
        scored("b.com", status="healthy", previous="healthy", segment="high_touch"),
        scored("c.com", status="attention", previous="at_risk", before={"churn_risk": START}),
        scored("d.com", status="attention", previous=None),  # first score: no change
    ]
    history = {"b.com": History(previous_segment="mid_touch"), "d.com": History()}
    events = account_events(items, history, NOW)
    assert kinds(events) == {
        "a.com:band_changed:2026-11-23:attention>at_risk": "band_changed",
        "a.com:churn_risk_opened:2026-11-23": "churn_risk_opened",
        "b.com:segment_changed:2026-11-23:mid_touch>high_touch": "segment_changed",
        "c.com:band_changed:2026-11-23:at_risk>attention": "band_changed",
        "c.com:churn_risk_closed:2026-11-01": "churn_risk_closed",
    }
    band = events[0]
    assert dict(band.details) == {"before": "attention", "after": "at_risk", "score": 55.0}
    assert account_events(items, history, NOW) == events  # a rerun: the same keys


def test_run_event_kind_and_counts() -> None:
    crm = {
        "planned": {"tasks": 3},
        "tasks_created": 3,
        "failed_records": [],
        "stopped": None,
        "task_budget": {"deferred": 1},
    }
    report: dict[str, Any] = {
        "ok": True,
        "stopped": None,
        "accounts_scored": 4,
        "bands": {"healthy": 4},
        "crm": {"hubspot": crm},
        "pull": {"stopped": None},
    }
    finished = run_event("r1", report)
    assert (finished.key, finished.rule) == ("run:r1:run_finished", "run_finished")
    assert finished.details["crm"] == {
        "hubspot": {"tasks_created": 3, "failed_records": 0, "stopped": None}
    }
    assert run_event("r2", {**report, "ok": False}).rule == "run_failed"
    quota = {**crm, "stopped": "salesforce daily quota share spent"}
    stopped = run_event("r3", {**report, "ok": False, "crm": {"salesforce": quota}})
    assert stopped.rule == "run_stopped" and "quota" in str(stopped.details["stopped"])
    assert run_event("r4", {**report, "pull": {"stopped": "quota"}}).rule == "run_stopped"
