"""Touch-model segments: a two-axis matrix over account attributes.

Each axis reads one attribute, either categorical (`values`) or numeric (`bands`,
e.g. ARR). A cell names the segment and, optionally, the accounts one CSM carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from csbridge.scoring.bands import Band, band_for, check_bands

SEGMENT_PRESETS = ("arr-fit", "value-potential")


class Axis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str
    values: list[str] | None = None
    bands: list[Band] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Axis:
        if (self.values is None) == (self.bands is None):
            raise ValueError(f"axis {self.attribute!r}: give either values or bands")
        if self.bands is not None:
            check_bands(self.bands)
        return self

    @cached_property
    def labels(self) -> list[str]:
        return self.values if self.values is not None else [b.name for b in self.bands or []]

    def label_for(self, raw: Any) -> str:
        """The axis label of an attribute value; ValueError names what is accepted."""
        if self.bands is not None:
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
                raise ValueError(f"attributes.{self.attribute} must be a number, got {raw!r}")
            return band_for(float(raw), self.bands)
        if not isinstance(raw, str) or raw not in self.labels:
            raise ValueError(
                f"attributes.{self.attribute} is {raw!r}: use one of {', '.join(self.labels)}"
            )
        return raw


class Cell(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segment: str
    accounts_per_csm: int | None = Field(None, gt=0)


class SegmentMatrix(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rows: Axis
    columns: Axis
    cells: dict[str, dict[str, Cell]]

    @model_validator(mode="before")
    @classmethod
    def _plain_cells(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("cells"), dict):
            data = dict(data)
            data["cells"] = {
                row: {
                    col: {"segment": cell} if isinstance(cell, str) else cell
                    for col, cell in (cols or {}).items()
                }
                for row, cols in data["cells"].items()
            }
        return data

    @model_validator(mode="after")
    def _complete(self) -> SegmentMatrix:
        for row in self.rows.labels:
            cols = self.cells.get(row)
            if cols is None:
                raise ValueError(f"cells: row {row!r} is missing")
            missing = [c for c in self.columns.labels if c not in cols]
            if missing:
                raise ValueError(f"cells.{row}: columns missing: {', '.join(missing)}")
        return self

    def segment_for(self, attributes: Mapping[str, Any]) -> Cell | None:
        """The cell for these attributes, or None when an axis attribute is absent."""
        row_raw = attributes.get(self.rows.attribute)
        col_raw = attributes.get(self.columns.attribute)
        if row_raw is None or col_raw is None:
            return None
        return self.cells[self.rows.label_for(row_raw)][self.columns.label_for(col_raw)]


def load_segment_preset(name: str) -> dict[str, Any]:
    """The raw mapping of a bundled segment preset; KeyError when unknown."""
    if name not in SEGMENT_PRESETS:
        raise KeyError(name)
    files = resources.files("csbridge.scoring.segment_presets")
    data: dict[str, Any] = yaml.safe_load(files.joinpath(f"{name}.yaml").read_text())
    return data
