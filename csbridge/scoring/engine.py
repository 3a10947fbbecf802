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
        calibration = self.model.calibration
        probability = (
            None
            if calibration is None
            else np.round(churn_probability(calibration, shown), 4).tolist()
        )
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
            if probability is not None:
                p = probability[r]
                data["churn_probability"] = None if p != p else p
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
        scores = np.round(dim_score, 2).tolist()
        weights = np.round(eff_dim, 4).tolist()
        contrib = np.round(np.nan_to_num(dim_score * eff_dim), 2).tolist()
        cover = np.round(covered, 4).tolist()
        names = self.dimension_names
        return [
            {
                name: {
                    "score": None if sc != sc else sc,
                    "weight": we,
                    "contribution": co,
                    "coverage": cv,
                }
                for name, sc, we, co, cv in zip(names, s, w, c, v, strict=True)
            }
            for s, w, c, v in zip(scores, weights, contrib, cover, strict=True)
        ]

    def _drivers(
        self, impact: Floats, scored: Floats, present: npt.NDArray[np.bool_]
    ) -> list[list[dict[str, Any]]]:
        """Indicators that pulled the score down or up most, per account.

        Impact is the indicator's effective weight times its distance from the account's
        own score, in points; impacts sum to zero over an account's indicators.
        """
        k = self.drivers_each_way
        order = np.argsort(np.nan_to_num(impact, nan=0.0), axis=1, kind="stable")
        pick = np.concatenate([order[:, :k], order[:, ::-1][:, :k]], axis=1)
        rows = np.arange(impact.shape[0])[:, None]
        chosen = np.round(impact[rows, pick], 2).tolist()
        chosen_scores = np.round(scored[rows, pick], 2).tolist()
        imputed = (~present[rows, pick]).tolist()
        keys = self.keys
        out = []
        for idx, imps, scs, imp_flags in zip(
            pick.tolist(), chosen, chosen_scores, imputed, strict=True
        ):
            drivers = []
            for j, i in enumerate(idx):
                x = imps[j]
                if (
                    x != x
                    or (j < k and x > -DRIVER_MIN_IMPACT)
                    or (j >= k and x < DRIVER_MIN_IMPACT)
                ):
                    continue
                d: dict[str, Any] = {
                    "indicator": keys[i],
                    "score": scs[j],
                    "impact": x,
                    "direction": "down" if j < k else "up",
                }
                if imp_flags[j]:
                    d["imputed"] = True
                drivers.append(d)
            out.append(drivers)
        return out
