"""Transforms, missing-data policies, coverage, precedence and bad account input."""

import math

import pytest

from csbridge.scoring import Engine, ScoringInputError, load_model, parse_model

SMALL = """
name: small
missing_data: {policy}
dimensions:
  a:
    weight: 60
    indicators:
      x: {{weight: 50, transform: {{type: linear, zero_at: 0, full_at: 10}}}}
      y: {{weight: 50, transform: {{type: linear, zero_at: 10, full_at: 0}}}}
  b:
    weight: 40
    indicators:
      z: {{transform: {{type: table, values: {{low: 20, high: 90}}}}}}
bands:
  - {{name: bad, below: 50}}
  - {{name: good}}
"""


def small(policy: str = "renormalise") -> Engine:
    return Engine(parse_model(SMALL.format(policy=policy), source="small.yaml"))


def test_linear_transform_both_directions_and_clamping():
    engine = small()
    assert engine.score("a", signals={"a.x": 2.5}).indicator_scores["a.x"] == 25
    assert engine.score("a", signals={"a.y": 2.5}).indicator_scores["a.y"] == 75
    assert engine.score("a", signals={"a.x": -5}).indicator_scores["a.x"] == 0
    assert engine.score("a", signals={"a.x": 50}).indicator_scores["a.x"] == 100


def test_linear_floor_is_the_score_at_zero_at():
    engine = Engine(load_model("seed-6d"))
    scores = engine.score("a", signals={"engagement.event_participation": 0}).indicator_scores
    assert scores["engagement.event_participation"] == 20
    scores = engine.score("a", signals={"engagement.event_participation": 1}).indicator_scores
    assert scores["engagement.event_participation"] == 60
    scores = engine.score("a", signals={"financial.renewal_proximity": 10}).indicator_scores
    assert scores["financial.renewal_proximity"] == 20


def test_table_with_bins_takes_a_category_or_a_number():
    engine = Engine(load_model("seed-5d"))
    for raw, expected in [("passive", 50), (6, 0), (7, 50), (8, 50), (9, 100), (10, 100)]:
        result = engine.score("a", signals={"satisfaction.nps": raw})
        assert result.indicator_scores["satisfaction.nps"] == expected, raw


def test_indicator_scores_win_over_signals():
    engine = small()
    result = engine.score("a", signals={"a.x": 10}, indicator_scores={"a.x": 40})
    assert result.indicator_scores["a.x"] == 40


def test_renormalise_leaves_missing_out_level_by_level():
    engine = small("renormalise")
    # Only a.x = 80: dimension a = 80 (y left out), b has no data and drops out.
    result = engine.score("a", signals={"a.x": 8})
    assert result.score == 80
    assert result.coverage == pytest.approx(0.3)
    dims = {d.name: d for d in result.dimensions}
    assert dims["b"].score is None and dims["b"].weight == 0
    assert dims["a"].weight == 1.0


def test_neutral_policy_scores_missing_indicators_50():
    result = small("neutral").score("a", signals={"a.x": 8})
    # a = (80 + 50) / 2 = 65, b = 50: total 0.6 * 65 + 0.4 * 50 = 59.
    assert result.score == 59
    assert result.coverage == pytest.approx(0.3)
    imputed = [d for d in result.drivers if d.imputed]
    assert {d.indicator for d in imputed} <= {"a.y", "b.z"}


def test_zero_policy_scores_missing_indicators_0():
    result = small("zero").score("a", signals={"a.x": 8})
    assert result.score == 24  # 0.6 * 40 + 0.4 * 0
    assert result.status == "bad"


def test_no_data_at_all_is_explicit():
    result = small().score("a")
    assert result.score is None
    assert result.status == "no_data"
    assert result.coverage == 0
    assert result.drivers == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signals": {"a.nope": 1}}, "signals.a.nope: unknown indicator for model 'small'"),
        ({"signals": {"c.x": 1}}, "dimensions are a, b"),
        ({"signals": {"a.x": math.nan}}, "signals.a.x is nan: give a finite number"),
        ({"signals": {"a.x": math.inf}}, "give a finite number"),
        ({"signals": {"a.x": "55"}}, "signals.a.x is '55', not a number"),
        ({"signals": {"a.x": True}}, "not a number"),
        ({"signals": {"b.z": "medium"}}, "signals.b.z is 'medium': use one of low, high"),
        (
            {"indicator_scores": {"a.x": 101}},
            "indicator_scores.a.x is 101: indicator scores are on 0-100",
        ),
        ({"indicator_scores": {"a.x": -1}}, "on 0-100"),
        ({"indicator_scores": {"a.x": math.nan}}, "give a finite number"),
    ],
)
def test_bad_account_input_names_account_and_field(kwargs, message):
    with pytest.raises(ScoringInputError) as err:
        small().score("acct-7", **kwargs)
    assert "account 'acct-7'" in str(err.value)
    assert message in str(err.value)


def test_nps_number_below_scale_is_rejected():
    with pytest.raises(ScoringInputError, match="below the lowest category"):
        Engine(load_model("seed-5d")).score("a", signals={"satisfaction.nps": -1})


def test_model_hash_is_stable_and_changes_with_the_model():
    assert load_model("seed-5d").model_hash() == load_model("seed-5d").model_hash()
    assert small("zero").model_hash != small("neutral").model_hash
    assert small("zero").model_hash != small("renormalise").model_hash


def test_seed_6d_indicators_weigh_equally_within_a_dimension():
    model = load_model("seed-6d")
    assert model.indicator_weight("usage", "dau_mau") == 0.25
    assert model.indicator_weight("satisfaction", "nps") == pytest.approx(1 / 3)
    assert {n: d.weight for n, d in model.dimensions.items()} == {
        "usage": 30,
        "engagement": 20,
        "support": 15,
        "satisfaction": 15,
        "financial": 15,
        "relationship": 5,
    }
