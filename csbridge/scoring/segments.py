"""Touch-model segments: ARR tiers (one axis) or a two-axis matrix over account attributes.

Each axis reads one attribute, either categorical (`values`) or numeric (`bands`,
e.g. ARR). A cell names the segment and, optionally, the accounts one CSM carries.
A matrix may name tiers as its `fallback`: an account whose second attribute is
unknown (strategic fit, expansion potential: fields CSMs fill in over time) still gets
the segment its ARR gives, and the placement says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from csbridge.scoring.bands import Band, band_for, check_bands

SEGMENT_PRESETS = ("arr-fit", "value-potential", "arr-tier", "arr-touch")


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


@dataclass(frozen=True)
class Placement:
    """The segment an account falls in; `note` says when it came from the fallback tiers."""

    cell: Cell
    note: str | None = None


class Tier(Band):
    """An ARR (or other numeric) band that is a segment of its own."""

    accounts_per_csm: int | None = Field(None, gt=0)


class SegmentTiers(BaseModel):
    """One axis: the band an attribute (ARR by default) falls in is the segment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    attribute: str = "arr"
    tiers: list[Tier]

    @model_validator(mode="after")
    def _ordered(self) -> SegmentTiers:
        check_bands(self.tiers)
        return self

    def segment_names(self) -> list[str]:
        return [tier.name for tier in self.tiers]

    def place(self, attributes: Mapping[str, Any]) -> Placement | None:
        """The tier for these attributes, or None when the attribute is absent."""
        raw = attributes.get(self.attribute)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ValueError(f"attributes.{self.attribute} must be a number, got {raw!r}")
        name = band_for(float(raw), self.tiers)
        tier = next(t for t in self.tiers if t.name == name)
        return Placement(Cell(segment=name, accounts_per_csm=tier.accounts_per_csm))


class SegmentMatrix(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rows: Axis
    columns: Axis
    cells: dict[str, dict[str, Cell]]
    fallback: SegmentTiers | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_cells(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("fallback"), str):
            data = dict(data)
            name = data["fallback"]
            try:
                data["fallback"] = load_segment_preset(name)
            except KeyError:
                raise ValueError(
                    f"fallback: unknown segment preset {name!r}: use one of "
                    f"{', '.join(SEGMENT_PRESETS)}"
                ) from None
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

    def segment_names(self) -> list[str]:
        names = [cell.segment for row in self.cells.values() for cell in row.values()]
        if self.fallback is not None:
            names += self.fallback.segment_names()
        return list(dict.fromkeys(names))

    def place(self, attributes: Mapping[str, Any]) -> Placement | None:
        """The cell for these attributes; the fallback tiers when one axis is unknown.

        None when neither the matrix nor its fallback can place the account.
        """
        row_raw = _known(attributes.get(self.rows.attribute))
        col_raw = _known(attributes.get(self.columns.attribute))
        if row_raw is not None and col_raw is not None:
            row = self.rows.label_for(row_raw)
            return Placement(self.cells[row][self.columns.label_for(col_raw)])
        if self.fallback is None:
            return None
        placed = self.fallback.place(attributes)
        if placed is None:
            return None
        missing = self.columns.attribute if col_raw is None else self.rows.attribute
        note = f"{missing} unknown: {self.fallback.attribute.upper()} tier ({self.fallback.name})"
        return Placement(placed.cell, note)


def _known(raw: Any) -> Any:
    """An attribute value, or None when it is absent or an empty text (a blank CRM field)."""
    if isinstance(raw, str) and not raw.strip():
        return None
    return raw


def load_segment_preset(name: str) -> dict[str, Any]:
    """The raw mapping of a bundled segment preset; KeyError when unknown."""
    if name not in SEGMENT_PRESETS:
        raise KeyError(name)
    files = resources.files("csbridge.scoring.segment_presets")
    data: dict[str, Any] = yaml.safe_load(files.joinpath(f"{name}.yaml").read_text())
    return data
