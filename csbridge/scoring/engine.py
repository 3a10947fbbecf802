"""The scoring engine: raw signals and indicator scores → an explained health score.

Pure: no I/O and no clock. A model is compiled once into weight matrices; accounts
are scored in batches with numpy (one row per account, one column per indicator),
so the per-account Python work is only reading the input and shaping the output
(see bench/score_throughput.py). `score()` is a batch of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from operator import le
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from csbridge.errors import CsbridgeError
from csbridge.scoring.bands import band_indices
from csbridge.scoring.calibration import churn_probability
from csbridge.scoring.columns import Columns, Drivers, pick_drivers
from csbridge.scoring.json_rows import JsonRows
from csbridge.scoring.model import ScoringModel
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.segments import Placement
from csbridge.scoring.transforms import Errors, check_number, column_scorer

NEUTRAL_SCORE = 50.0
DRIVERS_EACH_WAY = 3

Floats = npt.NDArray[np.float64]
AccountIn = tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None, Mapping[str, Any] | None]
"""(id, signals, indicator_scores, attributes)."""
EMPTY: dict[str, Any] = {}  # never changed


Ints = npt.NDArray[np.intp]
Column = tuple[Ints, list[Any]]
"""An indicator's raw values (None where a row has none) and the rows they belong to."""
SignalColumn = tuple[Ints, list[Any] | npt.NDArray[np.float64]]
"""A column, or (for a linear transform) numbers already checked, NaN where a row has none."""


class Batch(NamedTuple):
    """Accounts to score as columns: per indicator (in `Engine.keys` order), its signals
    and its given indicator scores; `errors` found while reading, as (row, message)."""

    ids: Sequence[str]
    signals: Sequence[SignalColumn]
    indicator_scores: Sequence[Column]
    attributes: Sequence[Mapping[str, Any]]
    errors: tuple[tuple[int, str], ...] = ()


class ScoringInputError(CsbridgeError):
    """An account's input cannot be scored; the message names the account and field.

    `row` is the account's position in the batch, so callers can say where it came from.
    """

    def __init__(self, message: str, row: int = 0):
        super().__init__(message)
        self.row = row


