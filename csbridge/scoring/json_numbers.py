"""Numbers as orjson writes them, from lookup tables: scoring's numbers are rounded to
two or four decimals, so nearly all of them are on a small grid whose text is made once.

The tables are made with orjson itself (`k / 100` and `k / 10000` are the very floats
`np.round` gives), and a number is taken from a table only when it is exactly that
table's float; anything else (NaN, -0.0, out of range) is written by orjson. Cheaper
than one `orjson.dumps` of the batch's matrix split into its numbers (bench/score_throughput.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import orjson

Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]
# (decimals, the largest magnitude): weights, coverage, churn; then scores, impacts
GRIDS = ((4, 1.0), (2, 100.0))


def _table(decimals: int, top: float) -> tuple[float, Floats, Objects]:
    scale = 10.0**decimals
    reach = round(top * scale)
    floats = np.arange(-reach, reach + 1) / scale
    text = orjson.dumps(floats, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    texts = np.empty(len(text), dtype=object)
    texts[:] = text
    return scale, floats, texts


TABLES = [_table(decimals, top) for decimals, top in GRIDS]


def number_texts(matrix: Floats) -> Objects:
    """A float matrix's numbers, row after row, as orjson writes them ("1.5", "null")."""
    values = np.ascontiguousarray(matrix, dtype=np.float64).ravel()
    out = np.empty(values.size, dtype=object)
    todo = np.arange(values.size)
    for scale, floats, texts in TABLES:
        if not todo.size:
            return out
        left = values[todo]
        reach = (len(floats) - 1) // 2
        with np.errstate(invalid="ignore"):
            k = np.rint(left * scale)
            k = np.where(np.abs(k) <= reach, k, 0).astype(np.intp) + reach
        hit = (floats[k] == left) & ~((left == 0) & np.signbit(left))
        out[todo[hit]] = texts[k[hit]]
        todo = todo[~hit]
    if todo.size:
        text = orjson.dumps(values[todo], option=orjson.OPT_SERIALIZE_NUMPY)
        out[todo] = text[1:-1].split(b",")
    return out
