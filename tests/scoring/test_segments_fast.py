"""Placing a batch at once (`place_fast`) gives exactly what `place` gives one by one."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from csbridge.scoring import load_model
from csbridge.scoring.segments import SegmentMatrix, SegmentTiers

PRESETS = {name: load_model(name).segments for name in ("seed-5d", "seed-6d")}
BOUNDS = [4_999.99, 5_000, 9_999, 10_000, 20_000, 50_000, 50_000.01, 100_000]
LABELS = ["high", "medium", "low"]

values = st.one_of(
    st.none(),
    st.sampled_from(BOUNDS),
    st.integers(-10, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "  ", *LABELS, "High", "bogus"]),
    st.sampled_from([True, math.nan, math.inf, 10**400, [1]]),
)
attributes = st.dictionaries(st.sampled_from(["arr", "fit", "potential"]), values)


def one_by_one(segments: SegmentMatrix | SegmentTiers, rows: list[dict]) -> list:
    return [segments.place(row) if row else None for row in rows]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(attributes, max_size=12), preset=st.sampled_from(sorted(PRESETS)))
def test_a_batch_is_placed_as_each_account_would_be(rows, preset):
    segments = PRESETS[preset]
    fast = segments.place_fast(rows)
    try:
        expected = one_by_one(segments, rows)
    except ValueError:
        assert fast is None  # a bad value: the careful path names it
        return
    if fast is not None:
        assert fast == expected


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(attributes, max_size=12))
def test_tiers_place_a_batch_as_one_by_one(rows):
    tiers = PRESETS["seed-6d"].fallback
    assert isinstance(tiers, SegmentTiers)
    fast = tiers.place_fast(rows)
    try:
        expected = [tiers.place(row) for row in rows]
    except ValueError:
        assert fast is None
        return
    if fast is not None:
        assert fast == expected


def test_plain_values_take_the_fast_path_with_the_fallback_note():
    segments = PRESETS["seed-5d"]
    rows = [{"arr": 60_000, "fit": "high"}, {"arr": 60_000, "fit": ""}, {"fit": "low"}]
    placed = segments.place_fast(rows)
    assert placed is not None
    assert [p.cell.segment if p else None for p in placed] == ["high_touch", "high_touch", None]
    assert placed[1] is not None and placed[1].note == "fit unknown: ARR tier (arr-touch)"
    assert placed == one_by_one(segments, rows)
