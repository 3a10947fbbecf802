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
from csbridge.scoring.model import ScoringModel
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.transforms import check_number, column_scorer

NEUTRAL_SCORE = 50.0
DRIVERS_EACH_WAY = 3
DRIVER_MIN_IMPACT = 0.005

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

    def _indicator_values(self, accounts: Sequence[AccountIn], ids: list[str]) -> Floats:
        """The B x n matrix of indicator scores (NaN where an indicator has no data)."""
        n = len(self.keys)
        errors: list[tuple[int, str]] = []
        columns: list[tuple[list[int], list[Any]]] = [([], []) for _ in range(2 * n)]
        index = self.index
        for r, (_, signals, given, _attrs) in enumerate(accounts):
            for offset, section, items in ((0, "signals", signals), (n, "indicator_scores", given)):
                if not items:
                    continue
                for key, raw in items.items():
                    i = index.get(key)
                    if i is None:
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

    def _combine(
        self, accounts: Sequence[AccountIn], ids: list[str], values: Floats
    ) -> list[ScoreResult]:
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
        status = self._status(shown)
        coverage = np.round(covered @ self.dim_w, 4)
        drivers = self._drivers(impact, scored, present)
        dims = self._dimension_rows(dim_score, eff_dim, covered)
        segments = self.model.segments
        results = []
        keys = self.keys
        rows = values.tolist()
        for r, (account_id, _, _, attributes) in enumerate(accounts):
            s = shown[r]
            data: dict[str, Any] = {
                "id": account_id,
                "score": None if s != s else float(s),
                "status": status[r],
                "coverage": float(coverage[r]),
                "segment": None,
                "dimensions": dims[r],
                "drivers": drivers[r],
            }
            if segments is not None and attributes:
                try:
                    placed = segments.place(attributes)
                except ValueError as exc:
                    raise ScoringInputError(f"account {account_id!r}: {exc}", row=r) from None
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

    def _dimension_rows(
        self, dim_score: Floats, eff_dim: Floats, covered: Floats
    ) -> list[dict[str, dict[str, float | None]]]:
        """Each account's dimensions, built from flat columns (one comprehension, not B)."""
        cells = [
            {"score": None if sc != sc else sc, "weight": we, "contribution": co, "coverage": cv}
            for sc, we, co, cv in zip(
                np.round(dim_score, 2).ravel().tolist(),
                np.round(eff_dim, 4).ravel().tolist(),
                np.round(np.nan_to_num(dim_score * eff_dim), 2).ravel().tolist(),
                np.round(covered, 4).ravel().tolist(),
                strict=True,
            )
        ]
        names, nd = self.dimension_names, len(self.dimension_names)
        return [dict(zip(names, cells[s : s + nd], strict=True)) for s in range(0, len(cells), nd)]

    def _drivers(
        self, impact: Floats, scored: Floats, present: npt.NDArray[np.bool_]
    ) -> list[list[dict[str, Any]]]:
        """Indicators that pulled the score down or up most, per account.

        Impact is the indicator's effective weight times its distance from the account's
        own score, in points; impacts sum to zero over an account's indicators. The
        candidates are chosen and filtered as arrays; only the kept ones become dicts.
        """
        k = self.drivers_each_way
        order = np.argsort(np.nan_to_num(impact, nan=0.0), axis=1, kind="stable")
        pick = np.concatenate([order[:, :k], order[:, ::-1][:, :k]], axis=1)
        rows = np.arange(impact.shape[0])[:, None]
        chosen = np.round(impact[rows, pick], 2)
        down = np.arange(pick.shape[1]) < k
        with np.errstate(invalid="ignore"):
            keep = np.where(down, chosen <= -DRIVER_MIN_IMPACT, chosen >= DRIVER_MIN_IMPACT)
        flat = [
            {"indicator": ind, "score": sc, "impact": im, "direction": di}
            for ind, sc, im, di in zip(
                map(self.keys.__getitem__, pick[keep].tolist()),
                np.round(scored[rows, pick], 2)[keep].tolist(),
                chosen[keep].tolist(),
                np.where(down, "down", "up")[np.nonzero(keep)[1]].tolist(),
                strict=True,
            )
        ]
        for j in np.flatnonzero(~present[rows, pick][keep]).tolist():
            flat[j]["imputed"] = True
        ends = np.cumsum(keep.sum(axis=1)).tolist()
        return [flat[s:e] for s, e in zip([0, *ends[:-1]], ends, strict=True)]
