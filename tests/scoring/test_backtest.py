"""Backtest figures on hand-built data whose answers are worked out here."""

import numpy as np
import pytest

from csbridge.scoring.backtest import (
    band_rates,
    brier,
    deciles,
    figures,
    health_auc,
    indicator_rows,
    reliability,
    roc_points,
    wilson,
)


def test_auc_counts_pairs_where_the_stayer_scores_higher_and_ties_half():
    # stayers 3, 4, 5 vs churners 1, 2, 6: each stayer beats 1 and 2, none beats 6 -> 6/9.
    score = np.array([3.0, 4.0, 5.0, 1.0, 2.0, 6.0])
    churned = np.array([False, False, False, True, True, True])
    assert health_auc(score, churned) == pytest.approx(6 / 9)
    # stayers 2 and 3 vs churner 2: the tie counts half -> (0.5 + 1) / 2 pairs.
    tie = health_auc(np.array([2.0, 3.0, 2.0]), np.array([False, False, True]))
    assert tie == pytest.approx(0.75)
    assert health_auc(np.array([1.0, 2.0]), np.array([False, False])) is None


def test_roc_of_a_perfect_ranking_passes_through_the_top_left_corner():
    score = np.array([1.0, 2.0, 3.0, 4.0])
    points = roc_points(score, np.array([True, True, False, False]))
    assert points[0] == (0.0, 0.0)
    assert (0.0, 1.0) in points
    assert points[-1] == (1.0, 1.0)


def test_wilson_interval_of_3_out_of_10():
    # p = 0.3, z² = 3.8415: centre (0.3 + 0.19207) / 1.38415 = 0.3555,
    # half-width 1.96 × sqrt(0.021 + 0.0096) / 1.38415 = 0.2477.
    low, high = wilson(3, 10)
    assert low == pytest.approx(0.1078, abs=1e-4)
    assert high == pytest.approx(0.6032, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 5)[0] == 0.0


def test_deciles_lift_and_capture():
    # 20 accounts scored 0..19; the four lowest churned: overall rate 0.2.
    score = np.arange(20.0)
    churned = score < 4
    rows = deciles(score, churned)
    assert len(rows) == 10
    assert rows[0] == {
        "decile": 1,
        "accounts": 2,
        "churned": 2,
        "churn_rate": 1.0,
        "lift": 5.0,
        "capture": 0.5,
        "max_score": 1.0,
    }
    assert rows[1]["capture"] == 1.0
    assert rows[9]["lift"] == 0.0


def test_band_rates_warn_when_not_monotone_and_when_intervals_overlap():
    status = ["low"] * 10 + ["mid"] * 10 + ["high"] * 10
    churned = np.array([True] * 3 + [False] * 7 + [True] * 5 + [False] * 5 + [False] * 10)
    rows, warnings = band_rates(status, ["low", "mid", "high"], churned)
    assert [r["churn_rate"] for r in rows] == [0.3, 0.5, 0.0]
    assert rows[0]["low"] == pytest.approx(0.1078, abs=1e-4)
    assert warnings[0].startswith("bands not monotone: mid churns 50.0%, more than low")
    assert warnings[1].startswith("bands mid and high overlap")
    _, empty = band_rates(["low"], ["low", "high"], np.array([True]))
    assert empty == ["band high holds no snapshot"]
    _, clean = band_rates(
        ["a"] * 100 + ["b"] * 100, ["a", "b"], np.array([True] * 90 + [False] * 110)
    )
    assert clean == []


def test_brier_and_reliability_with_expected_calibration_error():
    assert brier(np.array([0.2, 0.8]), np.array([False, True])) == pytest.approx(0.04)
    # 14 accounts in two groups of 7 by predicted probability:
    # seven at 0.1, one churned -> |0.1 - 1/7|;
    # three at 0.1 and four at 0.9, two churned -> |3.9/7 - 2/7|; ECE is their mean.
    p = np.array([0.1] * 10 + [0.9] * 4)
    y = np.array([True] + [False] * 9 + [True, True, False, False])
    rows, ece = reliability(p, y, bins=2)
    assert [(r["accounts"], r["observed"]) for r in rows] == [
        (7, round(1 / 7, 4)),
        (7, round(2 / 7, 4)),
    ]
    assert rows[1]["predicted"] == round(3.9 / 7, 4)
    assert ece == pytest.approx(0.5 * abs(0.1 - 1 / 7) + 0.5 * abs(3.9 / 7 - 2 / 7), abs=1e-4)


def test_indicator_flags_reversed_and_leaky_indicators():
    churned = np.array([True, True, False, False, False, False])
    values = np.array(
        [
            [0.0, 90.0, np.nan],
            [10.0, 80.0, 50.0],
            [90.0, 10.0, 50.0],
            [95.0, 20.0, np.nan],
            [80.0, 30.0, 50.0],
            [70.0, 40.0, np.nan],
        ]
    )
    rows = indicator_rows(values, ["a.good", "a.backwards", "a.flat"], churned)
    assert rows[0] == {
        "indicator": "a.good",
        "coverage": 1.0,
        "auc": 1.0,
        "reversed": False,
        "leak_suspect": True,
    }
    assert rows[1]["auc"] == 0.0 and rows[1]["reversed"]
    assert rows[2]["coverage"] == 0.5 and rows[2]["auc"] == 0.5


def test_figures_leave_out_unscored_rows_and_warn_without_both_outcomes():
    score = np.array([10.0, np.nan, 80.0])
    out = figures(
        score,
        ["low", "no_data", "high"],
        ["low", "high"],
        np.array([False, True, False]),
        np.full((3, 1), np.nan),
        ["a.x"],
    )
    assert out["unscored"] == 1 and out["churned"] == 0
    assert out["auc"] is None
    assert out["warnings"][0].startswith("AUC undefined")
    assert out["calibration"] is None
