"""JSON Lines decoded straight into a model's columns score exactly as the same accounts
read as dicts; anything the decoder cannot take as it is goes back to the line reader."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from csbridge.scoring import Engine, ScoringInputError, load_model, parse_model
from csbridge.scoring.account_rows import RowDecoder
from csbridge.scoring.model import LinearTransform

DROPPED = parse_model(
    """
name: calibrated
dimensions:
  usage:
    weight: 60
    indicators:
      dau_mau: {transform: {type: linear, zero_at: 0, full_at: 0.5}}
  satisfaction:
    weight: 40
    indicators:
      nps: {transform: {type: table, values: {detractor: 0, passive: 50, promoter: 100},
                        bins: {detractor: 0, passive: 7, promoter: 9}}}
bands: [{name: bad, below: 50}, {name: good}]
dropped_indicators: [usage.sessions]
""",
    source="calibrated.yaml",
)


def accounts(engine: Engine, n: int, seed: int) -> list[dict]:
    """Accounts with missing sections and values, integers for numbers, NPS given as a
    0-10 number (bins), given indicator scores, a dropped indicator, ids JSON escapes."""
    rng = random.Random(seed)
    keys = [(f"{d}.{i}", ind.transform) for d, dim in engine.model.dimensions.items()
            for i, ind in dim.indicators.items()]  # fmt: skip
    out = []
    for k in range(n):
        signals: dict = {}
        given: dict = {}
        for key, t in keys:
            roll = rng.random()
            if roll < 0.2:
                continue
            if roll < 0.3:
                given[key] = rng.choice((0, 100, 33.5))
            elif isinstance(t, LinearTransform):
                signals[key] = rng.choice((rng.uniform(-5, 50), rng.randint(0, 3)))
            elif t.bins and roll < 0.5:
                signals[key] = rng.randint(0, 10)
            else:
                signals[key] = rng.choice(list(t.values))
        account: dict = {"id": f'acct "{k}" ü'}
        if signals or k % 3:
            account["signals"] = signals
        if given:
            account["indicator_scores"] = given
        if k % 4:
            account["attributes"] = {"arr": rng.choice((2_400, 30_000, 450_000)), "fit": "high"}
        if engine.model.dropped_indicators and k % 5 == 0:
            account.setdefault("signals", {})["usage.sessions"] = "anything"
        out.append(account)
    return out


def as_lines(items: list[dict]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()


@pytest.mark.parametrize(
    "engine",
    [Engine(load_model("seed-5d")), Engine(load_model("seed-6d")), Engine(DROPPED)],
    ids=["seed-5d", "seed-6d", "dropped"],
)
def test_decoded_lines_score_as_the_accounts_do(engine: Engine) -> None:
    items = accounts(engine, 300, seed=len(engine.keys))
    batch = RowDecoder(engine).decode(as_lines(items), len(items))
    assert batch is not None
    expected = engine.score_many(
        [(a["id"], a.get("signals"), a.get("indicator_scores"), a.get("attributes")) for a in items]
    )
    assert engine.score_json(batch) == b",\n".join(orjson.dumps(r.as_dict()) for r in expected)


GOOD = {"id": "a", "signals": {"usage.dau_mau": 0.3}}


@pytest.mark.parametrize(
    "lines",
    [
        [GOOD, "", GOOD],  # a blank line: its number would be lost
        [GOOD, "   ", GOOD],
        [GOOD, {"id": "b", "signals": {"usage.bogus": 1}}],  # an unknown indicator
        [{"id": "b", "signal": {}}],  # an unknown key
        [{"id": ""}],  # an empty id
        [{"id": 7}],
        [{"id": "b", "signals": {"usage.dau_mau": "high"}}],  # the wrong type
        [{"id": "b", "signals": {"usage.dau_mau": True}}],
        [{"id": "b", "signals": {"usage.dau_mau": None}}],
        [{"id": "b", "signals": None}],  # null sections: the line reader's to take
        [{"id": "b", "attributes": None}],
        ['{"id": "b", "signals": {"usage.dau_mau": NaN}}'],
        ['{"id": "b",'],
        [[GOOD]],
    ],
)
def test_what_the_decoder_cannot_take_as_it_is_goes_to_the_line_reader(lines: list) -> None:
    data = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    assert RowDecoder(Engine(load_model("seed-5d"))).decode(data.encode(), len(lines)) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"indicator_scores": {"usage.dau_mau": 140}}, "indicator_scores.usage.dau_mau is 140:"),
        ({"indicator_scores": {"usage.dau_mau": True}}, "usage.dau_mau is True, not a number"),
        ({"signals": {"satisfaction.nps": -1}}, "satisfaction.nps is -1, below the lowest"),
    ],
)
def test_a_bad_value_the_decoder_takes_is_the_same_error_either_way(
    bad: dict, message: str
) -> None:
    """Values decoded as read: the engine's messages show them as written in the file."""
    engine = Engine(load_model("seed-5d"))
    items = [GOOD, {"id": "b", **bad}]
    decoded = RowDecoder(engine).decode(as_lines(items), 2)
    assert decoded is not None
    as_dicts = engine.batch(
        [a["id"] for a in items],
        [a.get("signals", {}) for a in items],
        [a.get("indicator_scores", {}) for a in items],
        [{}, {}],
    )
    raised = []
    for batch in (decoded, as_dicts):
        with pytest.raises(ScoringInputError) as error:
            engine.score_json(batch)
        raised.append((error.value.row, str(error.value)))
    assert raised[0] == raised[1]
    assert raised[0][0] == 1
    assert raised[0][1].startswith("account 'b': ") and message in raised[0][1]
