"""Touch-model segments from the seeds' matrices."""

import pytest

from csbridge.scoring import Engine, ScoringInputError, load_model


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


def test_missing_attribute_leaves_segment_empty():
    assert Engine(load_model("seed-5d")).score("a", attributes={"arr": 1}).segment is None


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
