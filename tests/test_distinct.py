"""Distinct users: exact up to the limit, within the stated error beyond, mergeable, stored."""

from __future__ import annotations

import pytest

from csbridge.distinct import EXACT_LIMIT, STANDARD_ERROR, DistinctUsers


def users(first: int, last: int) -> list[str]:
    return [f"user-{n}@example.com" for n in range(first, last)]


def sketch_of(names: list[str]) -> DistinctUsers:
    sketch = DistinctUsers()
    for name in names:
        sketch.add(name)
    return sketch


def test_small_sets_count_exactly_whatever_the_repeats() -> None:
    sketch = sketch_of(users(0, EXACT_LIMIT) * 5)
    assert sketch.exact and sketch.count() == EXACT_LIMIT


def test_a_union_of_days_counts_each_user_once() -> None:
    days = [sketch_of(users(day, day + 10)) for day in range(30)]  # overlapping users
    assert DistinctUsers.union(days).count() == 39


@pytest.mark.parametrize("size", [EXACT_LIMIT + 1, 1_000, 5_000, 50_000])
def test_large_sets_stay_within_three_standard_errors(size: int) -> None:
    sketch = sketch_of(users(0, size))
    assert not sketch.exact
    assert abs(sketch.count() - size) <= 3 * STANDARD_ERROR * size


def test_merging_sketches_estimates_the_union_not_the_sum() -> None:
    left, right = sketch_of(users(0, 3_000)), sketch_of(users(2_000, 5_000))
    left.merge(right)
    assert abs(left.count() - 5_000) <= 3 * STANDARD_ERROR * 5_000


def test_exact_and_estimated_sketches_merge_either_way() -> None:
    small, large = sketch_of(users(0, 50)), sketch_of(users(25, 2_025))
    small.merge(large)
    assert abs(small.count() - 2_025) <= 3 * STANDARD_ERROR * 2_025


def test_memory_stays_bounded_by_the_registers() -> None:
    assert len(sketch_of(users(0, 20_000)).encode()) == len(sketch_of(users(0, 200)).encode())
    assert len(sketch_of(users(0, EXACT_LIMIT)).encode()) <= 1 + 4 * (EXACT_LIMIT * 8 + 2) // 3


@pytest.mark.parametrize("size", [0, 7, 3_000])
def test_encode_and_decode_round_trip(size: int) -> None:
    sketch = sketch_of(users(0, size))
    assert DistinctUsers.decode(sketch.encode()).count() == sketch.count()


@pytest.mark.parametrize("text", ["", "x!!", "xAAA=", "hAAAA", "q" + "A" * 8])
def test_decode_refuses_what_is_not_a_sketch(text: str) -> None:
    with pytest.raises(ValueError):
        DistinctUsers.decode(text)
