"""The seeds' playbooks at the lifecycle's edges: NPS detractor as a churn-risk trigger,
the detractor's J+30 escalation, the post-sale handoff and advocacy for the Champion
band (trigger, steps on their day, once, stop with the episode)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rules_drive import NOW, RULES, TODAY, drive, tasks_of

from csbridge.errors import CsbridgeError
from csbridge.scoring.rules import Action, NpsAnswer, RuleContext
from csbridge.scoring.rules_config import parse_rules

# --- NPS detractor as a churn-risk trigger (seed 001 playbook 3) ---------------------


def test_a_recent_detractor_answer_opens_a_churn_risk_episode() -> None:
    answer = NpsAnswer("n1", 4, NOW - timedelta(days=3))
    tasks = tasks_of(RuleContext("A1", "u1", score=82.0, nps_answers=(answer,)))
    task = tasks[f"A1:churn_risk:{TODAY}"]
    assert "NPS detractor (4/10)" in task.description
    # a healthy score and a passive answer: no churn risk
    passive = NpsAnswer("n2", 7, NOW - timedelta(days=3))
    assert not any(
        ":churn_risk:" in k
        for k in tasks_of(RuleContext("A1", "u1", score=82.0, nps_answers=(passive,)))
    )


def test_an_old_detractor_answer_or_the_switch_off_is_no_trigger() -> None:
    old = NpsAnswer("n1", 2, NOW - timedelta(days=RULES.rules.detractor.lookback_days + 1))
    ctx = RuleContext("A1", "u1", score=82.0, nps_answers=(old,))
    assert not any(":churn_risk:" in k for k in tasks_of(ctx))
    off = parse_rules("rules: {churn_risk: {detractor: false}}")
    recent = NpsAnswer("n1", 2, NOW - timedelta(days=1))
    ctx = RuleContext("A1", "u1", score=82.0, nps_answers=(recent,))
    assert not any(":churn_risk:" in k for k in tasks_of(ctx, off))
    assert "A1:detractor:n1" in tasks_of(ctx, off)  # the detractor playbook itself runs


# --- the detractor's escalation at the J+30 re-measure (seed 000) --------------------


def _escalations(tasks: dict[str, tuple[int, Action]]) -> dict[str, tuple[int, Action]]:
    return {k: v for k, v in tasks.items() if k.endswith(":escalate")}


def test_no_better_answer_by_the_remeasure_day_escalates_to_the_manager_once() -> None:
    answer = NpsAnswer("n1", 3, NOW - timedelta(hours=1))
    tasks = _escalations(drive(50, lambda day: {"score": 75.0, "nps_answers": (answer,)}))
    assert list(tasks) == ["A1:detractor:n1:escalate"]
    day, action = tasks["A1:detractor:n1:escalate"]
    assert day == RULES.rules.detractor.remeasure_days
    assert action.assignee == "cs_manager"
    assert "3/10" in action.subject


def test_a_newer_answer_above_the_detractor_max_is_an_improvement() -> None:
    first = NpsAnswer("n1", 3, NOW - timedelta(hours=1))
    better = NpsAnswer("n2", 8, NOW + timedelta(days=20))

    def answers(day: int) -> dict[str, object]:
        return {"nps_answers": (first, better) if day >= 21 else (first,)}

    assert _escalations(drive(45, answers)) == {}


def test_a_newer_detractor_answer_moves_the_remeasure_to_its_own_day() -> None:
    first = NpsAnswer("n1", 3, NOW - timedelta(hours=1))
    again = NpsAnswer("n2", 5, NOW + timedelta(days=20))

    def answers(day: int) -> dict[str, object]:
        return {"nps_answers": (first, again) if day >= 21 else (first,)}

    tasks = _escalations(drive(52, answers))
    assert {k: d for k, (d, _) in tasks.items()} == {"A1:detractor:n2:escalate": 50}


def test_the_escalation_goes_to_a_configured_queue_or_fails_naming_it() -> None:
    with pytest.raises(CsbridgeError, match=r"rules\.detractor: step escalate goes to queue:churn"):
        parse_rules("rules: {detractor: {escalate_assignee: 'queue:churn'}}")
    queue = "assignees: {hubspot: {queues: {churn: '77'}}}\n"
    config = parse_rules(queue + "rules: {detractor: {escalate_assignee: 'queue:churn'}}")
    ctx = RuleContext("A1", nps_answers=(NpsAnswer("n1", 3, NOW - timedelta(days=30)),))
    assert tasks_of(ctx, config)["A1:detractor:n1:escalate"].assignee == "queue:churn"
    off = parse_rules("rules: {detractor: {escalate_subject: null}}")
    assert not any(k.endswith(":escalate") for k in tasks_of(ctx, off))


def test_a_first_sync_of_an_old_detractor_answer_escalates_nothing() -> None:
    old = NpsAnswer("n1", 1, NOW - timedelta(days=120))
    assert not any(k.endswith(":escalate") for k in tasks_of(RuleContext("A1", nps_answers=(old,))))


# --- post-sale handoff from the closed-won date (seed 002) ---------------------------


def test_handoff_steps_from_the_closed_won_date_once_each() -> None:
    tasks = drive(20, lambda day: {"closed_won": TODAY})
    base = f"A1:handoff:{TODAY}"
    days = {k.removeprefix(base): d for k, (d, _) in tasks.items() if k.startswith(base)}
    assert days == {":sales_brief": 0, ":handoff_documented": 7}
    assert tasks[f"{base}:sales_brief"][1].due == TODAY + timedelta(days=1)
    # onboarding's welcome and kickoff are not repeated by the handoff
    names = {s.name for s in RULES.rules.handoff.steps}
    assert names.isdisjoint(s.name for s in RULES.rules.onboarding.steps)


def test_an_old_deal_or_a_late_first_run_creates_only_the_current_step() -> None:
    old = RuleContext("A1", closed_won=TODAY - timedelta(days=RULES.rules.handoff.to_day + 1))
    assert not any(":handoff:" in k for k in tasks_of(old))
    late = RuleContext("A1", closed_won=TODAY - timedelta(days=4))
    assert [k for k in tasks_of(late) if ":handoff:" in k] == [
        f"A1:handoff:{TODAY - timedelta(days=4)}:sales_brief"
    ]


# --- advocacy for the Champion band (seed 000) ---------------------------------------


def test_advocacy_asks_on_entering_the_band_then_case_study_and_referral() -> None:
    tasks = drive(40, lambda day: {"score": 92.0, "status": "champion"})
    base = f"A1:advocacy:{TODAY}"
    days = {k.removeprefix(base): d for k, (d, _) in tasks.items() if k.startswith(base)}
    assert days == {"": 0, ":case_study": 14, ":referral": 30}


def test_leaving_the_band_ends_the_episode_and_a_return_opens_a_new_one() -> None:
    def status(day: int) -> dict[str, object]:
        return {"score": 92.0, "status": "champion" if day < 20 or day >= 25 else "healthy"}

    tasks = drive(40, status)
    advocacy = {k: d for k, (d, _) in tasks.items() if ":advocacy:" in k}
    back = TODAY + timedelta(days=25)
    assert advocacy == {
        f"A1:advocacy:{TODAY}": 0,
        f"A1:advocacy:{TODAY}:case_study": 14,  # no referral: the episode ended on day 20
        f"A1:advocacy:{back}": 25,
        f"A1:advocacy:{back}:case_study": 39,
    }


def test_a_model_without_the_band_never_triggers_and_the_band_is_configurable() -> None:
    ctx = RuleContext("A1", score=95.0, status="healthy")
    assert not any(":advocacy:" in k for k in tasks_of(ctx))
    config = parse_rules("rules: {advocacy: {band: healthy}}")
    assert f"A1:advocacy:{TODAY}" in tasks_of(ctx, config)
