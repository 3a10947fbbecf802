"""The scoring engine: raw signals and indicator scores → an explained health score.

Pure: no I/O and no clock. A model is compiled once into flat tables so that scoring
an account is a couple of tight loops (see bench/score_throughput.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from csbridge.errors import CsbridgeError
from csbridge.scoring.bands import band_for
from csbridge.scoring.model import LinearTransform, ScoringModel, TableTransform

NEUTRAL_SCORE = 50.0
DRIVERS_EACH_WAY = 3


class ScoringInputError(CsbridgeError):
    """An account's input cannot be scored; the message names the account and field."""


@dataclass(frozen=True, slots=True)
class DimensionResult:
    name: str
    score: float | None
    weight: float
    contribution: float
    coverage: float


@dataclass(frozen=True, slots=True)
class Driver:
    indicator: str
    score: float
    impact: float
    imputed: bool = False

    @property
    def direction(self) -> str:
        return "down" if self.impact < 0 else "up"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """One account's health score, with everything needed to explain it."""

    account_id: str
    score: float | None
    status: str
    coverage: float
    segment: str | None
    accounts_per_csm: int | None
    dimensions: tuple[DimensionResult, ...]
    drivers: tuple[Driver, ...]
    indicator_scores: dict[str, float] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `csbridge score`."""
        out: dict[str, Any] = {
            "id": self.account_id,
            "score": self.score,
            "status": self.status,
            "coverage": self.coverage,
            "segment": self.segment,
            "dimensions": {
                d.name: {
                    "score": d.score,
                    "weight": d.weight,
                    "contribution": d.contribution,
                    "coverage": d.coverage,
                }
                for d in self.dimensions
            },
            "drivers": [
                {"indicator": d.indicator, "score": d.score, "impact": d.impact}
                | {"direction": d.direction}
                | ({"imputed": True} if d.imputed else {})
                for d in self.drivers
            ],
        }
        if self.accounts_per_csm is not None:
            out["accounts_per_csm"] = self.accounts_per_csm
        return out


Scorer = Callable[[Any], float]


def _linear(t: LinearTransform) -> Scorer:
    zero_at, span, floor = t.zero_at, t.full_at - t.zero_at, t.floor
    top = 100.0 - floor

    def score(raw: Any) -> float:
        x = _number(raw)
        frac = (x - zero_at) / span
        if frac <= 0.0:
            return floor
        if frac >= 1.0:
            return 100.0
        return floor + top * frac

    return score


def _table(t: TableTransform) -> Scorer:
    values = dict(t.values)
    bins = sorted(((bound, cat) for cat, bound in (t.bins or {}).items()), reverse=True)
    accepted = ", ".join(values) + (" or a number" if bins else "")

    def score(raw: Any) -> float:
        if isinstance(raw, str):
            if raw in values:
                return values[raw]
        elif bins and not isinstance(raw, bool) and isinstance(raw, int | float):
            x = _number(raw)
            for bound, cat in bins:
                if x >= bound:
                    return values[cat]
            raise ValueError(f"is {raw!r}, below the lowest category ({bins[-1][0]:g})")
        raise ValueError(f"is {raw!r}: use one of {accepted}")

    return score


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"is {raw!r}, not a number: give a number")
    if not math.isfinite(raw):
        raise ValueError(f"is {raw!r}: give a finite number")
    return float(raw)


class Engine:
    """A compiled scoring model. `score()` is pure and safe to call from many threads."""

    def __init__(self, model: ScoringModel, *, drivers_each_way: int = DRIVERS_EACH_WAY):
        self.model = model
        self.model_hash = model.model_hash()
        self.drivers_each_way = drivers_each_way
        self.policy = model.missing_data
        self.dimension_names = list(model.dimensions)
        self.dimension_weights = [d.weight / 100.0 for d in model.dimensions.values()]
        self.keys: list[str] = []
        self.dim_of: list[int] = []
        self.weights: list[float] = []
        self.scorers: list[Scorer] = []
        for di, (dname, dim) in enumerate(model.dimensions.items()):
            for iname, ind in dim.indicators.items():
                self.keys.append(f"{dname}.{iname}")
                self.dim_of.append(di)
                self.weights.append(model.indicator_weight(dname, iname))
                t = ind.transform
                self.scorers.append(_linear(t) if isinstance(t, LinearTransform) else _table(t))
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.bands = model.bands

    def score(
        self,
        account_id: str,
        signals: Mapping[str, Any] | None = None,
        indicator_scores: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> ScoreResult:
        """Score one account. Raises ScoringInputError naming the account and field."""
        n = len(self.keys)
        values: list[float | None] = [None] * n
        for key, raw in (signals or {}).items():
            i = self._index(account_id, "signals", key)
            try:
                values[i] = self.scorers[i](raw)
            except ValueError as exc:
                raise ScoringInputError(f"account {account_id!r}: signals.{key} {exc}") from None
        for key, raw in (indicator_scores or {}).items():
            i = self._index(account_id, "indicator_scores", key)
            values[i] = _indicator_score(account_id, key, raw)
        return self._combine(account_id, values, attributes or {})

    def _index(self, account_id: str, section: str, key: str) -> int:
        i = self.index.get(key)
        if i is None:
            dim = key.split(".", 1)[0]
            if dim in self.model.dimensions:
                known = ", ".join(f"{dim}.{k}" for k in self.model.dimensions[dim].indicators)
                hint = f"dimension {dim!r} has {known}"
            else:
                hint = f"dimensions are {', '.join(self.dimension_names)}"
            raise ScoringInputError(
                f"account {account_id!r}: {section}.{key}: unknown indicator for model "
                f"{self.model.name!r} ({hint})"
            )
        return i

    def _combine(
        self, account_id: str, values: list[float | None], attributes: Mapping[str, Any]
    ) -> ScoreResult:
        nd = len(self.dimension_names)
        w_sum = [0.0] * nd
        ws_sum = [0.0] * nd
        covered = [0.0] * nd
        imputed: list[bool] = [False] * len(values)
        fill = {"neutral": NEUTRAL_SCORE, "zero": 0.0}.get(self.policy)
        dim_of, weights = self.dim_of, self.weights
        for i, v in enumerate(values):
            d, w = dim_of[i], weights[i]
            if v is None:
                if fill is None:
                    continue
                v = values[i] = fill
                imputed[i] = True
            else:
                covered[d] += w
            w_sum[d] += w
            ws_sum[d] += w * v

        dim_scores: list[float | None] = [
            ws_sum[d] / w_sum[d] if w_sum[d] > 0 else None for d in range(nd)
        ]
        total_w = sum(self.dimension_weights[d] for d in range(nd) if dim_scores[d] is not None)
        coverage = sum(self.dimension_weights[d] * covered[d] for d in range(nd))
        total: float | None = None
        if total_w > 0:
            total = sum(
                self.dimension_weights[d] * s for d, s in enumerate(dim_scores) if s is not None
            )
            total /= total_w

        dimensions = tuple(
            DimensionResult(
                name=self.dimension_names[d],
                score=None if s is None else round(s, 2),
                weight=round(self.dimension_weights[d] / total_w, 4) if s is not None else 0.0,
                contribution=(
                    round(s * self.dimension_weights[d] / total_w, 2) if s is not None else 0.0
                ),
                coverage=round(covered[d], 4),
            )
            for d, s in enumerate(dim_scores)
        )
        shown = None if total is None else round(total, 2)
        status = "no_data" if shown is None else band_for(shown, self.bands)
        drivers = self._drivers(values, imputed, w_sum, total_w, total)
        cell = None
        if self.model.segments is not None:
            try:
                cell = self.model.segments.segment_for(dict(attributes))
            except ValueError as exc:
                raise ScoringInputError(f"account {account_id!r}: {exc}") from None
        return ScoreResult(
            account_id=account_id,
            score=shown,
            status=status,
            coverage=round(coverage, 4),
            segment=cell.segment if cell else None,
            accounts_per_csm=cell.accounts_per_csm if cell else None,
            dimensions=dimensions,
            drivers=drivers,
            indicator_scores={
                self.keys[i]: v for i, v in enumerate(values) if v is not None and not imputed[i]
            },
        )

    def _drivers(
        self,
        values: list[float | None],
        imputed: list[bool],
        w_sum: list[float],
        total_w: float,
        total: float | None,
    ) -> tuple[Driver, ...]:
        """Indicators that pulled the score down or up most.

        Impact is the indicator's effective weight times its distance from the account's
        own score, in score points; impacts sum to zero over an account's indicators.
        """
        if total is None:
            return ()
        impacts: list[tuple[float, int]] = []
        for i, v in enumerate(values):
            if v is None:
                continue
            d = self.dim_of[i]
            eff = self.dimension_weights[d] / total_w * self.weights[i] / w_sum[d]
            impact = eff * (v - total)
            if abs(impact) >= 0.005:
                impacts.append((impact, i))
        impacts.sort()
        k = self.drivers_each_way
        down = [x for x in impacts[:k] if x[0] < 0]
        up = [x for x in reversed(impacts[-k:]) if x[0] > 0]
        return tuple(
            Driver(self.keys[i], round(values[i] or 0.0, 2), round(impact, 2), imputed[i])
            for impact, i in down + up
        )


def _indicator_score(account_id: str, key: str, raw: Any) -> float:
    where = f"account {account_id!r}: indicator_scores.{key}"
    try:
        x = _number(raw)
    except ValueError as exc:
        raise ScoringInputError(f"{where} {exc}") from None
    if not 0.0 <= x <= 100.0:
        raise ScoringInputError(f"{where} is {raw!r}: indicator scores are on 0-100")
    return x
