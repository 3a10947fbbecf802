"""The forward-looking parts of a review or QBR prep: expansion opportunities, risks,
the actions csbridge has put in the CRM and the next steps (renewal playbook dates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from csbridge.reports import labels
from csbridge.reports.document import Block, Items, Missing, Section, Table, day, money
from csbridge.reports.periods import quarter_of
from csbridge.reports.source import Scorepoint, TaskRow
from csbridge.scoring.activity_signals import QBR
from csbridge.scoring.model import ScoringModel
from csbridge.scoring.rules_config import RulesConfig
from csbridge.scoring.signals import CustomerFacts

NEXT_STEPS = 3


def opportunities_section(
    facts: CustomerFacts,
    owner: str,
    episodes: Mapping[str, date],
    latest: Scorepoint | None,
    model: ScoringModel,
    tasks: Sequence[TaskRow],
    title: str = "7. Opportunities and risks",
) -> Section:
    """Open upsell deals; risks from the open playbook episodes and the score's drivers."""
    currency = facts.accounts[0].currency if facts.accounts else None
    deals = [
        [
            o.name or labels.name(o.kind),
            money(o.amount, o.currency or currency),
            o.stage or "-",
            quarter_of(o.close_date).label if o.close_date else "-",
            owner,
        ]
        for o in facts.opportunities
        if o.kind == "upsell" and not o.is_closed
    ]
    handled = {t.key.split(":")[1] for t in tasks if t.key.count(":") >= 2}
    risks = [
        [
            labels.rule(rule),
            day(started),
            "task in the CRM" if rule in handled else "no task yet",
        ]
        for rule, started in sorted(episodes.items())
        if rule not in ("promoter", "expansion", "advocacy")
    ]
    drivers = [
        f"{labels.indicator(model, d['indicator'])} pulls the score down "
        f"({d['impact']:+.1f} points, indicator at {d['score']:.0f}/100)"
        for d in (latest.payload.get("drivers", []) if latest else [])
        if d.get("direction") == "down"
    ]
    blocks: list[Block] = [
        Table(
            ["Opportunity", "Potential", "Stage", "Close", "Owner"],
            deals,
            empty="No open upsell deal in the CRM.",
        ),
        Missing(
            "Win probability per opportunity",
            "it would come from the CRM deal's probability field, which csbridge does not pull",
        ),
        Table(
            ["Risk (open playbook)", "Since", "Mitigation"],
            risks,
            empty="No risk playbook open for this account.",
        ),
        Items(drivers, empty="No indicator pulls the score down by a point or more."),
    ]
    if "expansion" in episodes:
        blocks.insert(0, Items([f"Expansion signal since {day(episodes['expansion'])}."]))
    return Section(title, blocks)


def actions_section(
    facts: CustomerFacts,
    tasks: Sequence[TaskRow],
    rules: RulesConfig,
    now: datetime,
    title: str = "8. Actions and next steps",
) -> Section:
    """Tasks csbridge created for the account, then the next dated steps."""
    rows = [
        [labels.task(t.key), labels.name(t.target), day(t.created_at), t.status]
        for t in tasks
        if t.key.count(":") >= 2
    ]
    return Section(
        title,
        [
            Table(
                ["Action (csbridge task)", "CRM", "Created", "Status"],
                rows,
                empty="csbridge has created no task for this account.",
            ),
            Items(next_steps(facts, rules, now.date()), numbered=True, empty="No dated step."),
            Table(
                ["Next QBR", "Meeting", "With"],
                next_qbrs(facts, now),
                empty="No QBR or business review meeting is scheduled in the CRMs.",
            ),
        ],
    )


def next_qbrs(facts: CustomerFacts, now: datetime, limit: int = 3) -> list[list[str]]:
    """The coming meetings named QBR / business review (CRM activities), soonest first."""
    names = {(c.source, c.id): c.name or c.email or c.id for c in facts.contacts}
    coming = sorted(
        (
            a
            for a in facts.activities
            if a.kind == "meeting"
            and a.occurred_at is not None
            and a.occurred_at >= now
            and not a.csbridge_key
            and (QBR.search(a.subject or "") or QBR.search(a.subtype or ""))
        ),
        key=lambda a: a.occurred_at or now,
    )
    return [
        [
            day(a.occurred_at or now),
            a.subject or "-",
            names.get((a.source, a.contact_id), "-") if a.contact_id else "-",
        ]
        for a in coming[:limit]
    ]


def next_steps(facts: CustomerFacts, rules: RulesConfig, today: date) -> list[str]:
    """The next renewal playbook steps and open deals closing, soonest first."""
    dated: list[tuple[date, str]] = []
    account = facts.accounts[0] if facts.accounts else None
    renewal = account.renewal_date if account else None
    if renewal is not None and renewal >= today:
        for step in rules.rules.renewal.ordered():
            when = renewal - timedelta(days=step.days)
            if when >= today:
                dated.append((when, step.subject.replace("{renewal_date}", renewal.isoformat())))
    for deal in facts.opportunities:
        if not deal.is_closed and deal.close_date and deal.close_date >= today:
            name = deal.name or labels.name(deal.kind)
            dated.append((deal.close_date, f"{name} ({labels.name(deal.kind)}) closes"))
    return [f"{text} - {when.isoformat()}" for when, text in sorted(dated)[:NEXT_STEPS]]
