"""The score in words: points lost in order, raw values behind them, no raw keys."""

from __future__ import annotations

import re

from csbridge.scoring import Engine, load_model
from csbridge.scoring.explain import explain, losses, why_text

MODEL_5D = load_model("seed-5d")
MODEL_6D = load_model("seed-6d")
KEYS = [
    f"{d}.{i}"
    for m in (MODEL_5D, MODEL_6D)
    for d in m.dimensions
    for i in m.dimensions[d].indicators
]


def test_zero_usage_account_names_usage_first_with_the_numbers() -> None:
    # Nobody uses the product; support and growth are middling (the example).
    raw = {
        "usage.dau_mau": 0.0,
        "usage.feature_adoption": 0.05,
        "usage.session_frequency": 0.1,
        "growth.user_expansion": -0.05,
        "satisfaction.support_tickets": 3,
        "satisfaction.nps": 8,
    }
    result = Engine(MODEL_5D).score("idle", signals=raw)
    assert result.score is not None and result.score < 40
    text = why_text(MODEL_5D, result, raw)
    assert text.startswith("Usage 0/100: DAU/MAU (0%, 0/100)"), text
    assert "key features used (5%, 0/100)" in text
    assert len(text) <= 255


def test_points_lost_are_weight_times_distance_from_100() -> None:
    result = Engine(MODEL_5D).score(
        "a", indicator_scores={"usage.dau_mau": 50, "relationship.exec_sponsor": 0}
    )
    lost = {loss.indicator: round(loss.points, 2) for loss in losses(MODEL_5D, result)}
    # 30 % × 30 % × (100 − 50) = 4.5; 10 % × 40 % × 100 = 4.0
    assert lost == {"usage.dau_mau": 4.5, "relationship.exec_sponsor": 4.0}
    assert why_text(MODEL_5D, result, {}).startswith("Usage 50/100: DAU/MAU (50/100). Relationship")


def test_categories_units_and_signed_trends_read_as_words() -> None:
    raw = {
        "satisfaction.nps": 3,
        "financial.payment_delay": 45,
        "usage.usage_trend": -0.2,
        "relationship.relationship_quality": "difficult",
    }
    result = Engine(MODEL_6D).score("a", signals=raw)
    text = why_text(MODEL_6D, result, raw, limit=1000)
    assert "NPS (3 (detractor), 0/100)" in text
    assert "oldest invoice overdue (45 days, " in text
    assert "usage over 30 days (-20%, " in text
    assert "relationship quality (difficult, 20/100)" in text


def test_a_value_the_warehouse_gave_names_it_and_the_computed_ones_do_not() -> None:
    raw = {"financial.payment_delay": 45, "satisfaction.nps": 3, "usage.dau_mau": 0.02}
    given_by = {"financial.payment_delay": "warehouse"}
    result = Engine(MODEL_6D).score("a", signals=raw)
    text = explain(MODEL_6D, result, raw, given_by).why
    assert "oldest invoice overdue (45 days, warehouse, 25/100)" in text, text
    assert "NPS (3 (detractor), 0/100)" in text and "DAU/MAU (2%, 0/100)" in text
    assert text.count("warehouse") == 1
    without = why_text(MODEL_6D, result, raw)
    assert without == text.replace(", warehouse", "")
    short = why_text(MODEL_6D, result, raw, given_by, limit=len(text) - 1)
    assert len(short) < len(text) and "warehouse" not in short  # stops at a whole item


def test_no_raw_indicator_key_reaches_the_crm_text() -> None:
    raw = {k: 0.0 for k in KEYS if k.startswith("usage.")}
    for model in (MODEL_5D, MODEL_6D):
        keys = [f"{d}.{i}" for d in model.dimensions for i in model.dimensions[d].indicators]
        scores = {key: float(n * 13 % 100) for n, key in enumerate(keys)}
        result = Engine(model).score("a", indicator_scores=scores)
        words = explain(model, result, raw)
        for text in (words.why, words.drivers):
            assert text
            assert not re.search(r"\b[a-z]+\.[a-z_]+\b", text), text
            assert "_" not in text, text


def test_a_perfect_score_has_nothing_to_explain_and_long_text_stops_at_a_whole_item() -> None:
    perfect = Engine(MODEL_5D).score("a", indicator_scores={"usage.dau_mau": 100})
    assert why_text(MODEL_5D, perfect, {}) == ""
    scores = {
        f"{d}.{i}": 0.0 for d in MODEL_6D.dimensions for i in MODEL_6D.dimensions[d].indicators
    }
    result = Engine(MODEL_6D).score("a", indicator_scores=scores)
    text = why_text(MODEL_6D, result, {}, limit=120)
    assert 0 < len(text) <= 120 and not text.endswith(",")
