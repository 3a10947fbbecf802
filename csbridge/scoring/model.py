"""Scoring models: the YAML schema (validated with pydantic) and how to load one.

A model is dimensions (weights summing to 100) of indicators (weights summing to 100
inside their dimension, or omitted to weigh equally), each with a transform that turns
a raw signal into 0-100; status bands; a missing-data policy; a segment matrix; and
optionally a calibration from score to churn probability.
"""

from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from csbridge.errors import CsbridgeError
from csbridge.scoring.bands import Band, check_bands
from csbridge.scoring.calibration import Calibration
from csbridge.scoring.segments import SegmentMatrix, SegmentTiers, load_segment_preset

WEIGHT_TOLERANCE = 1e-6
PRESETS = ("seed-5d", "seed-6d")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearTransform(_Strict):
    """Linear between `zero_at` (score `floor`) and `full_at` (score 100), clamped.

    `zero_at` may be above `full_at` for indicators where less is better.
    """

    type: Literal["linear"]
    zero_at: float
    full_at: float
    floor: float = Field(0.0, ge=0, lt=100)

    @model_validator(mode="after")
    def _distinct_anchors(self) -> LinearTransform:
        if self.zero_at == self.full_at:
            raise ValueError("zero_at and full_at must differ")
        return self


class TableTransform(_Strict):
    """A score per category (`values`); `bins` optionally maps a number to a category.

    `bins` gives each category its lower bound: a number takes the category with the
    greatest bound not above it (NPS: detractor 0, passive 7, promoter 9).
    """

    type: Literal["table"]
    values: dict[str, Annotated[float, Field(ge=0, le=100)]]
    bins: dict[str, float] | None = None

    @model_validator(mode="after")
    def _bins_name_known_values(self) -> TableTransform:
        if not self.values:
            raise ValueError("values must list at least one category")
        unknown = sorted(set(self.bins or {}) - set(self.values))
        if unknown:
            raise ValueError(f"bins name categories missing from values: {', '.join(unknown)}")
        return self


Transform = Annotated[LinearTransform | TableTransform, Field(discriminator="type")]


class Indicator(_Strict):
    """`label` and `unit` are what a CSM reads in the CRM's "why" text (default: the key)."""

    weight: float | None = Field(None, gt=0, le=100)
    transform: Transform
    description: str = ""
    label: str | None = None
    unit: str | None = None


class Dimension(_Strict):
    weight: float = Field(gt=0, le=100)
    indicators: dict[str, Indicator]
    label: str | None = None

    @field_validator("indicators")
    @classmethod
    def _weights(cls, indicators: dict[str, Indicator]) -> dict[str, Indicator]:
        if not indicators:
            raise ValueError("a dimension needs at least one indicator")
        given = [i.weight for i in indicators.values() if i.weight is not None]
        if given and len(given) != len(indicators):
            raise ValueError("give every indicator a weight, or none (they then weigh equally)")
        if given and not math.isclose(sum(given), 100, abs_tol=WEIGHT_TOLERANCE):
            raise ValueError(f"indicator weights sum to {sum(given):g}, not 100")
        return indicators


def _segments_kind(data: Any) -> str:
    """Tiers (one axis, `tiers:`) or a matrix (`rows:` and `columns:`)."""
    has_tiers = "tiers" in data if isinstance(data, dict) else hasattr(data, "tiers")
    return "tiers" if has_tiers else "matrix"


Segments = Annotated[
    Annotated[SegmentMatrix, Tag("matrix")] | Annotated[SegmentTiers, Tag("tiers")],
    Discriminator(_segments_kind),
]


class ScoringModel(_Strict):
    name: str
    description: str = ""
    missing_data: Literal["renormalise", "neutral", "zero"] = "renormalise"
    dimensions: dict[str, Dimension]
    bands: list[Band]
    segments: Segments | None = None
    calibration: Calibration | None = None
    dropped_indicators: tuple[str, ...] = ()
    """Indicators (`dimension.indicator`) a calibration removed: their signals are accepted
    and ignored rather than refused as unknown, so the same inputs score with either model."""

    @field_validator("dimensions")
    @classmethod
    def _dimension_weights(cls, dimensions: dict[str, Dimension]) -> dict[str, Dimension]:
        if not dimensions:
            raise ValueError("a model needs at least one dimension")
        total = sum(d.weight for d in dimensions.values())
        if not math.isclose(total, 100, abs_tol=WEIGHT_TOLERANCE):
            raise ValueError(f"dimension weights sum to {total:g}, not 100")
        return dimensions

    @field_validator("bands")
    @classmethod
    def _bands_ordered(cls, bands: list[Band]) -> list[Band]:
        check_bands(bands)
        return bands

    @model_validator(mode="after")
    def _dropped_are_gone(self) -> ScoringModel:
        keys = {f"{d}.{i}" for d, dim in self.dimensions.items() for i in dim.indicators}
        still = sorted(keys.intersection(self.dropped_indicators))
        if still:
            raise ValueError(f"dropped_indicators: {still[0]} is still an indicator of the model")
        return self

    def indicator_weight(self, dimension: str, indicator: str) -> float:
        """The indicator's weight inside its dimension, as a share (0-1)."""
        indicators = self.dimensions[dimension].indicators
        weight = indicators[indicator].weight
        return 1.0 / len(indicators) if weight is None else weight / 100.0

    def model_hash(self) -> str:
        """A short, stable digest of everything that changes a score."""
        data = self.model_dump(mode="json")
        for key in ("calibration", "dropped_indicators"):
            if not data[key]:
                del data[key]  # models without them keep the hash they always had
        for dimension in data["dimensions"].values():  # words for people, not the score
            dimension.pop("label", None)
            for indicator in dimension["indicators"].values():
                indicator.pop("label", None)
                indicator.pop("unit", None)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_model(ref: str) -> ScoringModel:
    """Load a preset by name (`seed-5d`, `seed-6d`) or a model from a YAML file path."""
    if ref in PRESETS:
        text = resources.files("csbridge.scoring.presets").joinpath(f"{ref}.yaml").read_text()
        return parse_model(text, source=f"preset {ref}")
    path = Path(ref)
    if not path.suffix and not path.exists():
        raise CsbridgeError(
            f"unknown model preset {ref!r}: use one of {', '.join(PRESETS)} "
            "or a path to a YAML file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CsbridgeError(f"{ref}: cannot read the model file ({exc.strerror})") from None
    return parse_model(text, source=ref)


def parse_model(text: str, *, source: str) -> ScoringModel:
    """Validate a model's YAML text; errors name `source` and the offending field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CsbridgeError(f"{source}: invalid YAML{where}: fix the syntax") from None
    if not isinstance(data, dict):
        raise CsbridgeError(f"{source}: a model is a YAML mapping with name, dimensions, bands")
    if isinstance(data.get("segments"), str):
        data["segments"] = _segment_preset(data["segments"], source)
    try:
        return ScoringModel.model_validate(data)
    except ValidationError as exc:
        raise CsbridgeError(f"{source}: {_first_error(exc)}") from None


def _segment_preset(name: str, source: str) -> dict[str, Any]:
    try:
        return load_segment_preset(name)
    except KeyError:
        raise CsbridgeError(f"{source}: segments: unknown segment preset {name!r}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-"))
    message = str(err["msg"]).removeprefix("Value error, ")
    extra = len(exc.errors()) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    return f"{loc or 'model'}: {message}{more}"
