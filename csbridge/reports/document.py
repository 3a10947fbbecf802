"""The plain structure every report builds and every renderer reads.

A `Document` is sections of blocks: tables of formatted text, paragraphs, charts
(numbers), and `Missing` blocks that say which source would fill a part of a seed
template the store cannot. `data` keeps the raw figures for the JSON output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    empty: str = "Nothing in the data for this period."


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Items:
    """A bulleted (or numbered) list."""

    items: list[str]
    numbered: bool = False
    empty: str = "Nothing in the data for this period."


@dataclass(frozen=True)
class Missing:
    """A part of the template csbridge has no data for, and the source that would fill it."""

    what: str
    source: str


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """A line chart (`line`) or stacked bars (`bars`) over labelled x positions."""

    title: str
    kind: Literal["line", "bars"]
    x: list[str]
    series: list[Series]
    unit: str = ""
    y_max: float | None = None


Block = Table | Text | Items | Missing | Chart


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Block]
    level: int = 2


@dataclass
class Document:
    kind: str
    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape: every block tagged with its type, figures and definitions."""
        return {
            "report": self.kind,
            "title": self.title,
            "subtitle": self.subtitle,
            "sections": [
                {
                    "title": s.title,
                    "blocks": [{"type": type(b).__name__.lower(), **asdict(b)} for b in s.blocks],
                }
                for s in self.sections
            ],
            "data": self.data,
            "definitions": self.definitions,
        }


def money(value: float | None, currency: str | None = None) -> str:
    """12,500 → "12,500 USD"; none → "-"."""
    if value is None:
        return "-"
    return f"{value:,.0f}" + (f" {currency}" if currency else "")


def percent(share: float | None, digits: int = 1) -> str:
    """0.853 → "85.3 %"; none → "-"."""
    return "-" if share is None else f"{100 * share:.{digits}f} %"


def number(value: float | None, digits: int = 0) -> str:
    """A figure with `digits` decimals; none → "-"."""
    return "-" if value is None else f"{value:,.{digits}f}"


def day(value: date | datetime | None) -> str:
    """A date as YYYY-MM-DD; none → "-"."""
    if value is None:
        return "-"
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def arrow(now: float | None, before: float | None, tolerance: float = 2.0) -> str:
    """↑, ↓ or → comparing two figures (within `tolerance` counts as flat); "-" without both."""
    if now is None or before is None:
        return "-"
    if now - before > tolerance:
        return "↑"
    return "↓" if before - now > tolerance else "→"
