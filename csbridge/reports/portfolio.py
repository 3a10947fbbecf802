"""The portfolio report for RevOps (seed 004's key CS metrics, seed 002's CSM metrics).

Revenue and retention over the period (GRR, NRR, logo churn, renewal rate, expansion
share), time to first value, NPS / CSAT / CES for the portfolio and per owner, health
distribution per owner and segment, CSM load, playbook outcomes; charts of NRR / GRR
by month and of the status bands over time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, timedelta

from csbridge.reports import metrics
from csbridge.reports.definitions import DEFINITIONS, NAMES
from csbridge.reports.document import (
    Chart,
    Document,
    Section,
    Series,
    Table,
    Text,
    money,
    percent,
)
from csbridge.reports.periods import Period, months_back
from csbridge.reports.portfolio_data import AccountLine, PortfolioFacts, gather
from csbridge.reports.portfolio_sections import (
    cadence_section,
    health_section,
    in_period,
    load_section,
    playbook_section,
    satisfaction_section,
)
from csbridge.reports.review import first_value
from csbridge.reports.source import ReportSource
from csbridge.scoring.cadence import share_on_cadence

RETENTION_MONTHS = 6


def retention_over(lines: Iterable[AccountLine], start: date, end: date) -> metrics.Retention:
    """GRR / NRR inputs for [start, end): each account's ARR on both days."""
    items = list(lines)
    return metrics.retention(
        {a.key: a.arr_on(start) for a in items}, {a.key: a.arr_on(end) for a in items}
    )


def build_portfolio(source: ReportSource, period: Period) -> Document:
    """The portfolio report for `period` (its end is clipped to `source.now`)."""
    facts = gather(source)
    lines = list(facts.lines.values())
    end = min(period.end, source.now.date() + timedelta(days=1))
    result = retention_over(lines, period.start, end)
    deals = [d for line in lines for d in line.deals]
    renewal = metrics.renewals(deals, period.start, end)
    ttfv = time_to_value(source, facts)
    currency = next((line.currency for line in lines if line.currency), None)
    shown_to = (end - timedelta(days=1)).isoformat()
    document = Document(
        "portfolio",
        f"Portfolio metrics - {period.label}",
        f"{period.start.isoformat()} to {shown_to} · {len(lines)} accounts · "
        f"as of {source.now.date().isoformat()}",
    )
    outcomes = [
        ["Gross revenue retention (GRR)", percent(result.grr), "> 90 %"],
        ["Net revenue retention (NRR)", percent(result.nrr), "> 100 %"],
        ["Logo churn", percent(result.logo_churn), "< 15 %"],
        [
            "Renewal rate",
            f"{percent(renewal.rate)} ({renewal.won} of {renewal.won + renewal.lost})",
            "-",
        ],
        ["Expansion share of ending ARR", percent(result.expansion_share), "> 20 %"],
        ["Time to first value (median)", _days(ttfv), "-"],
        ["ARR at the start", money(result.start_arr, currency), "-"],
        ["Churned ARR", money(result.churned_arr, currency), "-"],
        ["Contraction", money(result.contraction, currency), "-"],
        ["Expansion", money(result.expansion, currency), "-"],
        ["ARR at the end", money(result.end_arr, currency), "-"],
    ]
    monthly = [
        (m, retention_over(lines, m.start, min(m.end, end)))
        for m in months_back(end - timedelta(days=1), RETENTION_MONTHS)
    ]
    document.sections = [
        Section(
            "Business outcomes",
            [
                Table(["Metric", "Value", "Seed benchmark (B2B)"], outcomes),
                Text("Definitions: see the end of this report."),
            ],
        ),
        Section(
            "Retention by month",
            [
                Table(
                    ["Month", "GRR", "NRR", "Logos at start", "Churned logos"],
                    [
                        [
                            m.label,
                            percent(r.grr),
                            percent(r.nrr),
                            str(r.logos_start),
                            str(r.logos_churned),
                        ]
                        for m, r in monthly
                    ],
                ),
                Chart(
                    "NRR and GRR by month",
                    "line",
                    [m.label for m, _ in monthly],
                    [
                        Series("NRR", [_pct(r.nrr) for _, r in monthly]),
                        Series("GRR", [_pct(r.grr) for _, r in monthly]),
                    ],
                    unit="%",
                ),
            ],
        ),
        satisfaction_section(lines, in_period(facts.answers, period.start, end)),
        health_section(lines, facts, source.model),
        load_section(lines, currency),
        playbook_section(facts, source.rules.rules.churn_risk.below),
        cadence_section(lines),
        Section(
            "Definitions",
            [
                Table(
                    ["Metric", "Definition"],
                    [[NAMES[k], v] for k, v in DEFINITIONS.items()],
                )
            ],
        ),
    ]
    document.data = {
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": end.isoformat(),
        },
        "accounts": len(lines),
        "retention": {
            **asdict(result),
            "grr": result.grr,
            "nrr": result.nrr,
            "logo_churn": result.logo_churn,
            "expansion_share": result.expansion_share,
        },
        "renewals": {**asdict(renewal), "rate": renewal.rate},
        "time_to_first_value": asdict(ttfv),
        "surveys": asdict(
            metrics.surveys(a for _, a in in_period(facts.answers, period.start, end))
        ),
        "monthly": [{"month": m.label, "grr": r.grr, "nrr": r.nrr} for m, r in monthly],
        "tasks_per_rule": {
            rule: {**asdict(o), "completion_rate": o.completion_rate}
            for rule, o in facts.tasks.items()
        },
        "cadence": share_on_cadence([line.cadence for line in lines]),
        "churn_risk_recovery": {**asdict(facts.recovery), "share": facts.recovery.share},
    }
    document.definitions = dict(DEFINITIONS)
    return document


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


def _days(ttfv: metrics.TimeToValue) -> str:
    if ttfv.median_days is None:
        return "- (no account started within the stored usage)"
    days = f"{ttfv.median_days:g} day" + ("" if ttfv.median_days == 1 else "s")
    return f"{days} ({ttfv.reached} accounts; {ttfv.not_reached} not there yet)"


def time_to_value(source: ReportSource, facts: PortfolioFacts) -> metrics.TimeToValue:
    """Over the accounts started since the oldest stored usage day (only they can be measured)."""
    since = source.usage_start
    recent = [
        k for k, line in facts.lines.items() if since and line.started and line.started >= since
    ]
    pairs = []
    for customer in source.customers(recent):
        start = facts.lines[customer.key].started
        if start is not None:
            pairs.append((start, first_value(customer.primary_crm_only(), source.key_features)))
    return metrics.time_to_first_value(pairs)
