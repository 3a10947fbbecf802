"""NPS, CSAT and CES as the seed defines them, with its examples."""

import pytest

from csbridge.scoring import ces, csat, nps, nps_category


def test_seed_nps_example_is_plus_35():
    answers = [3] * 75 + [7] * 100 + [8] * 75 + [9] * 100 + [10] * 150
    assert len(answers) == 500
    assert nps(answers) == 35.0


def test_nps_range_and_categories():
    assert nps([0, 6]) == -100
    assert nps([9, 10]) == 100
    assert nps([7, 8]) == 0
    assert [nps_category(a) for a in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]


def test_seed_csat_example_is_84_percent():
    answers = [1] * 10 + [2] * 20 + [3] * 50 + [4] * 150 + [5] * 270
    assert csat(answers) == 84.0


def test_csat_other_scale_uses_top_two_boxes():
    assert csat([1, 2, 6, 7], scale=7) == 50.0


def test_ces_mean_and_low_effort_share():
    summary = ces([1, 4, 5, 6, 7, 7])
    assert summary.mean == 5.0
    assert summary.low_effort_share == pytest.approx(66.67)


@pytest.mark.parametrize(
    ("fn", "answers"),
    [
        (nps, [11]),
        (nps, [-1]),
        (nps, [7.5]),
        (nps, [True]),
        (csat, [0]),
        (csat, [6]),
        (ces, [8]),
        (nps, []),
    ],
)
def test_out_of_scale_answers_are_rejected(fn, answers):
    with pytest.raises(ValueError):
        fn(answers)
