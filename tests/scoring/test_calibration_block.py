"""The model's `calibration:` and `dropped_indicators` fields: validation, effect, hash."""

import numpy as np
import pytest

from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, load_model, parse_model
from csbridge.scoring.calibration import LogisticCalibration, churn_probability

MODEL = """
name: m
dimensions:
  usage:
    weight: 100
    indicators:
      dau_mau: {transform: {type: linear, zero_at: 0, full_at: 1}}
bands: [{name: low, below: 50}, {name: high}]
"""


def test_presets_keep_their_hash_without_calibration_and_labels():
    # Values computed before calibration, labels and units existed (after the segment
    # matrices gained their ARR-tier fallback, which does change what a model outputs):
    # stored score history must not see a "model change" for words or an unused field.
    assert load_model("seed-5d").model_hash() == "c105861def22"
    assert load_model("seed-6d").model_hash() == "29797e33de6a"


def test_logistic_calibration_maps_score_to_probability():
    block = LogisticCalibration(method="logistic", horizon_days=90, intercept=0.0, slope=-0.1)
    p = churn_probability(block, np.array([0.0, 10.0, np.nan]))
    assert p[0] == 0.5 and p[1] == pytest.approx(1 / (1 + np.e))
    assert np.isnan(p[2])
    model = parse_model(
        MODEL + "calibration: {method: logistic, horizon_days: 90, intercept: 0, slope: -0.1}\n",
        source="m.yaml",
    )
    assert Engine(model).score("a", {"usage.dau_mau": 0.0}).data["churn_probability"] == 0.5


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "{method: isotonic, horizon_days: 90, points: [[0, 0.1], [50, 0.3]]}",
            "calibration.isotonic: probabilities must not rise as the score rises",
        ),
        (
            "{method: isotonic, horizon_days: 90, points: [[50, 0.3], [10, 0.1]]}",
            "point scores must increase",
        ),
        (
            "{method: logistic, horizon_days: 90, intercept: 0, slope: 0.2}",
            "calibration.logistic.slope",
        ),
        ("{method: magic, horizon_days: 90}", "calibration: Input tag 'magic'"),
    ],
)
def test_bad_calibration_block_is_one_line(block, message):
    with pytest.raises(CsbridgeError) as err:
        parse_model(MODEL + f"calibration: {block}\n", source="m.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("m.yaml: ")


def test_dropped_indicators_are_accepted_and_ignored_but_must_be_gone():
    model = parse_model(MODEL + "dropped_indicators: [usage.sessions]\n", source="m.yaml")
    result = Engine(model).score("a", {"usage.dau_mau": 0.5, "usage.sessions": 3})
    assert result.score == 50.0
    with pytest.raises(CsbridgeError, match="still an indicator"):
        parse_model(MODEL + "dropped_indicators: [usage.dau_mau]\n", source="m.yaml")
    with pytest.raises(CsbridgeError, match="unknown indicator"):
        Engine(model).score("a", {"usage.typo": 1})


def test_a_calibrated_model_brings_its_churn_probability_field_to_the_crm():
    from datetime import UTC, datetime

    from csbridge.scoring.rules import RuleContext
    from csbridge.sync.cycle import model_mapping
    from csbridge.sync.desired import desired_state

    plain = parse_model(MODEL, source="m.yaml")
    calibrated = parse_model(
        MODEL + "calibration: {method: logistic, horizon_days: 90, intercept: 0, slope: -0.1}\n",
        source="m.yaml",
    )
    assert "health_churn_probability" not in model_mapping("hubspot", None, plain).write
    mapping = model_mapping("salesforce", None, calibrated)
    assert mapping.api_name("health_churn_probability") == "Churn_Probability__c"
    score = Engine(calibrated).score("a", {"usage.dau_mau": 0.0})
    state = desired_state(
        score, RuleContext("a", score=score.score), [], mapping, datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert state.fields["Churn_Probability__c"] == 50.0
    assert "health_churn_probability" not in state.unmapped
