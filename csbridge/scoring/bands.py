"""Ordered bands over a number: status bands of a score, ARR bands of a segment axis."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, model_validator


class Band(BaseModel):
    """A named band. `up_to` includes its bound, `below` excludes it; the last has neither."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    up_to: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if self.up_to is not None and self.below is not None:
            raise ValueError(f"band {self.name!r}: give up_to or below, not both")
        return self

    @property
    def bound(self) -> float | None:
        return self.up_to if self.up_to is not None else self.below


def check_bands(bands: Sequence[Band]) -> None:
    """Raise ValueError unless bounds increase and only the last band is open."""
    if not bands:
        raise ValueError("give at least one band")
    *bounded, last = bands
    if last.bound is not None:
        raise ValueError(f"the last band ({last.name!r}) takes no bound: it covers the rest")
    bounds = []
    for band in bounded:
        if band.bound is None:
            raise ValueError(f"band {band.name!r} needs up_to or below (only the last has none)")
        bounds.append(band.bound)
    if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise ValueError("band bounds must increase from the first band to the last")


def band_for(value: float, bands: Sequence[Band]) -> str:
    """The name of the first band that holds `value`."""
    for band in bands:
        if band.up_to is not None:
            if value <= band.up_to:
                return band.name
        elif band.below is not None:
            if value < band.below:
                return band.name
        else:
            return band.name
    raise AssertionError("validated bands always end with an open band")


def band_indices(values: npt.NDArray[np.float64], bands: Sequence[Band]) -> npt.NDArray[np.intp]:
    """`band_for` over an array: the index of each value's band (NaN falls in the last)."""
    idx = np.full(values.shape, len(bands) - 1, dtype=np.intp)
    for b in range(len(bands) - 2, -1, -1):
        band = bands[b]
        if band.up_to is not None:
            idx[values <= band.up_to] = b
        elif band.below is not None:
            idx[values < band.below] = b
    return idx
