"""The cycle with a CS platform's fresh score: the rules read the platform's view,
the fields written keep csbridge's own history (seen: `Health_Trend__c 12.3 -> (empty)`
on the run after a Gainsight alert, when the alert's previous score made the trend)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from csbridge.mappings.fields import load_field_mapping
from csbridge.models import Account, SurveyResponse
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import SegmentModels
from csbridge.scoring.signal_types import CustomerFacts
from csbridge.sync.cycle import desired_states, score_customers
from csbridge.sync.history import History
from csbridge.sync.platform_scores import PlatformScore

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
KEY = "acme.com"
FACTS = CustomerFacts(
    key=KEY,
    accounts=(
        Account(
            source="salesforce",
            id="001A",
            name="Acme",
            domain=KEY,
            seats_purchased=20,
            seats_used=18,
        ),
    ),
    surveys=(  # a promoter NPS answer: our own score is high, no churn risk
        SurveyResponse(
            source="salesforce",
            id="nps-1",
            kind="nps",
            account_id="001A",
            score=10,
            responded_at=datetime(2026, 10, 1, tzinfo=UTC),
        ),
    ),
    crm="salesforce",
    systems=frozenset({"salesforce"}),
)


def test_a_platform_score_drives_the_rules_but_not_the_trend_written() -> None:
    engine = Engine(load_model("seed-5d"))
    rules = load_rules(None)
    past = History(previous_status="Healthy", score_30d_ago=70.0, previous_score=71.0)
    gainsight = PlatformScore("gainsight", 35.0, 75.0, NOW, "gs-1")  # the platform's own

    own = score_customers([FACTS], SegmentModels(engine), rules, NOW, {KEY: past})[0]
    alerted = score_customers(
        [FACTS], SegmentModels(engine), rules, NOW, {KEY: replace(past, platform=gainsight)}
    )[0]
    assert own.result.score is not None and own.result.score > 60

    assert "churn_risk" in alerted.evaluation.episodes  # the platform's view
    assert "churn_risk" not in own.evaluation.episodes
    assert alerted.ctx.score_30d_ago == 70.0 and alerted.ctx.score == own.result.score

    mapping = load_field_mapping("salesforce", None)
    written = desired_states([alerted], "salesforce", mapping, rules, NOW)[KEY]
    planned = desired_states([own], "salesforce", mapping, rules, NOW)[KEY]
    trend = written.fields["Health_Trend__c"]
    assert trend == planned.fields["Health_Trend__c"] == round(own.result.score - 70.0, 1)
