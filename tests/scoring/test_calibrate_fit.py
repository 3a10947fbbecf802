"""The calibration maths on small cases worked out by hand."""

import numpy as np
import pytest

from csbridge.scoring.calibrate_fit import (
    band_cuts,
    isotonic_points,
    logistic_fit,
    logistic_points,
    round_to_100,
    search_anchors,
)


def test_non_negative_fit_zeroes_a_feature_that_points_the_wrong_way():
    rng = np.random.default_rng(1)
    risk = rng.uniform(size=2000)  # churn rises with it
    calm = rng.uniform(size=2000)
    churned = rng.uniform(size=2000) < 0.05 + 0.5 * risk - 0.2 * calm
    x = np.column_stack([risk, calm])
    _, free = logistic_fit(x, churned)
    assert free[0] > 0 > free[1]
    _, kept = logistic_fit(x, churned, nonneg=True)
    assert kept[0] > 0 and kept[1] == 0.0


def test_anchor_search_keeps_the_direction():
    raw = np.linspace(0, 10, 200)
    churned = raw > 7  # more of it is worse, as for open tickets
    zero_at, full_at = search_anchors(raw, churned, increasing=False)
    assert zero_at > full_at
    assert search_anchors(np.ones(5), np.array([True, False] * 2 + [True]), True) is None


def test_isotonic_pools_adjacent_violators():
    # 10 churned, 20 stayed, 30 churned (violates), 40 stayed: 20 and 30 pool to 0.5 at 25.
    points = isotonic_points(np.array([10.0, 20.0, 30.0, 40.0]), np.array([1, 0, 1, 0], bool))
    assert points == [(10.0, 1.0), (25.0, 0.5), (40.0, 0.0)]


def test_logistic_map_never_rises_with_the_score():
    score = np.linspace(0, 100, 500)
    _, slope = logistic_points(score, score < 30)
    assert slope < 0
    _, flat = logistic_points(score, score > 70)  # healthier churns more: no slope
    assert flat == 0.0


def test_weights_round_to_exactly_100():
    assert round_to_100([1, 1, 1]) == [34, 33, 33]
    assert round_to_100([0.123, 0.456, 0.421]) == [12, 46, 42]


def test_band_cuts_where_the_curve_crosses_each_target():
    curve = 0.5 - 0.005 * np.arange(101.0)  # 50 % at 0 down to 0 % at 100
    assert band_cuts(curve, [0.40, 0.15, 0.03]) == [20, 70, 94]
    # a curve that never reaches 40 %: the lowest band is one point wide, cuts still increase.
    assert band_cuts(np.full(101, 0.01), [0.40, 0.15, 0.03]) == [1, 2, 3]


@pytest.mark.parametrize("targets", [[0.5], [0.9, 0.1]])
def test_band_cuts_stay_within_100(targets):
    cuts = band_cuts(np.ones(101), targets)
    assert cuts[-1] <= 100 and cuts == sorted(set(cuts))
