"""Numbers' text from the lookup tables is exactly orjson's, on and off the tables' grids."""

from __future__ import annotations

import numpy as np
import orjson

from csbridge.scoring.json_numbers import FOUR, TWO, number_texts


def orjson_texts(values: list[float]) -> list[bytes]:
    return [orjson.dumps(v if v == v else None) for v in values]


def test_rounded_numbers_are_written_as_orjson_writes_them() -> None:
    rng = np.random.default_rng(7)
    raw = np.concatenate([rng.uniform(-100, 100, 5000), rng.uniform(-1, 1, 5000)])
    values = np.concatenate([np.round(raw[:5000], 2), np.round(raw[5000:], 4)])
    matrix = values.reshape(2, -1).T  # a column of each grid
    assert number_texts(matrix, [TWO, FOUR]).ravel(order="F").tolist() == orjson_texts(
        values.tolist()
    )


def test_numbers_off_the_grids_are_written_by_orjson() -> None:
    values = [-0.0, float("nan"), 0.0, 1e-05, 0.12345, 100.01, -100.0, 100.0, 250.5, 1.0, 1e20]
    for grid in (TWO, FOUR):
        texts = number_texts(np.array(values), grid).tolist()
        assert texts == orjson_texts(values)
    assert texts[:3] == [b"-0.0", b"null", b"0.0"]
