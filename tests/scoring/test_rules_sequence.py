"""Playbook sequences (steps on their day, once, stopping with the episode), assignees
per CRM and rules limited to segments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rules_drive import NOW, RULES, TODAY, drive

from csbridge.errors import CsbridgeError
from csbridge.scoring.rules import RuleContext, evaluate
from csbridge.scoring.rules_config import parse_rules
from csbridge.scoring.rules_sequence import lifecycle_stage
from csbridge.scoring.rules_steps import CrmAssignees


def test_churn_risk_steps_each_on_its_day_with_the_manager_for_the_sponsor() -> None:
    def at_risk(day: int) -> dict[str, object]:
        return {"score": 50.0 if day < 40 else 62.0, "urgent_tickets_30d": 1}

    tasks = drive(61, at_risk)
    base = f"A1:churn_risk:{TODAY}"
    days = {key.removeprefix(base): day for key, (day, _) in tasks.items() if key.startswith(base)}
    assert days == {
        "": 0,
        ":call": 2,
        ":action_plan": 3,
        ":executive_sponsor": 7,
        ":follow_up": 15,
        ":review": 30,
        ":stabilised": 60,  # 62: back above 60, still inside the hysteresis band
    }
    assert tasks[f"{base}:executive_sponsor"][1].assignee == "cs_manager"
    assert tasks[f"{base}:call"][1].due == TODAY + timedelta(days=3)  # J2-3


def test_a_step_waits_for_its_condition_and_stops_with_the_episode() -> None:
    tasks = drive(20, lambda day: {"score": 50.0 if day < 10 else 80.0})
    base = f"A1:churn_risk:{TODAY}"
    assert f"{base}:executive_sponsor" not in tasks  # no P1 ticket
    assert f"{base}:follow_up" not in tasks  # recovered on day 10: the episode ended
    assert max(day for day, _ in tasks.values()) == 3


def test_a_late_run_creates_the_current_step_not_the_ones_it_overtook() -> None:
    episodes = {"churn_risk": TODAY - timedelta(days=16)}
    ctx = RuleContext("A1", "u1", score=50.0, episodes=episodes)
    keys = {a.key for a in evaluate(ctx, RULES, NOW).actions if a.kind == "task"}
    start = TODAY - timedelta(days=16)
    assert keys == {f"A1:churn_risk:{start}", f"A1:churn_risk:{start}:follow_up"}


def test_silent_outreach_days_then_the_branches_that_hold() -> None:
    last = NOW - timedelta(days=14)

    def silent(day: int) -> dict[str, object]:
        return {
            "score": 50.0,
            "last_activity": last,
            "segment": "high_touch",
            "renewal_date": TODAY + timedelta(days=200),
        }

    tasks = drive(16, silent)
    base = f"A1:silent:{last.date()}"
    days = {key.removeprefix(base): day for key, (day, _) in tasks.items() if key.startswith(base)}
    assert days == {
        "": 0,
        ":check_in_email": 1,
        ":other_channel": 3,
        ":value_email": 7,
        ":other_contact": 10,
        ":last_attempt": 14,
        ":escalate_manager": 15,  # high touch
        ":churn_risk": 15,  # health below 60
    }  # no renewal_alert: the renewal is 200 days away
    assert tasks[f"{base}:escalate_manager"][1].assignee == "cs_manager"


def test_new_activity_ends_the_silence_and_its_steps() -> None:
    def resumed(day: int) -> dict[str, object]:
        return {"last_activity": NOW - timedelta(days=14) if day < 2 else NOW + timedelta(days=2)}

    tasks = drive(10, resumed)
    assert {key.split(":", 2)[-1] for key in tasks if key.startswith("A1:silent")} == {
        str((NOW - timedelta(days=14)).date()),
        f"{(NOW - timedelta(days=14)).date()}:check_in_email",
    }


def test_detractor_steps_follow_the_answer_day() -> None:
    from csbridge.scoring.rules import NpsAnswer

    answer = NpsAnswer("n1", 3, NOW - timedelta(hours=1))
    tasks = drive(15, lambda day: {"nps_answers": (answer,)})
    days = {key: day for key, (day, _) in tasks.items() if key.startswith("A1:detractor")}
    assert days == {
        "A1:detractor:n1": 0,
        "A1:detractor_remeasure:n1": 0,
        "A1:detractor:n1:remediation_plan": 3,
        "A1:detractor:n1:check_in": 7,
    }


def test_onboarding_milestones_from_the_onboarding_start() -> None:
    tasks = drive(31, lambda day: {"onboarding_started": TODAY, "first_login": TODAY})
    milestones = {k.rsplit(":", 1)[-1]: d for k, (d, a) in tasks.items() if a.rule == "onboarding"}
    assert milestones == {
        "welcome": 0,
        "kickoff": 1,
        "setup": 3,
        "first_value": 7,
        "adoption_check": 21,
        "close": 30,
    }


def test_adoption_steps_from_day_30_to_90() -> None:
    tasks = drive(95, lambda day: {"onboarding_started": TODAY, "first_login": TODAY})
    adoption = {k.rsplit(":", 1)[-1]: d for k, (d, a) in tasks.items() if a.rule == "adoption"}
    assert adoption == {
        "feature_discovery": 30,
        "use_case_workshop": 45,
        "power_user_training": 60,
        "admin_training": 75,
        "adoption_review": 90,
    }


@pytest.mark.parametrize(
    ("started", "renewal_in", "stage"),
    [(10, None, "onboarding"), (60, None, "adoption"), (120, 200, "value"),
     (400, None, "expansion"), (400, 60, "renewal"), (None, None, None)],
)  # fmt: skip
def test_rules_limited_to_lifecycle_stages(
    started: int | None, renewal_in: int | None, stage: str | None
) -> None:
    config = parse_rules("rules: {churn_risk: {stages: [onboarding]}}")
    ctx = RuleContext(
        "A1",
        "u1",
        score=40.0,
        onboarding_started=None if started is None else TODAY - timedelta(days=started),
        renewal_date=None if renewal_in is None else TODAY + timedelta(days=renewal_in),
    )
    assert lifecycle_stage(ctx, TODAY) == stage
    churn = [a for a in evaluate(ctx, config, NOW).actions if a.rule == "churn_risk"]
    assert bool(churn) == (stage == "onboarding")


def test_rules_limited_to_segments() -> None:
    config = parse_rules("rules: {churn_risk: {segments: [high_touch]}}")
    ctx = RuleContext("A1", "u1", score=40.0, segment="mid_touch")
    assert not [a for a in evaluate(ctx, config, NOW).actions if a.rule == "churn_risk"]
    ctx = RuleContext("A1", "u1", score=40.0, segment="high_touch")
    assert [a for a in evaluate(ctx, config, NOW).actions if a.rule == "churn_risk"]


def test_cs_manager_and_queue_resolved_per_crm() -> None:
    config = parse_rules(
        """
