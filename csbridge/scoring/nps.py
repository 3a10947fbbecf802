"""Survey metrics as the seed defines them: NPS, CSAT (top-2-box) and CES."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

NpsCategory = Literal["detractor", "passive", "promoter"]


def nps_category(answer: int) -> NpsCategory:
    """0-6 detractor, 7-8 passive, 9-10 promoter."""
    _check_scale(answer, 0, 10, "NPS")
    if answer <= 6:
        return "detractor"
    return "passive" if answer <= 8 else "promoter"


def nps(answers: Iterable[int]) -> float:
    """Net Promoter Score: % promoters - % detractors, from -100 to +100.

    Passives count in the denominator only (500 answers: 75 detractors, 175 passives,
    250 promoters give +35).
    """
    counts = {"detractor": 0, "passive": 0, "promoter": 0}
    for answer in answers:
        counts[nps_category(answer)] += 1
    total = sum(counts.values())
    _check_any(total, "NPS")
    return round(100.0 * (counts["promoter"] - counts["detractor"]) / total, 2)


def csat(answers: Iterable[int], scale: int = 5) -> float:
    """CSAT, top-2-box: the percentage of answers in the two highest points of the scale."""
    if scale < 2:
        raise ValueError(f"CSAT scale must be 2 or more, got {scale}")
    total = satisfied = 0
    for answer in answers:
        _check_scale(answer, 1, scale, "CSAT")
        total += 1
        satisfied += answer >= scale - 1
    _check_any(total, "CSAT")
    return round(100.0 * satisfied / total, 2)


@dataclass(frozen=True, slots=True)
class CesSummary:
    mean: float
    low_effort_share: float  # percentage of answers 5-7


def ces(answers: Iterable[int]) -> CesSummary:
    """Customer Effort Score on 1 (very hard) to 7 (very easy): mean and share of 5-7."""
    total = low_effort = 0
    acc = 0
    for answer in answers:
        _check_scale(answer, 1, 7, "CES")
        total += 1
        acc += answer
        low_effort += answer >= 5
    _check_any(total, "CES")
    return CesSummary(
        mean=round(acc / total, 2), low_effort_share=round(100.0 * low_effort / total, 2)
    )


def _check_scale(answer: int, low: int, high: int, what: str) -> None:
    if isinstance(answer, bool) or not isinstance(answer, int) or not low <= answer <= high:
        raise ValueError(f"{what} answers are whole numbers from {low} to {high}, got {answer!r}")


def _check_any(total: int, what: str) -> None:
    if total == 0:
        raise ValueError(f"{what} needs at least one answer")
