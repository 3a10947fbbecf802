"""A scored batch's JSON, written from its columns without per-account dicts or calls.

`csbridge score` only prints results, so `JsonRows` writes exactly the text that
`orjson.dumps(ScoreResult.as_dict())` would, ",\\n"-joined, for a whole batch in one
`%` formatting: every number's text comes from a table made with orjson (json_numbers), the
pieces of the format (each account's head, its drivers' templates, its tail) and the
arguments (ids, numbers) are laid out with numpy index arithmetic, and bytes `%` does
the rest in C. This is the hot path of scoring a large file (bench/score_throughput.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import orjson

from csbridge.scoring.columns import Columns, Drivers
from csbridge.scoring.json_numbers import FOUR, TWO, number_texts
from csbridge.scoring.segments import Placement

Ints = npt.NDArray[np.intp]


class JsonRows:
    """The JSON text of a model's score results, built from `Columns`."""

    def __init__(self, keys: Sequence[str], dimension_names: Sequence[str]):
        dims = b",".join(
            _literal(name) + b':{"score":%s,"weight":%s,"contribution":%s,"coverage":%s}'
            for name in dimension_names
        )
        self.dimensions = b',"dimensions":{' + dims + b'},"drivers":['
        self.width = 2 + 4 * len(dimension_names)  # numbers per account
        self.grids = [TWO, FOUR] + [TWO, FOUR, TWO, FOUR] * len(dimension_names)
        # per (indicator, direction, imputed, not first): index 8 i + 4 down + 2 imputed + 1
        self.driver_templates = _objects(
            [
                comma
                + b'{"indicator":'
                + _literal(key)
                + b',"score":%s,"impact":%s,"direction":"'
                + direction
                + (b'","imputed":true}' if imputed else b'"}')
                for key in keys
                for direction in (b"up", b"down")
                for imputed in (False, True)
                for comma in (b"", b",")
            ]
        )

    def text(
        self, ids: Sequence[str], columns: Columns, placements: Sequence[Placement | None]
    ) -> bytes:
        """The batch's accounts as JSON objects, in order, ",\\n"-joined."""
        count = len(ids)
        if count == 0:
            return b""
        drivers = columns.drivers
        ends = np.array(drivers.ends, dtype=np.intp)
        per = np.diff(ends, prepend=0)  # drivers per account
        heads, tails = self._heads_and_tails(columns, placements)
        # The format: per account its head, its drivers' templates, its tail.
        pieces_per = per + 2
        piece_at = np.cumsum(pieces_per) - pieces_per
        pieces = np.empty(int(pieces_per.sum()), dtype=object)
        pieces[piece_at] = heads
        pieces[piece_at + per + 1] = tails
        within = np.arange(len(drivers.indicator)) - np.repeat(ends - per, per)
        pieces[np.repeat(piece_at + 1, per) + within] = self._driver_formats(drivers, within)
        # The arguments: per account its id, its numbers, its drivers' numbers, its churn.
        churn = columns.churn is not None
        width = self.width
        args_per = 1 + width + 2 * per + churn
        arg_at = np.cumsum(args_per) - args_per
        args = np.empty(int(args_per.sum()), dtype=object)
        args[arg_at] = _objects(_ids(ids))
        numbers = np.column_stack([columns.shown, columns.coverage, columns.dimension_numbers()])
        args[arg_at[:, None] + 1 + np.arange(width)] = number_texts(numbers, self.grids)
        if len(within):
            first = np.repeat(arg_at + 1 + width, per) + 2 * within
            pairs = np.column_stack([first, first + 1])
            args[pairs] = number_texts(np.column_stack([drivers.score, drivers.impact]), TWO)
        if columns.churn is not None:
            args[arg_at + args_per - 1] = number_texts(columns.churn, FOUR)
        text: bytes = b"".join(pieces.tolist()) % tuple(args.tolist())
        return text

    def _heads_and_tails(
        self, columns: Columns, placements: Sequence[Placement | None]
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """Each account's head (up to its first driver) and tail (after its last), made
        once per (status, segment placement) and shared."""
        churn = b"" if columns.churn is None else b',"churn_probability":%s'
        # the caller's list keeps every placement alive, so their ids stay theirs
        keys = list(zip(columns.status, map(id, placements), strict=True))
        made_heads, made_tails = {}, {}
        for key, placed in dict(zip(keys, placements, strict=True)).items():
            segment, extra = _segment(placed)
            made_heads[key] = (
                b',\n{"id":"%s","score":%s,"status":'
                + _literal(key[0])
                + b',"coverage":%s,"segment":'
                + segment
                + self.dimensions
            )
            made_tails[key] = b"]" + churn + extra + b"}"
        heads = _objects(list(map(made_heads.__getitem__, keys)))
        heads[0] = heads[0][2:]  # the first account has no ",\n" before it
        return heads, _objects(list(map(made_tails.__getitem__, keys)))

    def _driver_formats(self, drivers: Drivers, within: Ints) -> npt.NDArray[np.object_]:
        """Each driver's template, with a leading comma unless it is its account's first."""
        if not drivers.indicator:
            return _objects([])
        which = (
            np.array(drivers.indicator) * 8
            + np.array(drivers.down) * 4
            + drivers.imputed * 2
            + (within > 0)
        )
        formats: npt.NDArray[np.object_] = self.driver_templates[which]
        return formats


def _literal(value: str) -> bytes:
    """A JSON string as a piece of a `%` format."""
    return orjson.dumps(value).replace(b"%", b"%%")


def _segment(placed: Placement | None) -> tuple[bytes, bytes]:
    """The segment's JSON and what follows the drivers (CSM ratio, fallback note)."""
    if placed is None:
        return b"null", b""
    extra = b""
    if placed.cell.accounts_per_csm is not None:
        extra += b',"accounts_per_csm":%d' % placed.cell.accounts_per_csm
    if placed.note is not None:
        extra += b',"segment_note":' + _literal(placed.note)
    return _literal(placed.cell.segment), extra


def _ids(ids: Sequence[str]) -> list[bytes]:
    """Each id as orjson escapes it, without its quotes; one orjson call for the batch.

    Without a backslash in the text no quote is escaped, so `","` only separates items;
    with one (an id with a quote, a backslash or a control character) each id is dumped.
    """
    text = orjson.dumps(list(ids))
    if b"\\" in text:
        return [orjson.dumps(i)[1:-1] for i in ids]
    return text[2:-2].split(b'","')


def _objects(items: Sequence[bytes]) -> npt.NDArray[np.object_]:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
