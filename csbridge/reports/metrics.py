"""The CS metrics of the seeds, as pure functions of plain inputs (no store, no clock).

Each metric's definition is in `definitions.DEFINITIONS` (carried in every JSON
report) and in docs/metrics.md. Revenue metrics work on ARR snapshots: an account's ARR at the start
and at the end of a period, rebuilt from its closed deals by `arr_on`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from statistics import median

from csbridge.models import SurveyResponse
from csbridge.scoring.nps import ces, csat, nps

ARR_KINDS = ("upsell", "downgrade")


@dataclass(frozen=True, slots=True)
class Deal:
    """A closed deal as the revenue metrics read it."""

    kind: str
    amount: float
    close_date: date
    won: bool


def arr_on(arr_now: float, started: date | None, deals: Iterable[Deal], day: date) -> float:
    """An account's ARR at the start of `day`, rolled back from today's ARR.

    Zero before the account's start and from the close date of a lost renewal on;
    otherwise today's ARR minus the won upsells and plus the won downgrades that closed
    on or after `day`.
    """
    if started is not None and started > day:
        return 0.0
    arr = arr_now
    for deal in deals:
        if deal.kind == "renewal" and not deal.won and deal.close_date <= day:
            return 0.0
        if deal.won and deal.kind in ARR_KINDS and deal.close_date >= day:
            arr -= abs(deal.amount) if deal.kind == "upsell" else -abs(deal.amount)
    return max(arr, 0.0)


@dataclass(frozen=True, slots=True)
class Retention:
    """Revenue and logo retention over one period."""

    start_arr: float
    end_arr: float
    churned_arr: float
    contraction: float
    expansion: float
    logos_start: int
    logos_churned: int

    @property
    def grr(self) -> float | None:
        if not self.start_arr:
            return None
        return (self.start_arr - self.churned_arr - self.contraction) / self.start_arr

    @property
    def nrr(self) -> float | None:
        if not self.start_arr:
            return None
        kept = self.start_arr - self.churned_arr - self.contraction + self.expansion
        return kept / self.start_arr

    @property
    def logo_churn(self) -> float | None:
        return self.logos_churned / self.logos_start if self.logos_start else None

    @property
    def expansion_share(self) -> float | None:
        return self.expansion / self.end_arr if self.end_arr else None


def retention(start: Mapping[str, float], end: Mapping[str, float]) -> Retention:
    """GRR, NRR, churn and movements from ARR per account at the start and at the end."""
    churned = contraction = expansion = 0.0
    logos = lost = 0
    for key, before in start.items():
        if before <= 0:
            continue
        logos += 1
        after = end.get(key, 0.0)
        if after <= 0:
            lost += 1
            churned += before
        elif after < before:
            contraction += before - after
        else:
            expansion += after - before
    return Retention(
        start_arr=sum(v for v in start.values() if v > 0),
        end_arr=sum(v for v in end.values() if v > 0),
        churned_arr=churned,
        contraction=contraction,
        expansion=expansion,
        logos_start=logos,
        logos_churned=lost,
    )


@dataclass(frozen=True, slots=True)
class Renewals:
    won: int
    lost: int

    @property
    def rate(self) -> float | None:
        return self.won / (self.won + self.lost) if self.won + self.lost else None


def renewals(deals: Iterable[Deal], start: date, end: date) -> Renewals:
    """Renewal deals closed in [start, end): won and lost."""
    closed = [d for d in deals if d.kind == "renewal" and start <= d.close_date < end]
    won = sum(1 for d in closed if d.won)
    return Renewals(won, len(closed) - won)


@dataclass(frozen=True, slots=True)
class TimeToValue:
    median_days: float | None
    reached: int
    not_reached: int


def time_to_first_value(starts: Iterable[tuple[date, date | None]]) -> TimeToValue:
    """Median days from start to first value over (start, first value day or None) pairs."""
    days: list[int] = []
    missing = 0
    for started, first in starts:
        if first is None:
            missing += 1
        else:
            days.append(max((first - started).days, 0))
    return TimeToValue(float(median(days)) if days else None, len(days), missing)


@dataclass(frozen=True, slots=True)
class Surveys:
    """NPS, CSAT and CES of a set of answers, with the count behind each."""

    nps: float | None
    nps_count: int
    csat: float | None
    csat_count: int
    ces_mean: float | None
    ces_low_effort: float | None
    ces_count: int


def surveys(answers: Iterable[SurveyResponse]) -> Surveys:
    """NPS, CSAT (top-2-box) and CES over `answers` (see DEFINITIONS)."""
    by_kind: dict[str, list[int]] = {"nps": [], "csat": [], "ces": []}
    for answer in answers:
        by_kind[answer.kind].append(_points(answer))
    effort = ces(by_kind["ces"]) if by_kind["ces"] else None
    return Surveys(
        nps=nps(by_kind["nps"]) if by_kind["nps"] else None,
        nps_count=len(by_kind["nps"]),
        csat=csat(by_kind["csat"]) if by_kind["csat"] else None,
        csat_count=len(by_kind["csat"]),
        ces_mean=effort.mean if effort else None,
        ces_low_effort=effort.low_effort_share if effort else None,
        ces_count=len(by_kind["ces"]),
    )


def _points(answer: SurveyResponse) -> int:
    """The answer as the whole number `nps`/`csat`/`ces` take (CSAT on a 1-5 scale)."""
    if answer.kind != "csat":
        return round(answer.score)
    steps = answer.scale_max - answer.scale_min
    if steps <= 1:  # good / bad
        return 5 if answer.score >= answer.scale_max else 1
    return 1 + round(4 * (answer.score - answer.scale_min) / steps)


def distribution(rows: Iterable[tuple[str, str]]) -> dict[str, Counter[str]]:
    """(group, band) pairs → accounts per band per group."""
    out: dict[str, Counter[str]] = {}
    for group, band in rows:
        out.setdefault(group, Counter())[band] += 1
    return out
