"""The portfolio's figures in one pass over the store, for the portfolio report and the
debrief: per account a small summary (owner, plan, ARR, latest band), the ARR
snapshots behind GRR / NRR, monthly bands, survey answers and playbook outcomes.

Score history is read one account at a time; only a few numbers per account are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from csbridge.mappings.identity import ANCHORS
from csbridge.models import Account, Opportunity, SurveyResponse
from csbridge.reports import metrics
from csbridge.reports.outcomes import Recovery, RuleOutcome, playbook_outcomes
from csbridge.reports.periods import Period, months_back
from csbridge.reports.source import ReportSource, Scorepoint
from csbridge.scoring.cadence import CadenceStatus


@dataclass
class AccountLine:
    """One customer as the portfolio pages count it (its primary CRM account)."""

    key: str
    name: str
    owner: str
    plan: str | None
    arr: float
    currency: str | None
    started: date | None
    renewal: date | None
    deals: list[metrics.Deal]
    score: float | None = None
    band: str | None = None
    segment: str | None = None
    ratio: int | None = None
    score_30d_ago: float | None = None
    cadence: CadenceStatus | None = None  # as the latest run measured it
    monthly: list[str | None] = field(default_factory=list)  # last band of each month

    def arr_on(self, day: date) -> float:
        return metrics.arr_on(self.arr, self.started, self.deals, day)


@dataclass
class PortfolioFacts:
    lines: dict[str, AccountLine]
    answers: list[tuple[str, SurveyResponse]]
    months: list[Period]
    recovery: Recovery
    tasks: dict[str, RuleOutcome] = field(default_factory=dict)  # per rule


def _deal(o: Opportunity) -> metrics.Deal | None:
    if not o.is_closed or o.close_date is None:
        return None
    return metrics.Deal(o.kind, o.amount or 0.0, o.close_date, o.is_won)


def account_lines(source: ReportSource) -> dict[str, AccountLine]:
    """Every customer's primary CRM account with its closed deals."""
    primary: dict[str, Account] = {}
    by_id: dict[tuple[str, str], Account] = {(a.source, a.id): a for a in source.accounts}
    for customer_key, customer in source.index.customers.items():
        crm = next((s for s in ANCHORS if s in customer.ids), None)
        if crm is not None and (crm, customer.ids[crm]) in by_id:
            primary[customer_key] = by_id[(crm, customer.ids[crm])]
    deals: dict[str, list[metrics.Deal]] = {}
    for opportunity in source.store.load(Opportunity):
        key = source.index.resolve(opportunity.source, opportunity.account_id)
        deal = _deal(opportunity)
        if key is None or key not in primary or deal is None:
            continue
        if primary[key].source == opportunity.source:
            deals.setdefault(key, []).append(deal)
    return {
        key: AccountLine(
            key=key,
            name=account.name,
            owner=source.owner_name(account),
            plan=account.plan,
            arr=account.arr or 0.0,
            currency=account.currency,
            started=account.created_at.date() if account.created_at else None,
            renewal=account.renewal_date,
            deals=deals.get(key, []),
        )
        for key, account in sorted(primary.items())
    }


def gather(source: ReportSource, months: int = 6) -> PortfolioFacts:
    """Accounts, answers, monthly bands and playbook outcomes as of `source.now`."""
    lines = account_lines(source)
    periods = months_back(source.now.date(), months)
    for key, points in source.history():
        line = lines.get(key)
        if line is not None and points:
            _summarise(line, points)
            for period in periods:
                inside = [p for p in points if period.start <= p.at.date() < period.end]
                line.monthly.append(inside[-1].band if inside else None)
    tasks, recovery = playbook_outcomes(source.store, source.now.date())
    return PortfolioFacts(
        lines=lines,
        answers=source.portfolio_answers(),
        months=periods,
        recovery=recovery,
        tasks=tasks,
    )


def _summarise(line: AccountLine, points: Sequence[Scorepoint]) -> None:
    latest = points[-1]
    line.score, line.band = latest.score, latest.band
    line.segment = latest.payload.get("segment")
    line.ratio = latest.payload.get("accounts_per_csm")
    cadence = latest.payload.get("cadence")
    line.cadence = CadenceStatus.from_dict(cadence) if isinstance(cadence, dict) else None
    cutoff = latest.at.toordinal() - 30
    older = [p for p in points if p.at.toordinal() <= cutoff]
    line.score_30d_ago = older[-1].score if older else None
