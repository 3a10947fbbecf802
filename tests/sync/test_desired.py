"""Desired CRM state: score fields under the mapping's API names, tags, tasks, sticky status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from csbridge.mappings.fields import load_field_mapping
from csbridge.scoring import Engine, load_model
from csbridge.scoring.explain import drivers_text, explain
from csbridge.scoring.rules import NpsAnswer, RuleContext, evaluate
from csbridge.scoring.rules_config import load_rules
from csbridge.sync.changes import LedgerState
from csbridge.sync.desired import desired_state, sticky_band
from csbridge.sync.plan import plan_account

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MODEL = load_model("seed-6d")
ENGINE = Engine(MODEL)
RULES = load_rules()
SF = load_field_mapping("salesforce")
HS = load_field_mapping("hubspot")


def test_score_fields_use_each_crms_api_names() -> None:
    score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": 40, "support.severity_share": 80})
    assert score.score is not None
    ctx = RuleContext("A1", owner_id="u1", score=score.score, score_30d_ago=70.0)
    words = explain(MODEL, score, {"usage.dau_mau": 0.2})
    sf = desired_state(score, ctx, [], SF, NOW, record_id="001A", explanation=words)
    assert sf.record_id == "001A"
    assert sf.fields["Health_Score__c"] == round(score.score, 1)
    assert sf.fields["Health_Status__c"] == score.status
    assert sf.fields["Health_Trend__c"] == round(score.score - 70.0, 1)
    assert sf.fields["Health_Coverage__c"] == round(score.coverage * 100, 1)
    assert str(sf.fields["Health_Drivers__c"]).startswith("DAU/MAU -")
    assert sf.fields["Health_Why__c"] == words.why and words.why.startswith("Usage 40/100")
    assert sf.fields["Health_Previous__c"] is None
    assert sf.touch_fields == {"Health_Updated__c": NOW.isoformat()}
    hs = desired_state(score, ctx, [], HS, NOW, explanation=words)
    assert hs.record_id == "A1"
    assert set(hs.fields) == {
        "cs_health_score",
        "cs_health_status",
        "cs_health_trend",
        "cs_segment",
        "cs_health_coverage",
        "cs_health_drivers",
        "cs_health_previous",
        "cs_health_why",
    }
    # without the model's dimensions in the mapping, no dimension field is written
    assert hs.unmapped == ()
    assert list(hs.fields.values()) == list(sf.fields.values())


def test_rule_actions_become_tasks_tags_notifications_and_fields() -> None:
    answer = NpsAnswer("n1", 2, NOW - timedelta(hours=3), "Too slow")
    score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": 10, "support.severity_share": 20})
    ctx = RuleContext("A1", owner_id="u1", score=score.score, nps_answers=(answer,))
    actions = evaluate(ctx, RULES, NOW).actions
    state = desired_state(score, ctx, actions, SF, NOW)
    assert state.fields["NPS_Category__c"] == "detractor"
    keys = {t.key for t in state.tasks}
    assert keys == {
        "A1:detractor:n1",
        "A1:detractor_remeasure:n1",
        f"A1:churn_risk:{NOW.date()}",
    }
    assert {n.key for n in state.notifications} == {
        "A1:detractor:n1:notify",
        f"A1:churn_risk:{NOW.date()}:notify",
    }
    assert state.tags == frozenset({"Churn Risk"})
    assert state.fields["Marketing_Paused__c"] is True and state.unmapped == ()


def test_a_mapping_without_the_flag_and_tags_says_so() -> None:
    bare = SF.model_copy(
        update={
            "write": {k: v for k, v in SF.write.items() if k not in ("tags", "marketing_paused")}
        }
    )
    answer = NpsAnswer("n1", 3, NOW - timedelta(hours=2))
    ctx = RuleContext("A1", score=55.0, status="attention", nps_answers=(answer,))
    state = desired_state(None, ctx, evaluate(ctx, RULES, NOW).actions, bare, NOW)
    # Not guessed: the unmapped names are reported (plan turns them into warnings).
    assert state.unmapped == ("marketing_paused", "tags")
    assert not any("marketing" in name.lower() for name in state.fields)


def test_override_mapping_maps_the_flag_and_tags(tmp_path: Path) -> None:
    file = tmp_path / "sf.yaml"
    file.write_text(
        "write:\n"
        "  marketing_paused: {api_name: Marketing_Paused__c, type: boolean, label: Paused}\n"
        "  tags: {api_name: CS_Tags__c, type: text, label: Tags}\n"
    )
    mapping = load_field_mapping("salesforce", file)
    answer = NpsAnswer("n1", 10, NOW - timedelta(hours=3))
    ctx = RuleContext("A1", nps_answers=(answer,))
    state = desired_state(None, ctx, evaluate(ctx, RULES, NOW).actions, mapping, NOW)
    assert state.fields == {"NPS_Category__c": "promoter", "Marketing_Paused__c": False}
    assert state.tags == frozenset({"Promoter"}) and state.unmapped == ()


def test_no_score_no_score_fields_and_no_touch() -> None:
    state = desired_state(None, RuleContext("A1"), [], SF, NOW)
    assert state.fields == {} and state.touch_fields == {}


def test_actions_for_another_account_are_refused() -> None:
    ctx = RuleContext("A2", score=10)
    actions = evaluate(ctx, RULES, NOW).actions
    with pytest.raises(ValueError, match="not A1"):
        desired_state(None, RuleContext("A1"), actions, SF, NOW)


@pytest.mark.parametrize(
    ("score", "previous", "expected"),
    [
        (61, "at_risk", "at_risk"),  # just above 59 | 60: stays inside the margin
        (64.9, "at_risk", "at_risk"),
        (65, "at_risk", "stable"),
        (56, "stable", "stable"),
        (54, "stable", "at_risk"),
        (84.9, "stable", "stable"),  # stable is below 80: kept below 80 + 5
        (85, "stable", "healthy"),
        (30, None, "critical"),
        (30, "unknown-band", "critical"),
    ],
)
def test_sticky_band(score: float, previous: str | None, expected: str) -> None:
    assert sticky_band(score, previous, MODEL.bands, 5) == expected


def test_sticky_status_hovering_at_a_boundary_does_not_flap() -> None:
    statuses = []
    previous = None
    for value in (58, 61, 59, 62, 58):
        score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": value})
        ctx = RuleContext("A1", score=score.score, previous_status=previous)
        state = desired_state(score, ctx, [], SF, NOW, bands=MODEL.bands)
        previous = str(state.fields["Health_Status__c"])
        statuses.append(previous)
    assert statuses == ["at_risk"] * 5
    raw = [ENGINE.score("A1", indicator_scores={"usage.dau_mau": v}).status for v in (58, 61)]
    assert raw == ["at_risk", "stable"]  # the control: without hysteresis it flaps


def test_drivers_text_is_capped_and_uses_labels() -> None:
    score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": 5, "support.severity_share": 95})
    assert drivers_text(MODEL, score).startswith("DAU/MAU -")
    assert "P1/P2 ticket share +" in drivers_text(MODEL, score)
    assert len(drivers_text(MODEL, score, limit=10)) == 10


def test_dimension_scores_and_previous_score_become_fields() -> None:
    sf = load_field_mapping("salesforce", dimensions=list(MODEL.dimensions))
    hs = load_field_mapping("hubspot", dimensions=list(MODEL.dimensions))
    assert sf.api_name("dimension.usage") == "Health_Usage__c"
    assert hs.api_name("dimension.satisfaction") == "cs_health_satisfaction"
    score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": 40, "support.severity_share": 80})
    ctx = RuleContext("A1", score=score.score, previous_score=61.04)
    state = desired_state(score, ctx, [], sf, NOW)
    assert state.fields["Health_Usage__c"] == 40.0
    assert state.fields["Health_Support__c"] == 80.0
    assert state.fields["Health_Financial__c"] is None  # no data: the field is cleared
    assert state.fields["Health_Previous__c"] == 61.0
    assert "dimension.usage" not in state.unmapped


def test_a_rules_tag_remove_takes_the_tag_off_in_the_plan() -> None:
    """Tags are a desired set: the churn-risk tag is on while the rule adds it; once the
    episode ends the rule says `tag_remove`, the desired set lacks it and the plan
    removes it from the record, leaving a CSM's own tag alone."""
    score = ENGINE.score("A1", indicator_scores={"usage.dau_mau": 10})
    sick = RuleContext("A1", score=30.0)
    first = evaluate(sick, RULES, NOW)
    before = desired_state(score, sick, first.actions, SF, NOW)
    assert "Churn Risk" in before.tags

    later = NOW + timedelta(days=1)
    well = RuleContext("A1", score=90.0, episodes=first.episodes)
    second = evaluate(well, RULES, later)
    assert ("tag_remove", "Churn Risk") in {(a.kind, a.tag) for a in second.actions}
    after = desired_state(score, well, second.actions, SF, later)
    assert "Churn Risk" not in after.tags

    ledger = LedgerState(before.fields, before.tags | {"VIP"})
    changes = plan_account(after, ledger, RULES.owned_tags)
    assert changes.tags.removed == ("Churn Risk",) and "VIP" not in changes.tags.removed
