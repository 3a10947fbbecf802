"""Each metric on a hand-built portfolio; the expected figures are worked out in comments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from csbridge.models import SurveyResponse
from csbridge.reports.metrics import (
    Deal,
    arr_on,
    distribution,
    renewals,
    retention,
    surveys,
    time_to_first_value,
)
from csbridge.reports.periods import parse_period
from csbridge.scoring.csm_load import BookEntry, LoadRow, csm_load

Q3 = parse_period("2026Q3")  # 2026-07-01 .. 2026-10-01
# key: (ARR today, start, closed deals)
PORTFOLIO = {
    # upsell of 20k in the quarter: 100k at the start, 120k at the end
    "a": (120_000.0, date(2024, 1, 1), [Deal("upsell", 20_000, date(2026, 8, 10), True)]),
    # downgrade of 10k (stored negative, as the sandbox does): 60k -> 50k
    "b": (50_000.0, date(2023, 1, 1), [Deal("downgrade", -10_000, date(2026, 9, 1), True)]),
    # renewal lost in July: 40k at the start, nothing at the end
    "c": (40_000.0, date(2022, 1, 1), [Deal("renewal", 40_000, date(2026, 7, 15), False)]),
    # a new logo in August: not in the start ARR
    "d": (30_000.0, date(2026, 8, 1), []),
    # renewal won in the quarter; its 5k upsell closes after it: 5k at start and end
    "e": (
        10_000.0,
        date(2025, 1, 1),
        [
            Deal("renewal", 5_000, date(2026, 9, 20), True),
            Deal("upsell", 5_000, date(2026, 11, 1), True),
        ],
    ),
    # a lost upsell moves no ARR
    "f": (0.0, date(2021, 1, 1), [Deal("upsell", 9_000, date(2026, 8, 1), False)]),
}


def _snapshot(day: date) -> dict[str, float]:
    return {k: arr_on(arr, start, deals, day) for k, (arr, start, deals) in PORTFOLIO.items()}


def test_arr_is_rolled_back_through_the_deals() -> None:
    assert _snapshot(Q3.start) == {
        "a": 100_000,
        "b": 60_000,
        "c": 40_000,
        "d": 0,
        "e": 5_000,
        "f": 0,
    }
    assert _snapshot(Q3.end) == {"a": 120_000, "b": 50_000, "c": 0, "d": 30_000, "e": 5_000, "f": 0}


def test_grr_nrr_logo_churn_and_expansion_share() -> None:
    result = retention(_snapshot(Q3.start), _snapshot(Q3.end))
    # start ARR 100 + 60 + 40 + 5 = 205k over 4 logos; c churned 40k, b contracted 10k,
    # a expanded 20k; the new logo d is neither
    assert (result.start_arr, result.churned_arr) == (205_000, 40_000)
    assert (result.contraction, result.expansion) == (10_000, 20_000)
    assert result.grr == pytest.approx(155 / 205)
    assert result.nrr == pytest.approx(175 / 205)
    assert result.logo_churn == pytest.approx(1 / 4)
    # ARR at the end: 120 + 50 + 30 + 5 = 205k, of which 20k is expansion
    assert result.end_arr == 205_000
    assert result.expansion_share == pytest.approx(20 / 205)


def test_no_start_arr_gives_no_ratio() -> None:
    result = retention({"x": 0.0}, {"x": 10.0})
    assert (result.grr, result.nrr, result.logo_churn) == (None, None, None)


def test_renewal_rate_counts_renewals_closed_in_the_period() -> None:
    deals = [d for _, _, ds in PORTFOLIO.values() for d in ds]
    result = renewals(deals, Q3.start, Q3.end)
    # c's renewal lost in July, e's won in September
    assert (result.won, result.lost, result.rate) == (1, 1, 0.5)
    assert renewals(deals, date(2027, 1, 1), date(2027, 4, 1)).rate is None


def test_time_to_first_value_is_the_median_over_accounts_that_got_there() -> None:
    day = date(2026, 1, 1)
    pairs = [
        (day, date(2026, 1, 11)),
        (day, date(2026, 1, 5)),
        (day, None),
        (day, date(2026, 1, 21)),
    ]
    # days 10, 4 and 20: median 10; one account has not reached a key feature
    assert time_to_first_value(pairs).median_days == 10
    assert time_to_first_value(pairs).not_reached == 1
    assert time_to_first_value([]).median_days is None


def _answer(kind: str, score: float, low: float, high: float, n: int) -> SurveyResponse:
    return SurveyResponse(
        source="hubspot" if high > 1 else "zendesk",
        id=f"{kind}-{n}",
        kind=kind,  # type: ignore[arg-type]
        score=score,
        scale_min=low,
        scale_max=high,
        responded_at=datetime(2026, 9, 1, tzinfo=UTC),
    )


def test_nps_csat_ces_with_their_counts() -> None:
    answers = [_answer("nps", s, 0, 10, i) for i, s in enumerate([10, 9, 9, 7, 2])]
    answers += [_answer("csat", s, 1, 5, i) for i, s in enumerate([5, 4, 3])]
    answers += [_answer("csat", s, 0, 1, 10 + i) for i, s in enumerate([1, 0])]
    answers += [_answer("ces", s, 1, 7, i) for i, s in enumerate([7, 5, 2])]
    result = surveys(answers)
    # 3 promoters and 1 detractor of 5 answers: 60 % - 20 % = +40
    assert (result.nps, result.nps_count) == (40, 5)
    # satisfied: the 5, the 4 and the "good" rating: 3 of 5
    assert (result.csat, result.csat_count) == (60, 5)
    # mean (7 + 5 + 2) / 3; two of three answers are 5-7
    assert result.ces_mean == pytest.approx(4.67)
    assert result.ces_low_effort == pytest.approx(66.67)
    empty = surveys([])
    assert (empty.nps, empty.csat, empty.ces_mean, empty.nps_count) == (None, None, None, 0)


def test_health_distribution_and_csm_load() -> None:
    rows = [("ana", "Healthy"), ("ana", "At Risk"), ("ana", "Healthy"), ("bo", "Champion")]
    result = distribution(rows)
    assert result["ana"] == {"Healthy": 2, "At Risk": 1}
    assert result["bo"] == {"Champion": 1}
    book = [
        BookEntry("ana", "high_touch", 100_000, 20),
        BookEntry("ana", "high_touch", 50_000, 20),
        BookEntry("ana", "low_touch", 10_000, 50),
        BookEntry("ana", None, 5_000, None),
        BookEntry("bo", "mixed", 1_000, 10),
        BookEntry("bo", "mixed", 1_000, 30),
    ]
    rows = {(r.owner, r.segment): r for r in csm_load(book)}
    # 2 accounts of a 1:20 segment: 10 % of a CSM; 1 of 1:50: 2 %; no ratio: no load
    assert rows["ana", "high_touch"] == LoadRow("ana", "high_touch", 2, 150_000, 20, 0.1)
    assert rows["ana", "low_touch"].load == pytest.approx(0.02)
    assert (rows["ana", None].accounts, rows["ana", None].load) == (1, None)
    # one account of 1:10 and one of 1:30 in one segment: 1/10 + 1/30 = 2/15, ratio 1:15
    assert rows["bo", "mixed"].load == pytest.approx(2 / 15)
    assert rows["bo", "mixed"].accounts_per_csm == 15


def test_periods_parse_quarters_and_months_and_refuse_the_rest() -> None:
    from csbridge.errors import CsbridgeError

    assert (Q3.start, Q3.end, Q3.previous().label) == (
        date(2026, 7, 1),
        date(2026, 10, 1),
        "2026Q2",
    )
    month = parse_period("2026-12")
    assert (month.start, month.end, month.previous().label) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
        "2026-11",
    )
    with pytest.raises(CsbridgeError, match="--period '2026-Q4'"):
        parse_period("2026-Q4")


def test_every_definition_is_in_the_docs() -> None:
    from pathlib import Path

    from csbridge.reports.definitions import DEFINITIONS, NAMES

    assert set(NAMES) == set(DEFINITIONS)
    docs = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name, text in DEFINITIONS.items():
        assert f"`{name}`" in docs, name
        assert text in " ".join(docs.split()), name
