"""Band edges: the band is decided on the score rounded to two decimals."""

import pytest

from csbridge.scoring import Engine, load_model


def _all_at(engine: Engine, value: float) -> dict[str, float]:
    return {key: value for key in engine.keys}


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (0, "at_risk"),
        (40, "at_risk"),
        (40.01, "attention"),
        (70, "attention"),
        (70.01, "healthy"),
        (85, "healthy"),
        (85.01, "champion"),
        (100, "champion"),
    ],
)
def test_seed_5d_band_edges(score, status):
    engine = Engine(load_model("seed-5d"))
    result = engine.score("a", indicator_scores=_all_at(engine, score))
    assert result.score == score
    assert result.status == status


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (0, "critical"),
        (39.99, "critical"),
        (40, "at_risk"),
        (59.99, "at_risk"),
        (60, "stable"),
        (79.99, "stable"),
        (80, "healthy"),
        (100, "healthy"),
    ],
)
def test_seed_6d_band_edges(score, status):
    engine = Engine(load_model("seed-6d"))
    result = engine.score("a", indicator_scores=_all_at(engine, score))
    assert result.score == score
    assert result.status == status


def test_band_uses_the_rounded_score():
    engine = Engine(load_model("seed-5d"))
    # 40.004 is shown as 40.0, so it is at_risk; 40.006 is shown as 40.01: attention.
    assert engine.score("a", indicator_scores=_all_at(engine, 40.004)).status == "at_risk"
    assert engine.score("a", indicator_scores=_all_at(engine, 40.006)).status == "attention"
    engine6 = Engine(load_model("seed-6d"))
    # 39.996 is shown as 40.0: at_risk, not critical.
    result = engine6.score("a", indicator_scores=_all_at(engine6, 39.996))
    assert (result.score, result.status) == (40.0, "at_risk")


@pytest.mark.parametrize("preset", ["seed-5d", "seed-6d"])
def test_array_bands_agree_with_band_for(preset):
    import numpy as np

    from csbridge.scoring.bands import band_for, band_indices

    bands = load_model(preset).bands
    values = np.round(np.arange(0, 100.01, 0.01), 2)
    names = [bands[i].name for i in band_indices(values, bands)]
    assert names == [band_for(float(v), bands) for v in values]
