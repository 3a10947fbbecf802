"""The QBR Prep of one account (seed 003's output template) for a coming quarter.

Account information (health against the end of the quarter before, latest NPS),
participants from the contacts and their roles, the quarter under review (highlights
and challenges read from the data), the plan for the quarter ahead (dated next steps,
expansion deals) and the health history chart. Objectives, confirmations and notes
come from sources csbridge does not read; the page says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, time

from csbridge.models import SurveyResponse
from csbridge.reports import labels, metrics
from csbridge.reports.definitions import DEFINITIONS
from csbridge.reports.document import (
    Document,
    Items,
    Missing,
    Section,
    Table,
    arrow,
    day,
    money,
    number,
)
from csbridge.reports.periods import Period
from csbridge.reports.sections_account import tenure
from csbridge.reports.sections_health import at_or_before, health_section
from csbridge.reports.sections_plan import next_steps
from csbridge.reports.source import ReportSource, Scorepoint
from csbridge.scoring.signals import CustomerFacts

URGENT = ("urgent", "high")


def _end_of(period: Period) -> datetime:
    return datetime.combine(period.end, time(0), UTC)


def review_items(
    facts: CustomerFacts, points: Sequence[Scorepoint], quarter: Period
) -> tuple[list[str], list[str]]:
    """Highlights and challenges of `quarter`, each read from the data."""
    start = datetime.combine(quarter.start, time(0), UTC)
    before = at_or_before(points, start)
    after = at_or_before(points, _end_of(quarter))
    highlights: list[str] = []
    challenges: list[str] = []
    if before and after and before.score is not None and after.score is not None:
        moved = after.score - before.score
        text = f"Health score {before.score:.0f} → {after.score:.0f} over the quarter"
        (highlights if moved >= 0 else challenges).append(text)
    inside: list[SurveyResponse] = [
        a for a in facts.surveys if quarter.start <= a.responded_at.date() < quarter.end
    ]
    for answer in inside:
        if answer.kind == "nps":
            text = f"NPS {answer.score:.0f} on {day(answer.responded_at)}"
            if answer.comment:
                text += f": \u201c{answer.comment}\u201d"
            (highlights if answer.score >= 9 else challenges if answer.score <= 6 else []).append(
                text
            )
    for deal in facts.opportunities:
        if deal.is_closed and deal.close_date and quarter.start <= deal.close_date < quarter.end:
            outcome = "won" if deal.is_won else "lost"
            text = f"{labels.name(deal.kind)} {outcome} ({money(deal.amount)})"
            good = deal.is_won and deal.kind != "downgrade"
            (highlights if good else challenges).append(text)
    tickets = [t for t in facts.tickets if quarter.start <= t.created_at.date() < quarter.end]
    urgent = [t for t in tickets if t.priority in URGENT]
    solved = [t for t in tickets if t.solved_at is not None]
    if tickets:
        highlights.append(f"{len(solved)} of {len(tickets)} support tickets of the quarter solved")
    if urgent:
        challenges.append(f"Urgent or high-priority tickets: {len(urgent)}")
    return highlights, challenges


def build_qbr(
    source: ReportSource,
    key: str,
    quarter: Period,
    facts: CustomerFacts | None = None,
    points: Sequence[Scorepoint] | None = None,
) -> Document:
    """The QBR prep of `key` for the meeting in `quarter`, reviewing the quarter before
    (what is not given is read for it)."""
    now = source.now
    if facts is None:
        facts = next(source.customers([key]))
    facts = facts.primary_crm_only()
    if points is None:
        points = next((p for _, p in source.history([key])), [])
    account = facts.accounts[0] if facts.accounts else None
    name = account.name if account else key
    latest = at_or_before(points, now)
    reviewed = quarter.previous()
    before = at_or_before(points, datetime.combine(reviewed.start, time(0), UTC))
    nps = sorted((a for a in facts.surveys if a.kind == "nps"), key=lambda a: a.responded_at)
    highlights, challenges = review_items(facts, points, reviewed)
    score = latest.score if latest else None
    contacts = [
        [c.name or c.email or c.id, ", ".join(labels.name(r) for r in c.roles) or "-", "-"]
        for c in facts.contacts
        if c.roles
    ]
    upsells = [
        f"{o.name or labels.name(o.kind)}: {money(o.amount, o.currency)} potential"
        for o in facts.opportunities
        if o.kind == "upsell" and not o.is_closed
    ]
    document = Document(
        "qbr",
        f"QBR Prep - {name} - {quarter.label}",
        f"{key} · reviewing {reviewed.label} · as of {now.date().isoformat()}",
    )
    document.sections = [
        Section(
            "Account information",
            [
                Table(
                    ["Parameter", "Value"],
                    [
                        [
                            "ARR",
                            money(
                                account.arr if account else None,
                                account.currency if account else None,
                            ),
                        ],
                        [
                            f"Health score (vs start of {reviewed.label})",
                            f"{number(score)}/100 {arrow(score, before.score if before else None)}",
                        ],
                        [
                            "NPS (latest answer)",
                            f"{nps[-1].score:.0f} ({day(nps[-1].responded_at)})"
                            if nps
                            else "no answer",
                        ],
                        ["Tenure", tenure(account, now)],
                        ["Renewal", day(account.renewal_date if account else None)],
                    ],
                )
            ],
        ),
        Section(
            "Participants",
            [
                Table(
                    ["Name", "Role", "Attendance confirmed"],
                    contacts,
                    empty="No contact has a role.",
                ),
                Missing(
                    "Attendance", "it would come from the meeting invitation in the CRM calendar"
                ),
            ],
        ),
        Section(
            f"Review of {reviewed.label}",
            [
                Missing(
                    "Objectives against results",
                    "they would come from the success plan (a CRM custom object or a CS "
                    "platform such as Gainsight or Vitally)",
                ),
            ],
        ),
        Section(
            "Highlights",
            [Items(highlights, empty="No highlight in the data for this quarter.")],
            level=3,
        ),
        Section(
            "Challenges",
            [Items(challenges, empty="No challenge in the data for this quarter.")],
            level=3,
        ),
        Section(
            f"Plan for {quarter.label}",
            [
                Missing(
                    "Proposed objectives",
                    "they are agreed with the customer; the success plan would hold them",
                ),
                Items(
                    next_steps(facts, source.rules, now.date()),
                    numbered=True,
                    empty="No dated step.",
                ),
            ],
        ),
        Section(
            "Expansion opportunities", [Items(upsells, empty="No open upsell deal in the CRM.")]
        ),
        health_section(
            source.model, points, facts.surveys, facts.opportunities, now, "Health score"
        ),
        Section(
            "Preparation notes",
            [Missing("Notes", "the CSM writes them; CRM notes would hold them")],
        ),
    ]
    document.data = {
        "account": key,
        "quarter": quarter.label,
        "reviewed": reviewed.label,
        "score": score,
        "score_at_review_start": before.score if before else None,
        "highlights": highlights,
        "challenges": challenges,
        "surveys": asdict(metrics.surveys(facts.surveys)),
    }
    document.definitions = {k: DEFINITIONS[k] for k in ("nps", "csat", "ces")}
    return document
