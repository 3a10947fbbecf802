"""The "why" of a score in plain words, for the CRM: where the points were lost. Pure.

Each indicator with data lost `share × (100 − its score)` points, where `share` is its
weight in the total (dimension weight × indicator weight inside the dimension). The
text names dimensions in the order of the points they lost, each with its score and
its weakest indicators with the raw value behind them, e.g.
"Usage 12/100: DAU/MAU (4%, 0/100), seats used (10%, 0/100). Satisfaction 35/100: NPS
(3 (detractor), 0/100)". A value a source gave as is rather than csbridge computing it
or reading it from a CRM field (`CustomerSignals.given_by`) names that source:
"oldest invoice overdue (45 days, warehouse, 25/100)". Indicator keys never appear raw:
the model's `label` (or the key in words) is used, and the text stops at a whole item
within `limit` characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from csbridge.scoring.model import Indicator, LinearTransform, ScoringModel, TableTransform
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.signal_types import SignalValue

TEXT_LIMIT = 255  # a Salesforce text field
PER_DIMENSION = 2  # indicators named per dimension


@dataclass(frozen=True)
class Explanation:
    """A score in words for the CRM: the drivers line and the "why" text."""

    drivers: str = ""
    why: str = ""


NO_EXPLANATION = Explanation()


def explain(
    model: ScoringModel,
    result: ScoreResult,
    raw: Mapping[str, SignalValue],
    given_by: Mapping[str, str] | None = None,
) -> Explanation:
    """The drivers line and the "why" (`given_by`: key → the source that gave its value)."""
    return Explanation(drivers_text(model, result), why_text(model, result, raw, given_by))


def drivers_text(model: ScoringModel, result: ScoreResult, limit: int = TEXT_LIMIT) -> str:
    """The indicators that moved the score most, e.g. "DAU/MAU -12.1; NPS +7.8"."""
    text = "; ".join(
        f"{indicator_label(model, d.indicator)} {d.impact:+.1f}" for d in result.drivers
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Loss:
    """Points an indicator cost the score, with what a person reads about it."""

    dimension: str
    indicator: str
    points: float
    score: float


def words(key: str) -> str:
    """A key in words: `time_in_product` → "time in product"."""
    return key.replace("_", " ").strip()


def dimension_label(model: ScoringModel, name: str) -> str:
    label = model.dimensions[name].label
    return label if label else words(name).capitalize()


def indicator_label(model: ScoringModel, key: str) -> str:
    dim, name = key.split(".", 1)
    label = model.dimensions[dim].indicators[name].label
    return label if label else words(name)


def losses(model: ScoringModel, result: ScoreResult) -> list[Loss]:
    """Every indicator with data, most points lost first."""
    out = []
    for key, score in result.indicator_scores.items():
        dim, name = key.split(".", 1)
        share = model.dimensions[dim].weight / 100 * model.indicator_weight(dim, name)
        out.append(Loss(dim, key, share * (100 - score), score))
    return sorted(out, key=lambda loss: (-loss.points, loss.indicator))


def raw_text(indicator: Indicator, raw: SignalValue | None) -> str:
    """The raw value as a person reads it: 4%, 3 tickets, detractor, +12%."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return words(raw)
    transform = indicator.transform
    unit = f" {indicator.unit}" if indicator.unit else ""
    if isinstance(transform, TableTransform):
        category = _bin(transform, float(raw))
        return f"{raw:g}{unit}" + (f" ({words(category)})" if category else "")
    if _is_share(transform):
        signed = "+" if min(transform.zero_at, transform.full_at) < 0 and raw > 0 else ""
        return f"{signed}{raw:.0%}"
    return f"{raw:,.4g}{unit}"


def why_text(
    model: ScoringModel,
    result: ScoreResult,
    raw: Mapping[str, SignalValue],
    given_by: Mapping[str, str] | None = None,
    limit: int = TEXT_LIMIT,
) -> str:
    """Plain words on where the score lost its points; empty when nothing was lost. An
    indicator in `given_by` (key → source) names the source its value came from."""
    given = given_by or {}
    by_dim: dict[str, list[Loss]] = {}
    for loss in losses(model, result):
        if loss.points > 0:
            by_dim.setdefault(loss.dimension, []).append(loss)
    scores = {d.name: d.score for d in result.dimensions}
    order = sorted(by_dim, key=lambda d: -sum(loss.points for loss in by_dim[d]))
    text = ""
    for dim in order:
        items = []
        for loss in by_dim[dim][:PER_DIMENSION]:
            _, name = loss.indicator.split(".", 1)
            value = raw_text(model.dimensions[dim].indicators[name], raw.get(loss.indicator))
            source = given.get(loss.indicator)
            parts = [p for p in (value, source, f"{loss.score:.0f}/100") if p]
            detail = ", ".join(parts)
            items.append(f"{indicator_label(model, loss.indicator)} ({detail})")
        dim_score = scores.get(dim)
        head = dimension_label(model, dim)
        head += f" {dim_score:.0f}/100" if dim_score is not None else ""
        sentence = f"{head}: {', '.join(items)}"
        candidate = f"{text}. {sentence}" if text else sentence
        if len(candidate) > limit:
            first = f"{head}: {items[0]}"
            if not text and len(first) <= limit:
                text = first
            break
        text = candidate
    return text


def _is_share(transform: LinearTransform) -> bool:
    return max(abs(transform.zero_at), abs(transform.full_at)) <= 1


def _bin(transform: TableTransform, value: float) -> str | None:
    if not transform.bins:
        return None
    below = [(bound, name) for name, bound in transform.bins.items() if bound <= value]
    return max(below)[1] if below else None
