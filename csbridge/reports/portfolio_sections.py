"""Sections over a set of accounts, shared by the portfolio report (every account) and
the CSM debrief (one owner's book): satisfaction per owner, health distribution per
owner and segment with the bands over time, CSM load, playbook outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from csbridge.models import SurveyResponse
from csbridge.reports import labels, metrics
from csbridge.reports.document import Chart, Items, Section, Series, Table, money, number, percent
from csbridge.reports.portfolio_data import AccountLine, PortfolioFacts
from csbridge.scoring.cadence import cadence_rows, share_on_cadence
from csbridge.scoring.csm_load import BookEntry, LoadRow, csm_load
from csbridge.scoring.model import ScoringModel


def in_period(
    answers: Iterable[tuple[str, SurveyResponse]], start: date, end: date
) -> list[tuple[str, SurveyResponse]]:
    """The (account, answer) pairs answered in [start, end)."""
    return [(k, a) for k, a in answers if start <= a.responded_at.date() < end]


def _survey_cells(result: metrics.Surveys) -> list[str]:
    csat = None if result.csat is None else result.csat / 100
    return [
        f"{number(result.nps)} ({result.nps_count})",
        f"{percent(csat)} ({result.csat_count})",
        f"{number(result.ces_mean, 1)} ({result.ces_count})",
    ]


def satisfaction_section(
    lines: Sequence[AccountLine], answers: Sequence[tuple[str, SurveyResponse]]
) -> Section:
    """NPS / CSAT / CES with answer counts, for all the accounts and per owner."""
    owner_of = {line.key: line.owner for line in lines}
    mine = [(k, a) for k, a in answers if k in owner_of]
    rows = [["All accounts", *_survey_cells(metrics.surveys(a for _, a in mine))]]
    for owner in sorted({line.owner for line in lines}):
        result = metrics.surveys(a for k, a in mine if owner_of[k] == owner)
        rows.append([owner, *_survey_cells(result)])
    return Section(
        "Satisfaction: NPS, CSAT (top-2-box), CES",
        [Table(["Owner", "NPS (answers)", "CSAT (answers)", "CES mean (answers)"], rows)],
    )


def _distribution_table(
    lines: Sequence[AccountLine], group: Callable[[AccountLine], str], bands: list[str], title: str
) -> Table:
    counts = metrics.distribution((group(a), a.band or "not scored") for a in lines)
    columns = [*bands, "not scored"]
    rows = [
        [name, *(str(c.get(b, 0)) for b in columns), str(sum(c.values()))]
        for name, c in sorted(counts.items())
    ]
    return Table([title, *(labels.name(b) for b in columns), "Total"], rows)


def health_section(
    lines: Sequence[AccountLine], facts: PortfolioFacts, model: ScoringModel
) -> Section:
    """Accounts per band per owner and per segment, and the bands month by month."""
    bands = [b.name for b in model.bands]
    monthly = [
        Counter(line.monthly[i] for line in lines if line.monthly) for i in range(len(facts.months))
    ]
    return Section(
        "Health distribution",
        [
            _distribution_table(lines, lambda a: a.owner, bands, "Owner"),
            _distribution_table(lines, lambda a: labels.name(a.plan), bands, "Segment (plan)"),
            Chart(
                "Accounts per status band, month by month (last score of each month)",
                "bars",
                [p.label for p in facts.months],
                [Series(labels.name(b), [float(c[b]) for c in monthly]) for b in bands],
                unit="accounts",
            ),
        ],
    )


def load_section(lines: Sequence[AccountLine], currency: str | None) -> Section:
    """Accounts, ARR and load against the segment's ratio, per CSM and segment."""
    rows = csm_load(BookEntry(line.owner, line.segment, line.arr, line.ratio) for line in lines)
    scores: dict[str, list[float]] = {}
    for line in lines:
        if line.score is not None:
            scores.setdefault(line.owner, []).append(line.score)
    table = [
        [
            row.owner,
            labels.name(row.segment) if row.segment else "no segment",
            str(row.accounts),
            money(row.arr, currency),
            f"1:{row.accounts_per_csm}" if row.accounts_per_csm else "-",
            percent(row.load, 0),
        ]
        for row in rows
    ]
    means = [
        [owner, number(sum(v) / len(v)), percent(_owner_load(rows, owner), 0)]
        for owner, v in sorted(scores.items())
    ]
    return Section(
        "CSM load",
        [
            Table(["CSM", "Segment", "Accounts", "ARR", "Accounts per CSM", "Load"], table),
            Table(["CSM", "Mean health", "Load, all segments"], means),
            Items(
                ["Load is '-' where the model's segment matrix gives no accounts-per-CSM ratio."]
            ),
        ],
    )


def _owner_load(rows: Sequence[LoadRow], owner: str) -> float | None:
    loads = [r.load for r in rows if r.owner == owner and r.load is not None]
    return sum(loads) if loads else None


def playbook_section(facts: PortfolioFacts, threshold: float) -> Section:
    """Per rule the tasks created, completed by a CSM and closed by csbridge; how many
    churn-risk episodes ended within 60 days (`csbridge.reports.outcomes`)."""
    recovery = facts.recovery
    return Section(
        "Playbook outcomes",
        [
            Table(
                ["Playbook", "Tasks created", "Completed", "Completion rate", "Closed by csbridge"],
                [
                    [
                        labels.rule(rule),
                        str(o.created),
                        str(o.completed),
                        percent(o.completion_rate, 0),
                        str(o.closed),
                    ]
                    for rule, o in sorted(facts.tasks.items())
                ],
                empty="csbridge has created no task yet.",
            ),
            Items(
                [
                    f"Churn-risk episodes opened: {recovery.opened} (plus {recovery.pending} "
                    "running for less than 60 days)",
                    f"Back above {threshold:g} (episode ended) within 60 days: "
                    f"{recovery.recovered} ({percent(recovery.share, 0)})",
                ]
            ),
        ],
    )


def cadence_section(lines: Sequence[AccountLine]) -> Section:
    """Seed 002's "touchpoint cadence respect" (target > 90 %), overall and per segment,
    as the latest run measured it; and the accounts missing each touchpoint."""
    summary = share_on_cadence([line.cadence for line in lines])
    rows = [[labels.name(r[0]) if r[0] != "all" else "All", *r[1:]] for r in cadence_rows(summary)]
    return Section(
        "Touchpoint cadence",
        [
            Table(["Segment", "Accounts measured", "On cadence", "Share (target > 90 %)"], rows),
            Table(
                ["Touchpoint", "Accounts missing it"],
                [[labels.name(k), str(n)] for k, n in summary["missed"].items()],
                empty="No measured account misses a touchpoint.",
            ),
            Items(
                [
                    f"{summary['not_measured']} accounts are in a segment without a cadence "
                    "(low and tech touch: reached on triggers only) or have no segment."
                ]
            ),
        ],
    )
