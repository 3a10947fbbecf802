"""A model per segment: accounts of two segments scored with different models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from csbridge.errors import CsbridgeError
from csbridge.models import Account, SurveyResponse, UsageDay
from csbridge.scoring.segment_models import load_segment_models, models_used
from csbridge.scoring.signal_types import CustomerFacts, SignalOptions
from csbridge.scoring.signals import per_user_rates, with_benchmarks

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

# satisfaction only: the NPS answer alone sets the score
STRATEGIC = """
name: strategic
segments: value-potential     # replaced by model:'s segments
dimensions:
  satisfaction:
    weight: 100
    indicators:
      nps:
        transform:
          type: table
          values: {detractor: 0, passive: 50, promoter: 100}
          bins: {detractor: 0, passive: 7, promoter: 9}
bands:
  - {name: red, up_to: 40}
  - {name: green}
"""


def customer(key: str, arr: float) -> CustomerFacts:
    account = Account(source="salesforce", id=f"001{key}", name=key, domain=key, arr=arr)
    usage = [
        UsageDay(
            source="mixpanel",
            id=UsageDay.usage_id(key, (NOW - timedelta(days=d)).date()),
            account_id=key,
            day=(NOW - timedelta(days=d)).date(),
            active_users=3,
            sessions=4,
            events=40,
        )
        for d in range(1, 30, 2)
    ]
    answer = SurveyResponse(
        source="salesforce",
        id=f"nps-{key}",
        account_id=f"001{key}",
        kind="nps",
        score=2,  # a detractor
        responded_at=NOW - timedelta(days=5),
    )
    return CustomerFacts(
        key,
        accounts=[account],
        usage=usage,
        surveys=[answer],
        crm="salesforce",
        systems=frozenset({"salesforce", "mixpanel"}),
    )


def test_each_account_is_scored_with_its_segments_model(tmp_path: Path) -> None:
    strategic = tmp_path / "strategic.yaml"
    strategic.write_text(STRATEGIC)
    models = load_segment_models("seed-5d", {"high_touch": str(strategic)})
    big, small = customer("big.com", 120_000), customer("small.com", 20_000)
    signals, results, engines = models.score([big, small], NOW)

    assert [r.segment for r in results] == ["high_touch", "mid_touch"]  # arr-touch tiers
    assert [e.model.name for e in engines] == ["strategic", "seed-5d"]
    assert results[0].score == 0.0  # the detractor alone, under the strategic model
    assert [d.name for d in results[0].dimensions] == ["satisfaction"]
    assert signals[0].values == {"satisfaction.nps": 2}
    # the same facts under the default model: five dimensions, usage lifts the score
    assert len(results[1].dimensions) == 5
    assert results[1].score is not None and results[1].score > 50
    assert models_used(engines) == {
        f"seed-5d ({engines[1].model_hash})": 1,
        f"strategic ({engines[0].model_hash})": 1,
    }


def test_a_batch_given_the_portfolio_benchmarks_scores_as_the_whole_portfolio(
    tmp_path: Path,
) -> None:
    strategic = tmp_path / "strategic.yaml"
    strategic.write_text(STRATEGIC)
    models = load_segment_models("seed-5d", {"high_touch": str(strategic)})
    calm = customer("calm.com", 30_000)
    calm = replace(
        calm,
        usage=[u.model_copy(update={"sessions": 1, "active_seconds": 60.0}) for u in calm.usage],
    )
    busy = customer("small.com", 20_000)
    busy = replace(
        busy,
        usage=[u.model_copy(update={"active_seconds": 900.0}) for u in busy.usage],
    )
    customers = [customer("big.com", 120_000), busy, calm]
    _, whole, engines = models.score(customers, NOW)
    options = with_benchmarks(SignalOptions(), [per_user_rates(c, NOW) for c in customers])
    assert options.session_benchmark and options.time_benchmark
    parts = [models.score(customers[:2], NOW, options), models.score(customers[2:], NOW, options)]
    assert [r.as_dict() for _, results, _ in parts for r in results] == [r.as_dict() for r in whole]
    assert [e for _, _, used in parts for e in used] == engines
    _, alone, _ = models.score(customers[2:], NOW)  # against its own medians: another score
    assert alone[0].as_dict() != whole[2].as_dict()


def test_without_per_segment_models_every_account_gets_the_default() -> None:
    models = load_segment_models("seed-6d", {})
    _, results, engines = models.score([customer("big.com", 120_000)], NOW)
    assert engines[0] is models.default and models.engines() == [models.default]
    assert len(results[0].dimensions) == 6


@pytest.mark.parametrize(
    ("per_segment", "message"),
    [
        (
            {"vip": "seed-6d"},
            "model_per_segment.vip: not a segment of model 'seed-5d'; use one of low_touch, "
            "high_touch",
        ),
        (
            {"high_touch": "models/missing.yaml"},
            "model_per_segment.high_touch: models/missing.yaml: cannot read the model file",
        ),
        (
            {"high_touch": "seed-9d"},
            "model_per_segment.high_touch: unknown model preset 'seed-9d'",
        ),
    ],
)
def test_a_bad_model_per_segment_is_one_line_naming_the_key(
    per_segment: dict[str, str], message: str
) -> None:
    with pytest.raises(CsbridgeError) as caught:
        load_segment_models("seed-5d", per_segment)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)
