"""Touch-model segments from the seeds' matrices."""

import pytest

from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoringInputError, load_model
from csbridge.scoring.model import parse_model


@pytest.mark.parametrize(
    ("arr", "fit", "segment"),
    [
        (9_999, "high", "low_touch"),
        (10_000, "high", "low_touch"),
        (50_000, "high", "low_touch"),
        (50_001, "high", "high_touch"),
        (5_000, "medium", "tech_touch"),
        (20_000, "medium", "low_touch"),
        (80_000, "medium", "low_touch"),
        (20_000, "low", "tech_touch"),
        (80_000, "low", "low_touch"),
    ],
)
def test_arr_by_fit_matrix(arr, fit, segment):
    result = Engine(load_model("seed-5d")).score("a", attributes={"arr": arr, "fit": fit})
    assert result.segment == segment


@pytest.mark.parametrize(
    ("arr", "potential", "segment", "ratio"),
    [
        (60_000, "high", "high_touch", 20),
        (60_000, "medium", "high_touch", 30),
        (60_000, "low", "mid_touch", 50),
        (30_000, "high", "high_touch", 30),
        (30_000, "medium", "mid_touch", 75),
        (30_000, "low", "low_touch", 150),
        (5_000, "high", "mid_touch", 75),
        (5_000, "medium", "low_touch", 200),
        (500, "low", "tech_touch", 500),
    ],
)
def test_value_by_potential_matrix_with_csm_ratios(arr, potential, segment, ratio):
    result = Engine(load_model("seed-6d")).score(
        "a", attributes={"arr": arr, "potential": potential}
    )
    assert (result.segment, result.accounts_per_csm) == (segment, ratio)
    assert result.as_dict()["accounts_per_csm"] == ratio


@pytest.mark.parametrize(
    ("model", "attributes", "segment", "note"),
    [
        ("seed-5d", {"arr": 4_999}, "tech_touch", "fit unknown: ARR tier (arr-touch)"),
        ("seed-5d", {"arr": 5_000, "fit": ""}, "mid_touch", "fit unknown: ARR tier (arr-touch)"),
        ("seed-5d", {"arr": 50_001, "fit": None}, "high_touch", "fit unknown"),
        ("seed-6d", {"arr": 60_000}, "high_touch", "potential unknown: ARR tier (arr-touch)"),
        ("seed-6d", {"arr": 60_000, "potential": "  "}, "high_touch", "potential unknown"),
    ],
)
def test_two_axis_matrix_falls_back_to_the_arr_tier_and_says_so(model, attributes, segment, note):
    result = Engine(load_model(model)).score("a", attributes=attributes)
    assert result.segment == segment
    assert result.segment_note is not None and result.segment_note.startswith(note)
    assert result.as_dict()["segment_note"] == result.segment_note


def test_both_attributes_known_use_the_matrix_without_a_note():
    result = Engine(load_model("seed-5d")).score("a", attributes={"arr": 4_999, "fit": "high"})
    assert (result.segment, result.segment_note) == ("low_touch", None)
    assert "segment_note" not in result.as_dict()


def test_without_arr_there_is_no_segment():
    assert Engine(load_model("seed-5d")).score("a", attributes={"fit": "high"}).segment is None
    assert Engine(load_model("seed-6d")).score("a", attributes={}).segment is None


ARR_TIER_MODEL = """
name: tiers
dimensions:
  usage: {weight: 100, indicators: {dau_mau: {transform: {type: linear, zero_at: 0, full_at: 1}}}}
bands: [{name: low, below: 50}, {name: high}]
segments: SEGMENTS
"""


@pytest.mark.parametrize(
    ("arr", "segment", "ratio"),
    [
        (4_999, "plg", 1250),
        (5_000, "smb", 150),
        (19_999, "smb", 150),
        (20_000, "mid_market", 38),
        (100_000, "mid_market", 38),
        (100_001, "strategic", 10),
    ],
)
def test_arr_tier_preset_follows_seed_001(arr, segment, ratio):
    model = parse_model(ARR_TIER_MODEL.replace("SEGMENTS", "arr-tier"), source="m.yaml")
    result = Engine(model).score("a", attributes={"arr": arr})
    assert (result.segment, result.accounts_per_csm, result.segment_note) == (segment, ratio, None)


def test_inline_tiers_and_segment_names():
    tiers = "{name: mine, tiers: [{name: small, below: 1000}, {name: big}]}"
    model = parse_model(ARR_TIER_MODEL.replace("SEGMENTS", tiers), source="m.yaml")
    assert model.segments is not None
    assert model.segments.segment_names() == ["small", "big"]
    assert Engine(model).score("a", attributes={"arr": 999}).segment == "small"
    five_d = load_model("seed-5d").segments
    assert five_d is not None
    assert five_d.segment_names() == ["low_touch", "high_touch", "tech_touch", "mid_touch"]


def test_unknown_fallback_preset_is_named():
    matrix = (
        "{name: m, rows: {attribute: fit, values: [a]}, columns: {attribute: arr, "
        "bands: [{name: any}]}, cells: {a: {any: x}}, fallback: nope}"
    )
    with pytest.raises(CsbridgeError, match="fallback: unknown segment preset 'nope'"):
        parse_model(ARR_TIER_MODEL.replace("SEGMENTS", matrix), source="m.yaml")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"arr": 1000, "fit": "huge"}, "attributes.fit is 'huge': use one of high, medium, low"),
        ({"arr": "lots", "fit": "high"}, "attributes.arr must be a number"),
    ],
)
def test_bad_attributes_are_named(attributes, message):
    with pytest.raises(ScoringInputError, match=message):
        Engine(load_model("seed-5d")).score("acct", attributes=attributes)


def test_an_arr_too_large_for_a_float_is_a_clear_error():
    with pytest.raises(ScoringInputError, match=r"attributes.arr must be a number"):
        Engine(load_model("seed-6d")).score("a", attributes={"arr": 10**400, "potential": "low"})
