"""Numbers as orjson writes them, from one lookup table: scoring's numbers are rounded to
two or four decimals, so nearly all of them are on a small grid whose text is made once.

The table is made with orjson itself (`k / 100` and `k / 10000` are the very floats
`np.round` gives), and a number is taken from it only when it is exactly the table's
float; NaN is `null`, -0.0 is `-0.0`, and anything else (off the grid, out of range) is
written by orjson. Each column says which grid its numbers are on, so a matrix's texts are
one gather from the table (bench/score_throughput.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import orjson

Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]
FOUR, TWO = 0, 1  # the grids: four decimals within ±1 (weights, coverage, churn), two
GRIDS = ((4, 1.0), (2, 100.0))  # within ±100 (scores, impacts, contributions)


def _table() -> tuple[Floats, Floats, npt.NDArray[np.intp], npt.NDArray[np.intp], Objects]:
    floats, scales, reaches, starts = [], [], [], []
    at = 0
    for decimals, top in GRIDS:
        scale = 10.0**decimals
        reach = round(top * scale)
        floats.append(np.arange(-reach, reach + 1) / scale)
        scales.append(scale)
        reaches.append(reach)
        starts.append(at + reach)  # where k = 0 is
        at += 2 * reach + 1
    every = np.concatenate(floats)
    text = orjson.dumps(every, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    texts = np.empty(len(text), dtype=object)
    texts[:] = text
    return every, np.array(scales), np.array(reaches), np.array(starts), texts


FLOATS, SCALES, REACHES, STARTS, TEXTS = _table()


def number_texts(matrix: Floats, grids: int | Sequence[int]) -> Objects:
    """The texts of a matrix's numbers (same shape) as orjson writes them ("1.5", "null");
    `grids` is each column's grid (FOUR or TWO), or one for all."""
    values = np.asarray(matrix, dtype=np.float64)
    which = np.asarray(grids, dtype=np.intp)
    reach = REACHES[which]
    with np.errstate(invalid="ignore"):
        k = np.rint(values * SCALES[which])
        k = np.where(np.abs(k) <= reach, k, 0).astype(np.intp) + STARTS[which]
    out: Objects = TEXTS[k]
    odd = FLOATS[k] != values  # NaN is never equal
    odd |= (values == 0) & np.signbit(values)
    if odd.any():
        where = np.nonzero(odd)
        rest = values[where]
        text = orjson.dumps(np.where(np.isnan(rest), 0.0, rest), option=orjson.OPT_SERIALIZE_NUMPY)
        texts = np.empty(rest.size, dtype=object)
        texts[:] = text[1:-1].split(b",")
        texts[np.isnan(rest)] = b"null"
        out[where] = texts
    return out
