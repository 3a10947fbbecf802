"""A scored account: the JSON shape of `csbridge score`, with typed accessors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


class ScoreResult:
    """One account's health score, with everything needed to explain it.

    `data` is the account's entry in `csbridge score`'s JSON output; the properties
    read it.
    """

    __slots__ = ("_keys", "_values", "data")

    def __init__(self, data: dict[str, Any], keys: list[str], values: list[float]):
        self.data = data
        self._keys = keys
        self._values = values  # one per indicator of the model, NaN without data

    @property
    def indicator_scores(self) -> dict[str, float]:
        """The 0-100 score of each indicator that had data (imputed ones excluded)."""
        return {k: v for k, v in zip(self._keys, self._values, strict=True) if v == v}

    def __repr__(self) -> str:
        return f"ScoreResult({self.account_id!r}, score={self.score}, status={self.status!r})"

    def as_dict(self) -> dict[str, Any]:
        return self.data

    @property
    def account_id(self) -> str:
        return str(self.data["id"])

    @property
    def score(self) -> float | None:
        score: float | None = self.data["score"]
        return score

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def coverage(self) -> float:
        return float(self.data["coverage"])

    @property
    def segment(self) -> str | None:
        segment: str | None = self.data["segment"]
        return segment

    @property
    def segment_note(self) -> str | None:
        """Set when the segment came from the fallback tiers (an attribute was unknown)."""
        note: str | None = self.data.get("segment_note")
        return note

    @property
    def accounts_per_csm(self) -> int | None:
        ratio: int | None = self.data.get("accounts_per_csm")
        return ratio

    @property
    def dimensions(self) -> tuple[DimensionResult, ...]:
        return tuple(
            DimensionResult(name, d["score"], d["weight"], d["contribution"], d["coverage"])
            for name, d in self.data["dimensions"].items()
        )

    @property
    def drivers(self) -> tuple[Driver, ...]:
        return tuple(
            Driver(d["indicator"], d["score"], d["impact"], d.get("imputed", False))
            for d in self.data["drivers"]
        )