assignees:
  salesforce:
    cs_managers: {"005M": ["005A", "005B"]}
    default_cs_manager: "005D"
    queues: {renewals: "00G1"}
  hubspot:
    cs_managers: {"900": ["901"]}
"""
    )
    sf, hs = config.assignees.for_crm("salesforce"), config.assignees.for_crm("hubspot")
    assert sf.resolve("cs_manager", "005B") == "005M"
    assert sf.resolve("cs_manager", "005Z") == "005D"  # not in a team: the default manager
    assert sf.resolve("queue:renewals", "005A") == "00G1"
    assert sf.resolve("owner", "005A") == "005A"
    assert hs.resolve("cs_manager", "901") == "900"
    assert hs.resolve("cs_manager", "777") == "777"  # nobody configured: the owner
    assert hs.resolve("queue:renewals", "777") == "777"
    assert CrmAssignees().resolve("cs_manager", None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules: {churn_risk: {steps: [{name: a, day: 1, subject: x},"
            " {name: a, day: 2, subject: y}]}}",
            "two steps are named 'a'",
        ),
        (
            "rules: {silent: {steps: [{name: a, day: 1, subject: x, assignee: queue:vip}]}}",
            "add vip: <id> under assignees.<crm>.queues",
        ),
        ("rules: {silent: {steps: [{name: a, day: 1, subject: x, assignee: boss}]}}", "pattern"),
        ("rules: {silent: {steps: [{name: a, day: 1, subject: x, when: never}]}}", "when"),
        ("rules: {silent: {steps: [{name: a, day: 1, subject: '{nope}'}]}}", "unknown placeholder"),
        (
            "assignees: {hubspot: {cs_managers: {m1: [o1], m2: [o1]}}}",
            "owner o1 is in the teams of m1 and m2",
        ),
    ],
)
def test_step_and_assignee_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(CsbridgeError) as info:
        parse_rules(text, source="rules.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)
