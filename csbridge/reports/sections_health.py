"""The health-score part of a review or a QBR prep: the latest stored score explained
per dimension with its trend, six months of history (table and chart) and notable events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from csbridge.models import Opportunity, SurveyResponse
from csbridge.reports import labels
from csbridge.reports.document import (
    Block,
    Chart,
    Items,
    Section,
    Series,
    Table,
    Text,
    arrow,
    number,
    percent,
)
from csbridge.reports.periods import Period, months_back
from csbridge.reports.source import Scorepoint
from csbridge.scoring.model import ScoringModel

MONTHS = 6
TREND_DAYS = 30


def at_or_before(points: Sequence[Scorepoint], moment: datetime) -> Scorepoint | None:
    """The last stored score at or before `moment`."""
    found = None
    for point in points:
        if point.at > moment:
            break
        found = point
    return found


def dimension_score(point: Scorepoint | None, dimension: str) -> float | None:
    if point is None:
        return None
    value = point.payload.get("dimensions", {}).get(dimension, {}).get("score")
    return None if value is None else float(value)


def health_section(
    model: ScoringModel,
    points: Sequence[Scorepoint],
    surveys: Sequence[SurveyResponse],
    deals: Sequence[Opportunity],
    now: datetime,
    title: str = "2. Health score",
) -> Section:
    """The current score per dimension with trends, then the six-month history."""
    latest = at_or_before(points, now)
    if latest is None or latest.score is None:
        return Section(
            title,
            [Text("No score stored for this account yet: `csbridge run` stores one per run.")],
        )
    before = at_or_before(points, latest.at - timedelta(days=TREND_DAYS))
    rows = []
    for name, dim in model.dimensions.items():
        stored = latest.payload.get("dimensions", {}).get(name, {})
        score = stored.get("score")
        rows.append(
            [
                labels.name(name),
                "no data" if score is None else f"{score:.0f}/100",
                f"{dim.weight:g} %",
                number(stored.get("contribution"), 1),
                arrow(score, dimension_score(before, name)),
            ]
        )
    rows.append(
        [
            "Total",
            f"{latest.score:.0f}/100",
            "100 %",
            "-",
            arrow(latest.score, before.score if before else None),
        ]
    )
    blocks: list[Block] = [
        Table(["Dimension", "Score", "Weight", "Contribution", "Trend (30 d)"], rows),
        Text(
            f"Status: {labels.name(latest.band)}. Data coverage "
            f"{percent(latest.payload.get('coverage'), 0)} of the model's weight; "
            f"scored {latest.at.date().isoformat()}."
        ),
        Text("What moved the score most (points above or below the account's own score):"),
        Items(
            [
                f"{labels.indicator(model, d['indicator'])}: {d['impact']:+.1f} points"
                for d in latest.payload.get("drivers", [])
            ],
            empty="No indicator moved the score by a point or more.",
        ),
        *history_blocks(model, points, surveys, deals, now),
    ]
    return Section(title, blocks)


def history_blocks(
    model: ScoringModel,
    points: Sequence[Scorepoint],
    surveys: Sequence[SurveyResponse],
    deals: Sequence[Opportunity],
    now: datetime,
) -> list[Block]:
    """Six months: a table (score, status, NPS, events) and a chart per dimension."""
    months = months_back(now.date(), MONTHS)
    rows = []
    shown: list[Scorepoint | None] = []
    previous_band: str | None = None
    for month in months:
        point = _last_in(points, month)
        shown.append(point)
        answers = [
            a
            for a in surveys
            if a.kind == "nps" and month.start <= a.responded_at.date() < month.end
        ]
        events = _events(month, deals, point, previous_band)
        previous_band = point.band if point is not None else previous_band
        rows.append(
            [
                month.label,
                number(point.score if point else None),
                labels.name(point.band) if point else "-",
                ", ".join(f"{a.score:.0f}" for a in answers) or "-",
                "; ".join(events) or "-",
            ]
        )
    series = [Series("Health score", [p.score if p else None for p in shown])]
    series += [
        Series(labels.name(d), [dimension_score(p, d) for p in shown]) for d in model.dimensions
    ]
    return [
        Table(["Month", "Health score", "Status", "NPS answers", "Notable events"], rows),
        Chart(
            "Health score and dimensions, last six months (last score of each month)",
            "line",
            [m.label for m in months],
            series,
            unit="0-100",
            y_max=100,
        ),
    ]


def _last_in(points: Sequence[Scorepoint], month: Period) -> Scorepoint | None:
    inside = [p for p in points if month.start <= p.at.date() < month.end]
    return inside[-1] if inside else None


def _events(
    month: Period, deals: Sequence[Opportunity], point: Scorepoint | None, previous: str | None
) -> list[str]:
    """Band changes and deals closed in the month."""
    events = []
    if point is not None and previous is not None and point.band != previous:
        events.append(f"status {labels.name(previous)} → {labels.name(point.band)}")
    for deal in deals:
        if deal.is_closed and deal.close_date and month.start <= deal.close_date < month.end:
            outcome = "won" if deal.is_won else "lost"
            events.append(f"{labels.name(deal.kind)} {outcome}")
    return events
