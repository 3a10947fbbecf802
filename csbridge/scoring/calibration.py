"""A model's `calibration:` block: from health score to churn probability within a horizon.

Written by `csbridge calibrate` (fitted out of fold on labelled history); when a model
carries one, `score` and `health` add `churn_probability` to each account.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

Floats = npt.NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogisticCalibration(_Strict):
    """probability = 1 / (1 + exp(-(intercept + slope × score))); a healthier score churns less."""

    method: Literal["logistic"]
    horizon_days: int = Field(gt=0)
    intercept: float
    slope: float = Field(le=0)


class IsotonicCalibration(_Strict):
    """Straight lines between (score, probability) points; flat beyond the first and last.

    Scores increase and probabilities never rise from one point to the next.
    """

    method: Literal["isotonic"]
    horizon_days: int = Field(gt=0)
    points: list[tuple[float, Annotated[float, Field(ge=0, le=1)]]]

    @model_validator(mode="after")
    def _monotone(self) -> IsotonicCalibration:
        if not self.points:
            raise ValueError("give at least one [score, probability] point")
        scores = [s for s, _ in self.points]
        probs = [p for _, p in self.points]
        if any(b <= a for a, b in pairwise(scores)):
            raise ValueError("point scores must increase")
        if any(b > a for a, b in pairwise(probs)):
            raise ValueError("probabilities must not rise as the score rises")
        return self


Calibration = Annotated[LogisticCalibration | IsotonicCalibration, Field(discriminator="method")]


def churn_probability(
    calibration: LogisticCalibration | IsotonicCalibration, score: Floats
) -> Floats:
    """The churn probability for each score (NaN stays NaN)."""
    if isinstance(calibration, LogisticCalibration):
        z = calibration.intercept + calibration.slope * score
        out: Floats = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        return out
    xs = np.array([s for s, _ in calibration.points])
    ps = np.array([p for _, p in calibration.points])
    result: Floats = np.where(np.isnan(score), np.nan, np.interp(score, xs, ps))
    return result
