"""`Engine.score_json` writes exactly `orjson.dumps(ScoreResult.as_dict())`, from columns."""

import random

import orjson
import pytest

from csbridge.scoring import Engine, ScoringInputError, load_model, parse_model
from csbridge.scoring.model import LinearTransform

SMALL = """
name: small
missing_data: {policy}
dimensions:
  a:
    weight: 60
    indicators:
      x: {{transform: {{type: linear, zero_at: 0, full_at: 10}}}}
      y: {{transform: {{type: linear, zero_at: 10, full_at: 0, floor: 20}}}}
  b:
    weight: 40
    indicators:
      z: {{transform: {{type: table, values: {{low: 20, high: 90}}}}}}
bands:
  - {{name: bad, below: 50}}
  - {{name: good}}
"""


CALIBRATED = "calibration: {method: logistic, horizon_days: 90, intercept: 2, slope: -0.07}\n"


def as_columns(accounts: list[tuple]) -> tuple[list, ...]:
    """The accounts as `score_json` takes them: one list per field, dicts throughout."""
    ids, signals, given, attributes = zip(*accounts, strict=True) if accounts else [()] * 4
    return list(ids), *([d or {} for d in column] for column in (signals, given, attributes))


def small(policy: str = "renormalise", extra: str = "") -> Engine:
    return Engine(parse_model(SMALL.format(policy=policy) + extra, source="small.yaml"))


def portfolio(engine: Engine, n: int, seed: int) -> list[tuple[str, dict, dict, dict]]:
    """Accounts with missing data, no data at all, given indicator scores, every segment
    case (matrix cell, CSM ratio, fallback note, none) and ids JSON must escape."""
    rng = random.Random(seed)
    keys = [(f"{d}.{i}", ind.transform) for d, dim in engine.model.dimensions.items()
            for i, ind in dim.indicators.items()]  # fmt: skip
    ids = ["plain", 'quo"te', "back\\slash", "per%cent", "ünï", "tab\there", "line\nbreak", 'x",']
    attributes = [
        {},
        {"arr": 4_999},
        {"arr": 60_000, "fit": "high", "potential": "low"},
        {"arr": 30_000, "fit": "", "potential": "  "},
        {"fit": "low"},
    ]
    accounts = []
    for k in range(n):
        signals: dict = {}
        given: dict = {}
        for key, t in keys:
            roll = rng.random()
            if roll < 0.3:
                continue
            if roll < 0.4:
                given[key] = rng.choice((0, 100, 33.333, 71.5))
            elif isinstance(t, LinearTransform):
                signals[key] = rng.uniform(min(t.zero_at, t.full_at) - 1, max(t.zero_at, t.full_at))
            else:
                signals[key] = rng.choice(list(t.values))
        if k % 11 == 0:
            signals, given = {}, {}
        accounts.append((f"{ids[k % len(ids)]}-{k}", signals, given, attributes[k % 5]))
    return accounts


@pytest.mark.parametrize(
    "engine",
    [
        Engine(load_model("seed-5d")),
        Engine(load_model("seed-6d")),
        small("neutral"),  # imputed drivers
        small("zero"),
        small(),  # no segments
        Engine(load_model("seed-5d"), drivers_each_way=1),
        small(extra=CALIBRATED),  # churn_probability, null without data
    ],
    ids=["seed-5d", "seed-6d", "neutral", "zero", "no-segments", "one-driver", "calibrated"],
)
def test_score_json_is_the_results_as_orjson_writes_them(engine):
    accounts = portfolio(engine, 400, seed=len(engine.keys))
    expected = [orjson.dumps(r.as_dict()) for r in engine.score_many(accounts)]
    assert engine.score_json(engine.batch(*as_columns(accounts))) == b",\n".join(expected)
    assert any(b'"imputed":true' in row for row in expected) == (engine.fill is not None)
    calibrated = engine.model.calibration is not None
    assert all((b'"churn_probability":' in row) == calibrated for row in expected)


def test_score_json_raises_like_score_many():
    engine = Engine(load_model("seed-5d"))
    accounts = [("a", {}, {}, {"arr": 10}), ("b", {}, {}, {"arr": "lots", "fit": "high"})]
    with pytest.raises(ScoringInputError, match=r"account .b.: attributes\.arr") as raised:
        engine.score_json(engine.batch(*as_columns(accounts)))
    assert raised.value.row == 1


@pytest.mark.parametrize("ids", [["a-1", "b,2", "ünï 3"], ['x",', 'y","z', "w"]])
def test_ids_are_written_exactly_with_or_without_characters_json_escapes(ids):
    engine = Engine(load_model("seed-6d"))
    accounts = [(i, {}, {}, {"arr": 30_000, "potential": "low"}) for i in ids]
    expected = [orjson.dumps(r.as_dict()) for r in engine.score_many(accounts)]
    assert engine.score_json(engine.batch(*as_columns(accounts))) == b",\n".join(expected)
    assert [orjson.loads(row)["id"] for row in expected] == ids


def test_an_empty_batch_is_no_text():
    assert (
        Engine(load_model("seed-5d")).score_json(
            Engine(load_model("seed-5d")).batch([], [], [], [])
        )
        == b""
    )