class Engine:
    """A compiled scoring model. Scoring is pure and safe to call from many threads."""

    def __init__(self, model: ScoringModel, *, drivers_each_way: int = DRIVERS_EACH_WAY):
        self.model = model
        self.model_hash = model.model_hash()
        self.drivers_each_way = drivers_each_way
        self.fill: float | None = {"neutral": NEUTRAL_SCORE, "zero": 0.0}.get(model.missing_data)
        self.dimension_names = list(model.dimensions)
        self.keys = [f"{d}.{i}" for d, dim in model.dimensions.items() for i in dim.indicators]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.accepted = frozenset(self.keys) | frozenset(model.dropped_indicators)
        self.transforms = [
            ind.transform for dim in model.dimensions.values() for ind in dim.indicators.values()
        ]
        self.scorers = [column_scorer(t) for t in self.transforms]
        dim_of = [d for d, dim in enumerate(model.dimensions.values()) for _ in dim.indicators]
        self.dim_of = np.array(dim_of)
        self.dim_w: Floats = np.array([d.weight / 100.0 for d in model.dimensions.values()])
        # weights[i, d]: indicator i's share inside dimension d (zero outside it).
        self.weights: Floats = np.zeros((len(self.keys), len(self.dimension_names)))
        for i, key in enumerate(self.keys):
            dname, iname = key.split(".", 1)
            self.weights[i, dim_of[i]] = model.indicator_weight(dname, iname)
        self.ind_w: Floats = self.weights.sum(axis=1)
        self.json_rows = JsonRows(self.keys, self.dimension_names)

    def score(
        self,
        account_id: str,
        signals: Mapping[str, Any] | None = None,
        indicator_scores: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> ScoreResult:
        """Score one account. Raises ScoringInputError naming the account and field."""
        return self.score_many([(account_id, signals, indicator_scores, attributes)])[0]

    def score_many(self, accounts: Sequence[AccountIn]) -> list[ScoreResult]:
        """Score a batch; raises ScoringInputError for the first bad account in order."""
        ids = [a[0] for a in accounts]
        signals = [_dict(a[1]) for a in accounts]
        given = [_dict(a[2]) for a in accounts]
        attributes = [_dict(a[3]) for a in accounts]
        batch = self.batch(ids, signals, given, attributes)
        values = self._indicator_values(batch)
        return self._combine(ids, values, self._placements(ids, attributes))

    def score_json(self, batch: Batch) -> bytes:
        """`orjson.dumps(r.as_dict())` of each account's result, ",\n"-joined, without
        the dicts. For callers that only print the results (`csbridge score`): several
        times faster."""
        columns = self._columns(self._indicator_values(batch))
        return self.json_rows.text(
            batch.ids, columns, self._placements(batch.ids, batch.attributes)
        )

    def batch(
        self,
        ids: Sequence[str],
        signals: Sequence[dict[str, Any]],
        given: Sequence[dict[str, Any]],
        attributes: Sequence[Mapping[str, Any]],
    ) -> Batch:
        """Accounts given as dicts, as a `Batch`."""
        signal_columns, errors = self.section(signals, "signals")
        given_columns, more = self.section(given, "indicator_scores")
        return Batch(ids, signal_columns, given_columns, attributes, tuple(errors + more))

    def section(self, dicts: Sequence[dict[str, Any]], name: str) -> tuple[list[Column], Errors]:
        """One section of many accounts (their signals, or their indicator scores) as a
        column per indicator, and (row, message) for keys the model does not know.

        Every value is read in one C-level pass over the dicts (keys, values and rows side
        by side), then grouped by indicator with a stable sort (rows stay in order).
        """
        n = len(self.keys)
        errors = self._unknown(dicts, name)
        # any other key (a dropped indicator, an unknown one) goes in column n
        column = np.fromiter(map(self.index.get, chain.from_iterable(dicts), repeat(n)), np.int16)
        raws = np.fromiter(
            chain.from_iterable(map(dict.values, dicts)), dtype=object, count=len(column)
        )
        rows = np.repeat(np.arange(len(dicts)), np.fromiter(map(len, dicts), np.intp))
        order = np.argsort(column, kind="stable")  # a radix sort
        ends = np.cumsum(np.bincount(column, minlength=n + 1)).tolist()
        raws, rows = raws[order], rows[order]
        columns: list[Column] = [
            (rows[start:end], raws[start:end].tolist())
            for start, end in zip([0, *ends[: n - 1]], ends[:n], strict=True)
        ]
        return columns, errors

    def _indicator_values(self, batch: Batch) -> Floats:
        """The B x n matrix of indicator scores (NaN where an indicator has no data)."""
        errors = list(batch.errors)
        values: Floats = np.full((len(batch.ids), len(self.keys)), np.nan)
        for i, key in enumerate(self.keys):
            rows, raws = batch.signals[i]
            if len(raws):
                values[rows, i] = self.scorers[i](raws, rows, f"signals.{key}", errors)
            rows, raws = batch.indicator_scores[i]
            if raws:
                checked = check_number(
                    raws, rows, f"indicator_scores.{key}", errors, bounds=(0.0, 100.0)
                )
                values[rows, i] = np.where(np.isnan(checked), values[rows, i], checked)
        if errors:
            r, message = min(errors)
            raise ScoringInputError(f"account {batch.ids[r]!r}: {message}", row=r)
        return values

    def _unknown(self, sections: Sequence[dict[str, Any]], name: str) -> Errors:
        """(row, message) for each account naming an indicator the model does not have."""
        accepted = self.accepted
        if all(map(le, map(dict.keys, sections), repeat(accepted))):
            return []
        errors = []
        for r, items in enumerate(sections):
            key = next((k for k in items if k not in accepted), None)
            if key is not None:
                errors.append((r, f"{name}.{key}: {self._unknown_hint(key)}"))
        return errors

    def _unknown_hint(self, key: str) -> str:
        dim = key.split(".", 1)[0]
        if dim in self.model.dimensions:
            known = ", ".join(f"{dim}.{k}" for k in self.model.dimensions[dim].indicators)
            hint = f"dimension {dim!r} has {known}"
        else:
            hint = f"dimensions are {', '.join(self.dimension_names)}"
        return f"unknown indicator for model {self.model.name!r} ({hint})"

    def _columns(self, values: Floats) -> Columns:
        """The batch's scores, dimensions and drivers as arrays (the model's maths)."""
        present = ~np.isnan(values)
        scored = values.copy()
        used = present
        if self.fill is not None:
            scored[~present] = self.fill
            used = np.ones_like(present)
        covered = present @ self.weights  # B x nd, share of each dimension with data
        w_sum = used @ self.weights
        ws_sum = np.where(used, scored, 0.0) @ self.weights
        has_dim = w_sum > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            dim_score = ws_sum / w_sum  # NaN where a dimension has no data
            total_w = has_dim @ self.dim_w
            eff_dim = np.where(has_dim, self.dim_w / total_w[:, None], 0.0)
            total = np.where(has_dim, dim_score, 0.0) @ self.dim_w / total_w
            # Effective weight of each indicator in the total, for the drivers.
            eff = eff_dim[:, self.dim_of] * self.ind_w / w_sum[:, self.dim_of]
            impact = np.where(used, eff * (scored - total[:, None]), np.nan)
        shown = np.round(total, 2)
        calibration = self.model.calibration
        return Columns(
            shown=shown,
            status=self._status(shown),
            coverage=np.round(covered @ self.dim_w, 4),
            dim_score=dim_score,
            eff_dim=eff_dim,
            covered=covered,
            drivers=pick_drivers(impact, scored, present, self.drivers_each_way),
            churn=None
            if calibration is None
            else np.round(churn_probability(calibration, shown), 4),
        )

    def _placements(
        self, ids: Sequence[str], attributes: Sequence[Mapping[str, Any]]
    ) -> list[Placement | None]:
        """Each account's segment placement; raises ScoringInputError for a bad attribute."""
        segments = self.model.segments
        if segments is None:
            return [None] * len(ids)
        fast = segments.place_fast(attributes)
        if fast is not None:
            return fast
        placements = []
        for r, (account_id, attrs) in enumerate(zip(ids, attributes, strict=True)):
            try:
                placements.append(segments.place(attrs) if attrs else None)
            except ValueError as exc:
                raise ScoringInputError(f"account {account_id!r}: {exc}", row=r) from None
        return placements

    def _combine(
        self, ids: list[str], values: Floats, placements: list[Placement | None]
    ) -> list[ScoreResult]:
        columns = self._columns(values)
        drivers = self._drivers(columns.drivers)
        dims = self._dimension_rows(columns.dimension_numbers())
        results = []
        keys = self.keys
        rows = values.tolist()
        shown, coverage = columns.shown.tolist(), columns.coverage.tolist()
        churn = None if columns.churn is None else columns.churn.tolist()
        for r, placed in enumerate(placements):
            s = shown[r]
            data: dict[str, Any] = {
                "id": ids[r],
                "score": None if s != s else s,
                "status": columns.status[r],
                "coverage": coverage[r],
                "segment": None,
                "dimensions": dims[r],
                "drivers": drivers[r],
            }
            if churn is not None:
                p = churn[r]
                data["churn_probability"] = None if p != p else p
            if placed is not None:
                data["segment"] = placed.cell.segment
                if placed.cell.accounts_per_csm is not None:
                    data["accounts_per_csm"] = placed.cell.accounts_per_csm
                if placed.note is not None:
                    data["segment_note"] = placed.note
            results.append(ScoreResult(data, keys, rows[r]))
        return results

    def _status(self, shown: Floats) -> list[str]:
        """Band names; the band is decided on the score as shown (two decimals)."""
        names = [b.name for b in self.model.bands]
        idx = band_indices(shown, self.model.bands).tolist()
        return ["no_data" if s != s else names[i] for s, i in zip(shown.tolist(), idx, strict=True)]

    def _dimension_rows(self, numbers: Floats) -> list[dict[str, dict[str, float | None]]]:
        """Each account's dimensions, built from flat columns (one comprehension, not B)."""
        flat = numbers.ravel().tolist()
        cells = [
            {"score": None if sc != sc else sc, "weight": we, "contribution": co, "coverage": cv}
            for sc, we, co, cv in zip(flat[0::4], flat[1::4], flat[2::4], flat[3::4], strict=True)
        ]
        names, nd = self.dimension_names, len(self.dimension_names)
        return [dict(zip(names, cells[s : s + nd], strict=True)) for s in range(0, len(cells), nd)]

    def _drivers(self, drivers: Drivers) -> list[list[dict[str, Any]]]:
        """Each account's drivers as the dicts of `ScoreResult.data`."""
        flat = [
            {"indicator": ind, "score": sc, "impact": im, "direction": "down" if dn else "up"}
            for ind, sc, im, dn in zip(
                map(self.keys.__getitem__, drivers.indicator),
                drivers.score.tolist(),
                drivers.impact.tolist(),
                drivers.down,
                strict=True,
            )
        ]
        for j in np.flatnonzero(drivers.imputed).tolist():
            flat[j]["imputed"] = True
        ends = drivers.ends
        return [flat[s:e] for s, e in zip([0, *ends[:-1]], ends, strict=True)]


def _dict(items: Mapping[str, Any] | None) -> dict[str, Any]:
    """A section as the plain dict the column reads need (EMPTY for none)."""
    if type(items) is dict:
        return items
    return dict(items) if items else EMPTY
