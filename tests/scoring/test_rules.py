"""Playbook rules: the seeds' defaults, deterministic keys, hysteresis, config errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from csbridge.errors import CsbridgeError
from csbridge.scoring.rules import Action, NpsAnswer, RuleContext, evaluate
from csbridge.scoring.rules_config import RulesConfig, load_rules, parse_rules

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
RULES = load_rules()


def ctx(**kw: object) -> RuleContext:
    base: dict[str, object] = {"account_id": "A1", "owner_id": "u1", "score": 70.0}
    base.update(kw)
    return RuleContext(**base)  # type: ignore[arg-type]


def run(c: RuleContext, config: RulesConfig = RULES, now: datetime = NOW) -> list[Action]:
    return list(evaluate(c, config, now).actions)


def of(actions: list[Action], kind: str, rule: str | None = None) -> list[Action]:
    return [a for a in actions if a.kind == kind and (rule is None or a.rule == rule)]


def answer(
    score: int, days_ago: float = 1, id_: str = "n1", comment: str | None = None
) -> NpsAnswer:
    return NpsAnswer(id_, score, NOW - timedelta(days=days_ago), comment)


# --- defaults from the seeds ---------------------------------------------------------


def test_defaults_match_the_seeds() -> None:
    r = RULES.rules
    assert (r.detractor.max_nps, r.detractor.due_hours, r.detractor.remeasure_days) == (6, 24, 30)
    assert (r.promoter.min_nps, r.promoter.tag, r.promoter.due_days) == (9, "Promoter", 7)
    assert (r.churn_risk.below, r.churn_risk.drop, r.churn_risk.urgent_tickets) == (60, 20, 2)
    assert (r.expansion.above, r.expansion.license_above) == (80, 0.70)
    assert [s.days for s in r.renewal.steps] == [180, 120, 90, 60, 30, 14, 7, 0]
    assert (r.silent.days, r.onboarding.no_login_days, r.onboarding.no_value_days) == (14, 3, 14)
    assert RULES.score_margin == 5
    assert set(RULES.owned_tags) == {"Promoter", "Churn Risk"}


# --- detractor / promoter ------------------------------------------------------------


def test_detractor_task_notification_pause_and_remeasure() -> None:
    c = ctx(
        nps_answers=(answer(9, 200, "old"), answer(3, 0.5, "n2", "Export is broken")),
        open_tickets=4,
        urgent_tickets_30d=1,
    )
    actions = run(c)
    (task,) = of(actions, "task", "detractor")
    assert task.key == "A1:detractor:n2"
    assert task.due == TODAY  # answered 21:00 yesterday, + 24 h
    assert task.owner_id == "u1" and task.assignee == "owner"
    assert "3/10" in task.subject
    assert "Export is broken" in task.description
    assert "open tickets 4" in task.description and "NPS history 9, 3" in task.description
    (note,) = of(actions, "notify", "detractor")
    assert note.key == "A1:detractor:n2:notify" and note.notify == ("csm", "cs_manager")
    (remeasure,) = of(actions, "task", "detractor_remeasure")
    assert remeasure.key == "A1:detractor_remeasure:n2"
    assert remeasure.due == (NOW - timedelta(days=0.5)).date() + timedelta(days=30)
    (flag,) = of(actions, "field")
    assert (flag.field, flag.value) == ("marketing_paused", True)
    assert of(actions, "tag_remove", "promoter")[0].tag == "Promoter"


def test_old_detractor_answer_creates_no_task_and_unpauses_after_30_days() -> None:
    actions = run(ctx(nps_answers=(answer(2, days_ago=20),)))
    assert not of(actions, "task", "detractor")
    assert of(actions, "field")[0].value is True  # still inside the 30-day pause
    actions = run(ctx(nps_answers=(answer(2, days_ago=31),)))
    assert of(actions, "field")[0].value is False


def test_promoter_tag_and_thank_you_task() -> None:
    actions = run(ctx(nps_answers=(answer(10, 2, "p1", "Love it"),)))
    (tag,) = of(actions, "tag_add")
    assert tag.tag == "Promoter"
    (task,) = of(actions, "task", "promoter")
    assert task.key == "A1:promoter:p1"
    assert task.due == (NOW - timedelta(days=2)).date() + timedelta(days=7)
    assert "Love it" in task.description
    assert of(actions, "field")[0].value is False
    passive = run(ctx(nps_answers=(answer(10, 40, "p1"), answer(8, 1, "p2"))))
    assert of(passive, "tag_remove")[0].tag == "Promoter"
    assert not of(passive, "task")


def test_same_answer_gives_the_same_keys_on_every_run() -> None:
    c = ctx(nps_answers=(answer(4, 1, "n7"),))
    first = {a.key for a in run(c)}
    later = {a.key for a in run(c, now=NOW + timedelta(hours=6))}
    assert first == later


# --- churn risk and hysteresis -------------------------------------------------------


def churn_series(scores: list[float]) -> tuple[list[set[str]], list[bool]]:
    """Evaluate day after day, carrying episodes like the job does; task keys and tag state."""
    episodes: dict[str, date] = {}
    keys: list[set[str]] = []
    tagged: list[bool] = []
    for day, score in enumerate(scores):
        now = NOW + timedelta(days=day)
        result = evaluate(ctx(score=score, episodes=episodes), RULES, now)
        episodes = dict(result.episodes)
        keys.append({a.key for a in result.actions if a.rule == "churn_risk" and a.kind == "task"})
        tagged.append(any(a.kind == "tag_add" and a.tag == "Churn Risk" for a in result.actions))
    return keys, tagged


def test_oscillating_59_61_gives_one_episode_and_a_stable_tag() -> None:
    keys, tagged = churn_series([59, 61, 59, 61, 59, 61])
    # one episode: its own task on day 0, then its steps on their days (call J2, plan J3)
    assert keys[0] == keys[1] == {f"A1:churn_risk:{TODAY}"}
    assert keys[2] == {f"A1:churn_risk:{TODAY}", f"A1:churn_risk:{TODAY}:call"}
    assert (
        keys[3]
        == keys[4]
        == keys[5]
        == {
            f"A1:churn_risk:{TODAY}",
            f"A1:churn_risk:{TODAY}:action_plan",
        }
    )
    assert all(tagged)


def test_recovery_then_relapse_gives_a_new_task() -> None:
    keys, tagged = churn_series([55, 64, 66, 58])
    assert keys[0] == keys[1] == {f"A1:churn_risk:{TODAY}"}
    assert keys[2] == set() and tagged == [True, True, False, True]
    assert keys[3] == {f"A1:churn_risk:{TODAY + timedelta(days=3)}"}


def test_without_history_every_run_would_flap() -> None:
    """The control: without carried episodes, 61 leaves the state (hysteresis is doing work)."""
    assert not of(run(ctx(score=61)), "task", "churn_risk")
    assert of(run(ctx(score=61, episodes={"churn_risk": TODAY})), "task", "churn_risk")


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"score": 75, "score_30d_ago": 95}, "down 20 points"),
        ({"urgent_tickets_30d": 2}, "2 urgent tickets"),
        ({"champion_left": True}, "champion left"),
        ({"score": 59.9}, "health 60 < 60"),
    ],
)
def test_churn_risk_triggers(kw: dict[str, object], reason: str) -> None:
    actions = run(ctx(**kw))
    (task,) = of(actions, "task", "churn_risk")
    assert reason in task.description
    assert task.due == TODAY + timedelta(days=2)
    (note,) = of(actions, "notify", "churn_risk")
    assert note.notify == ("csm", "cs_manager") and note.key == f"{task.key}:notify"


def test_no_churn_risk_just_above_thresholds() -> None:
    actions = run(ctx(score=60, score_30d_ago=79.5, urgent_tickets_30d=1))
    assert not of(actions, "task", "churn_risk")
    assert of(actions, "tag_remove", "churn_risk")[0].tag == "Churn Risk"


def test_missing_score_keeps_the_state() -> None:
    keys = {a.key for a in run(ctx(score=None, episodes={"churn_risk": TODAY - timedelta(3)}))}
    assert f"A1:churn_risk:{TODAY - timedelta(3)}" in keys


# --- expansion, renewal, silent, onboarding ------------------------------------------


def test_expansion_with_hysteresis_on_score_and_licences() -> None:
    assert of(run(ctx(score=81, license_utilisation=0.71)), "task", "expansion")
    assert not of(run(ctx(score=80, license_utilisation=0.9)), "task", "expansion")
    assert not of(run(ctx(score=90, license_utilisation=0.70)), "task", "expansion")
    start = {"expansion": TODAY - timedelta(days=5)}
    inside = run(ctx(score=77, license_utilisation=0.66, episodes=start))
    assert of(inside, "task", "expansion")[0].key == f"A1:expansion:{start['expansion']}"
    assert not of(run(ctx(score=75, license_utilisation=0.9, episodes=start)), "task")


@pytest.mark.parametrize(
    ("days_left", "step"),
    [(200, None), (180, 180), (150, 180), (120, 120), (95, 120), (61, 90), (31, 60), (30, 30),
     (20, 30), (14, 14), (8, 14), (7, 7), (1, 7), (0, 0), (-1, None)],
)  # fmt: skip
def test_renewal_schedule_picks_the_current_step(days_left: int, step: int | None) -> None:
    renewal = TODAY + timedelta(days=days_left)
    tasks = of(run(ctx(renewal_date=renewal)), "task", "renewal")
    if step is None:
        assert tasks == []
        return
    (task,) = tasks
    assert task.key == f"A1:renewal:{renewal.isoformat()}:{step}"
    assert task.due == max(renewal - timedelta(days=step), TODAY)
    assert renewal.isoformat() in task.subject
    assert task.assignee == ("cs_manager" if 0 < step <= 14 else "owner")


def test_silent_account_keyed_by_last_activity() -> None:
    last = NOW - timedelta(days=14)
    (task,) = of(run(ctx(last_activity=last)), "task", "silent")
    assert task.key == f"A1:silent:{last.date()}" and "14 days" in task.subject
    later = of(run(ctx(last_activity=last), now=NOW + timedelta(days=3)), "task", "silent")
    assert later[0].key == task.key
    assert not of(run(ctx(last_activity=NOW - timedelta(days=13))), "task")


def test_onboarding_no_login_and_no_first_value() -> None:
    start = TODAY - timedelta(days=3)
    (task,) = of(run(ctx(onboarding_started=start)), "task", "onboarding_no_login")
    assert task.key == f"A1:onboarding_no_login:{start}"
    start = TODAY - timedelta(days=14)
    actions = run(ctx(onboarding_started=start, first_login=start))
    (task,) = of(actions, "task", "onboarding_no_value")
    assert task.key == f"A1:onboarding_no_value:{start}"
    assert of(actions, "notify")[0].notify == ("cs_manager",)
    late = of(run(ctx(onboarding_started=TODAY - timedelta(days=31))), "task")
    assert [a.rule for a in late] == ["adoption"]  # the adoption playbook has begun
    early = run(ctx(onboarding_started=TODAY - timedelta(days=2)))
    assert [a.rule for a in of(early, "task")] == ["onboarding"]  # the kickoff milestone


def test_disabled_rule_and_naive_now() -> None:
    config = parse_rules("rules: {churn_risk: {enabled: false}}")
    assert not of(run(ctx(score=10), config), "task")
    with pytest.raises(ValueError, match="timezone"):
        evaluate(ctx(), RULES, datetime(2026, 1, 1))


def test_frozen_outputs() -> None:
    action = run(ctx(score=10))[0]
    with pytest.raises(AttributeError):
        action.key = "x"  # type: ignore[misc]
    assert replace(action, key="x").key == "x"


# --- configuration -------------------------------------------------------------------


def test_override_merges_key_by_key(tmp_path: Path) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text("score_margin: 2\nrules:\n  churn_risk:\n    below: 50\n")
    config = load_rules(file)
    assert config.rules.churn_risk.below == 50 and config.score_margin == 2
    assert config.rules.churn_risk.drop == 20  # untouched default
    assert not of(run(ctx(score=55), config), "task", "churn_risk")
    keys, _ = churn_series([49, 51])
    assert keys[1]  # default margin 5 keeps 51 inside


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {churn_risk: {below: -1}}", "rules.churn_risk.below"),
        ("rules: {churn_risk: {bellow: 50}}", "rules.churn_risk.bellow"),
        ("rules: {promoter: {subject: 'hi {name}'}}", "unknown placeholder {name}"),
        ("rules: {promoter: {tag: VIP}}", "must be listed in owned_tags"),
        ("rules: {renewal: {steps: [{days: 7, subject: a}, {days: 7, subject: b}]}}", "same days"),
        ("rules: [1, 2", "not valid YAML"),
        ("- a list", "top level must be a mapping"),
    ],
)
def test_config_errors_are_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(CsbridgeError) as info:
        parse_rules(text, source="my-rules.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("my-rules.yaml: ")
    assert "\n" not in str(info.value)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(CsbridgeError, match="cannot read the rules file"):
        load_rules(tmp_path / "nope.yaml")
