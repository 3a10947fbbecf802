"""A calibrated model's churn probability reaches the CRM when the mapping names a field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from csbridge.mappings.fields import load_field_mapping
from csbridge.scoring import Engine, parse_model
from csbridge.scoring.rules import RuleContext
from csbridge.sync.changes import LedgerState
from csbridge.sync.desired import desired_state
from csbridge.sync.plan import plan_account

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MODEL = """
name: calibrated
dimensions:
  usage:
    weight: 100
    indicators:
      dau_mau: {transform: {type: linear, zero_at: 0, full_at: 1}}
bands: [{name: low, below: 50}, {name: high}]
calibration: {method: isotonic, horizon_days: 90, points: [[0, 0.5], [100, 0.0]]}
"""


def test_churn_probability_is_written_in_percent_where_mapped(tmp_path: Path) -> None:
    score = Engine(parse_model(MODEL, source="m")).score("A1", {"usage.dau_mau": 0.2})
    ctx = RuleContext("A1", owner_id="u1", score=score.score)
    mapping = tmp_path / "sf.yaml"
    mapping.write_text(
        "write:\n  health_churn_probability: "
        "{api_name: Churn_Probability__c, type: number, label: Churn Probability}\n"
    )
    mapped = desired_state(score, ctx, [], load_field_mapping("salesforce", mapping), NOW)
    assert mapped.fields["Churn_Probability__c"] == 40.0  # 0.5 - 0.2 x 0.5 = 0.4
    unmapped = desired_state(score, ctx, [], load_field_mapping("salesforce"), NOW)
    assert unmapped.unmapped == ("health_churn_probability",)
    warnings = plan_account(unmapped, LedgerState(), ["Promoter"]).warnings
    assert warnings == (
        "health_churn_probability: not in the field mapping; "
        "add it to the mapping's write: section",
    )
