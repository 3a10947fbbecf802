"""Touch-model segments: ARR tiers (one axis) or a two-axis matrix over account attributes.

Each axis reads one attribute, either categorical (`values`) or numeric (`bands`,
e.g. ARR). A cell names the segment and, optionally, the accounts one CSM carries.
A matrix may name tiers as its `fallback`: an account whose second attribute is
unknown (strategic fit, expansion potential: fields CSMs fill in over time) still gets
the segment its ARR gives, and the placement says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from csbridge.scoring.bands import Band, band_for, band_indices, check_bands

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
            return band_for(_number(raw, self.attribute), self.bands)
        if not isinstance(raw, str) or raw not in self.labels:
            raise ValueError(
                f"attributes.{self.attribute} is {raw!r}: use one of {', '.join(self.labels)}"
            )
        return raw

    def indices_fast(self, raws: Sequence[Any]) -> list[int | None] | None:
        """Each value's label index (None where unknown), or None when some value is not
        plainly valid: then `label_for` one by one says what is wrong."""
        if self.bands is not None:
            return _band_indices(raws, self.bands)
        position = {label: i for i, label in enumerate(self.labels)}
        try:
            return [None if raw is None else position[raw] for raw in raws]
        except (KeyError, TypeError):
            return None


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
        name = band_for(_number(raw, self.attribute), self.tiers)
        tier = next(t for t in self.tiers if t.name == name)
        return Placement(Cell(segment=name, accounts_per_csm=tier.accounts_per_csm))

    @cached_property
    def placements(self) -> list[Placement]:
        """One placement per tier, shared by every account placed there."""
        return [
            Placement(Cell(segment=t.name, accounts_per_csm=t.accounts_per_csm)) for t in self.tiers
        ]

    def place_fast(self, rows: Sequence[Mapping[str, Any]]) -> list[Placement | None] | None:
        """`place` over many accounts at once; None when a value needs `place`'s checks."""
        tiers = _band_indices([row.get(self.attribute) for row in rows], self.tiers)
        if tiers is None:
            return None
        placements = self.placements
        return [None if t is None else placements[t] for t in tiers]


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
        return Placement(placed.cell, self._note(missing))

    def _note(self, missing: str) -> str:
        assert self.fallback is not None
        return f"{missing} unknown: {self.fallback.attribute.upper()} tier ({self.fallback.name})"

    @cached_property
    def _grid(self) -> list[list[Placement]]:
        return [
            [Placement(self.cells[r][c]) for c in self.columns.labels] for r in self.rows.labels
        ]

    def place_fast(self, rows: Sequence[Mapping[str, Any]]) -> list[Placement | None] | None:
        """`place` over many accounts at once; None when a value needs `place`'s checks."""
        row_raws = [_known(row.get(self.rows.attribute)) for row in rows]
        col_raws = [_known(row.get(self.columns.attribute)) for row in rows]
        both = [r is not None and c is not None for r, c in zip(row_raws, col_raws, strict=True)]
        row_idx = self.rows.indices_fast(
            [r if b else None for r, b in zip(row_raws, both, strict=True)]
        )
        col_idx = self.columns.indices_fast(
            [c if b else None for c, b in zip(col_raws, both, strict=True)]
        )
        if row_idx is None or col_idx is None:
            return None
        grid = self._grid
        out: list[Placement | None] = [
            None if ri is None or ci is None else grid[ri][ci]
            for ri, ci in zip(row_idx, col_idx, strict=True)
        ]
        if self.fallback is None or all(both):
            return out
        rest = [r for r, b in enumerate(both) if not b]
        tiers = self.fallback.place_fast([rows[r] for r in rest])
        if tiers is None:
            return None
        notes = {
            attribute: [Placement(p.cell, self._note(attribute)) for p in self.fallback.placements]
            for attribute in (self.columns.attribute, self.rows.attribute)
        }
        cells = {id(p.cell): i for i, p in enumerate(self.fallback.placements)}
        for r, placed in zip(rest, tiers, strict=True):
            if placed is not None:
                missing = self.columns.attribute if col_raws[r] is None else self.rows.attribute
                out[r] = notes[missing][cells[id(placed.cell)]]
        return out


def _number(raw: Any, attribute: str) -> float:
    """A numeric attribute as a float; ValueError unless it is a finite int or float."""
    if not isinstance(raw, bool) and isinstance(raw, int | float):
        try:
            number = float(raw)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise ValueError(f"attributes.{attribute} must be a number, got {raw!r}")


def _band_indices(raws: Sequence[Any], bands: Sequence[Band]) -> list[int | None] | None:
    """Each number's band index (None where the value is None); None when some value is
    not a plain finite int or float (a bool, a text, NaN, an integer too large)."""
    if not set(map(type, raws)) <= {int, float, type(None)}:
        return None
    try:
        values = np.array([math.nan if raw is None else raw for raw in raws], dtype=np.float64)
    except OverflowError:
        return None
    known = [raw is not None for raw in raws]
    if not np.isfinite(values[np.array(known, dtype=bool)]).all():
        return None
    indices = band_indices(values, bands).tolist()
    return [i if k else None for i, k in zip(indices, known, strict=True)]


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
