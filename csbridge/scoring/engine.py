"""The scoring engine: raw signals and indicator scores → an explained health score.

Pure: no I/O and no clock. A model is compiled once into weight matrices; accounts
are scored in batches with numpy (one row per account, one column per indicator),
so the per-account Python work is only reading the input and shaping the output
(see bench/score_throughput.py). `score()` is a batch of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from csbridge.scoring.transforms import check_number, column_scorer

NEUTRAL_SCORE = 50.0
DRIVERS_EACH_WAY = 3

Floats = npt.NDArray[np.float64]
AccountIn = tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None, Mapping[str, Any] | None]
"""(id, signals, indicator_scores, attributes)."""


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
        self.dropped = frozenset(model.dropped_indicators)
        transforms = [
            ind.transform for dim in model.dimensions.values() for ind in dim.indicators.values()
        ]
        self.scorers = [column_scorer(t) for t in transforms]
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
        values = self._indicator_values(accounts, ids)
        return self._combine(accounts, ids, values)

    def score_json(self, accounts: Sequence[AccountIn]) -> bytes:
        """`orjson.dumps(r.as_dict())` of each of `score_many(accounts)`, ",\n"-joined,
        without the dicts. For callers that only print the results (`csbridge score`):
        several times faster."""
        ids = [a[0] for a in accounts]
        columns = self._columns(self._indicator_values(accounts, ids))
        return self.json_rows.text(ids, columns, self._placements(accounts))

    def _indicator_values(self, accounts: Sequence[AccountIn], ids: list[str]) -> Floats:
        """The B x n matrix of indicator scores (NaN where an indicator has no data)."""
        n = len(self.keys)
        errors: list[tuple[int, str]] = []
        columns: list[tuple[list[int], list[Any]]] = [([], []) for _ in range(2 * n)]
        index = self.index
        dropped = self.dropped
        for r, (_, signals, given, _attrs) in enumerate(accounts):
            for offset, section, items in ((0, "signals", signals), (n, "indicator_scores", given)):
                if not items:
                    continue
                for key, raw in items.items():
                    i = index.get(key)
                    if i is None:
                        if key in dropped:
                            continue
                        errors.append((r, f"{section}.{key}: {self._unknown_hint(key)}"))
                        break
                    rows, raws = columns[offset + i]
                    rows.append(r)
                    raws.append(raw)
        values: Floats = np.full((len(accounts), n), np.nan)
        for i in range(n):
            rows, raws = columns[i]
            if rows:
                values[rows, i] = self.scorers[i](raws, rows, f"signals.{self.keys[i]}", errors)
            rows, raws = columns[n + i]
            if rows:
                values[rows, i] = check_number(
                    raws, rows, f"indicator_scores.{self.keys[i]}", errors, bounds=(0.0, 100.0)
                )
        if errors:
            r, message = min(errors)
            raise ScoringInputError(f"account {ids[r]!r}: {message}", row=r)
        return values

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

    def _placements(self, accounts: Sequence[AccountIn]) -> list[Placement | None]:
        """Each account's segment placement; raises ScoringInputError for a bad attribute."""
        segments = self.model.segments
        if segments is None:
            return [None] * len(accounts)
        fast = segments.place_fast([account[3] or {} for account in accounts])
        if fast is not None:
            return fast
        placements = []
        for r, (account_id, _, _, attributes) in enumerate(accounts):
            try:
                placements.append(segments.place(attributes) if attributes else None)
            except ValueError as exc:
                raise ScoringInputError(f"account {account_id!r}: {exc}", row=r) from None
        return placements

    def _combine(
        self, accounts: Sequence[AccountIn], ids: list[str], values: Floats
    ) -> list[ScoreResult]:
        columns = self._columns(values)
        placements = self._placements(accounts)
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
