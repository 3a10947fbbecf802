"""Account sections shared by the review and the QBR prep: overview, satisfaction,
adoption and usage, relationship map, opportunities and risks.

Each function reads one customer's facts (primary CRM only, so a company kept in both
CRMs is not counted twice) and returns a `Section`; where the store has nothing for a
part of the seed template, the section says which source would fill it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from csbridge.models import Account, SurveyResponse, UsageDay
from csbridge.reports import labels
from csbridge.reports.document import (
    Block,
    Chart,
    Items,
    Missing,
    Section,
    Series,
    Table,
    arrow,
    day,
    money,
    number,
    percent,
)
from csbridge.reports.metrics import Surveys, surveys
from csbridge.reports.periods import months_back
from csbridge.scoring.signal_rules import has_left
from csbridge.scoring.signals import CustomerFacts, SignalOptions

SURVEY_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
RECENT_VERBATIMS = 3
ENGAGED_DAYS, ACTIVE_DAYS = 30, 90


def tenure(account: Account | None, now: datetime) -> str:
    """ "2 years 3 months" since the account's creation."""
    if account is None or account.created_at is None:
        return "-"
    months = (now.year - account.created_at.year) * 12 + now.month - account.created_at.month
    years, rest = divmod(max(months, 0), 12)
    return f"{years} years {rest} months" if years else f"{rest} months"


def overview_rows(
    facts: CustomerFacts, owner: str, segment: str | None, now: datetime
) -> list[list[str]]:
    account = facts.accounts[0] if facts.accounts else None
    return [
        ["Client", account.name if account else facts.key],
        ["Segment (plan)", labels.name(account.plan if account else None)],
        ["Service model", labels.name(segment)],
        ["CSM", owner],
        ["Tenure", tenure(account, now)],
        ["ARR", money(account.arr if account else None, account.currency if account else None)],
        ["Renewal date", day(account.renewal_date if account else None)],
        ["Systems", ", ".join(labels.name(s) for s in sorted(facts.systems)) or "-"],
    ]


def _score_text(kind: str, answer: SurveyResponse) -> str:
    if kind == "csat" and answer.scale_max - answer.scale_min <= 1:
        return "good" if answer.score >= answer.scale_max else "bad"
    return f"{answer.score:g}/{answer.scale_max:g}"


def satisfaction_section(
    facts: CustomerFacts, benchmark: Surveys, title: str = "3. Satisfaction"
) -> Section:
    """Latest NPS / CSAT / CES with date, the portfolio as benchmark, trend; verbatims."""
    answers = sorted(facts.surveys, key=lambda a: a.responded_at)
    portfolio = {
        "nps": number(benchmark.nps),
        "csat": percent(None if benchmark.csat is None else benchmark.csat / 100),
        "ces": number(benchmark.ces_mean, 1),
    }
    rows = []
    for kind, label in SURVEY_NAMES.items():
        mine = [a for a in answers if a.kind == kind]
        latest = mine[-1] if mine else None
        previous = mine[-2] if len(mine) > 1 else None
        rows.append(
            [
                label,
                _score_text(kind, latest) if latest else "no answer",
                day(latest.responded_at) if latest else "-",
                portfolio[kind],
                arrow(latest.score, previous.score, 0) if latest and previous else "-",
                str(len(mine)),
            ]
        )
    own = surveys(answers)
    verbatims = [
        f"\u201c{a.comment}\u201d - {day(a.responded_at)} - {SURVEY_NAMES[a.kind]} "
        f"{_score_text(a.kind, a)}"
        for a in reversed(answers)
        if a.comment
    ][:RECENT_VERBATIMS]
    return Section(
        title,
        [
            Table(["Metric", "Latest", "Date", "Portfolio", "Trend", "Answers (12 months)"], rows),
            Table(
                ["Metric", "This account"],
                [
                    ["NPS", number(own.nps)],
                    ["CSAT (top-2-box)", percent(None if own.csat is None else own.csat / 100)],
                    ["CES (mean, 1-7)", number(own.ces_mean, 1)],
                ],
            ),
            Items(verbatims, empty="No verbatim in the last 12 months."),
        ],
    )


def _window(days: Sequence[UsageDay], end: date, start_back: int, end_back: int) -> list[UsageDay]:
    first, last = end - timedelta(days=end_back), end - timedelta(days=start_back)
    return [d for d in days if first <= d.day < last]


def _usage_row(window: Sequence[UsageDay], key_features: Sequence[str]) -> list[float | None]:
    if not window:
        return [None, None, None, None]
    mau = max(d.active_users for d in window)
    sessions = sum(d.sessions for d in window)
    used = {f for d in window for f, n in d.feature_events.items() if n and f in key_features}
    return [
        float(mau),
        sessions / mau if mau else None,
        float(sum(d.events for d in window)),
        len(used) / len(key_features) if key_features else None,
    ]


def usage_section(
    facts: CustomerFacts,
    key_features: Sequence[str],
    now: datetime,
    title: str = "4. Adoption and usage",
) -> Section:
    """Key features (events last 30 d vs the 30 before), usage now / M-1 / M-3, a chart."""
    if not facts.usage:
        return Section(
            title,
            [
                Missing(
                    "Product usage",
                    "no Mixpanel group key of this account has usage in the store; "
                    "`csbridge pull` with a Mixpanel source fills it",
                )
            ],
        )
    today = now.date()
    last = _window(facts.usage, today, 0, 30)
    prior = _window(facts.usage, today, 30, 60)
    feature_rows = []
    for feature in key_features:
        now_n = sum(d.feature_events.get(feature, 0) for d in last)
        before_n = sum(d.feature_events.get(feature, 0) for d in prior)
        feature_rows.append(
            [
                feature,
                str(now_n),
                str(before_n),
                arrow(now_n, before_n, 0),
                "yes" if now_n else "no",
            ]
        )
    windows = [last, prior, _window(facts.usage, today, 90, 120)]
    values = [_usage_row(w, key_features) for w in windows]
    names = ["Monthly active users (peak day)", "Sessions per active user", "Events"]
    names.append("Feature depth (key features used)")
    metric_rows = []
    for i, label in enumerate(names):
        cells = [v[i] for v in values]
        shown = [percent(c, 0) if i == 3 else number(c, 1 if i == 1 else 0) for c in cells]
        metric_rows.append([label, *shown])
    months = months_back(today, 6)
    active = []
    for month in months:
        inside = [d.active_users for d in facts.usage if month.start <= d.day < month.end]
        active.append(sum(inside) / len(inside) if inside else None)
    blocks: list[Block] = [
        Table(["Key feature", "Events, last 30 d", "30 d before", "Trend", "In use"], feature_rows),
        Table(["Metric", "Last 30 d", "M-1", "M-3"], metric_rows),
        Chart(
            "Usage trend: mean daily active users per month",
            "line",
            [m.label for m in months],
            [Series("Daily active users", active)],
            unit="users",
        ),
    ]
    return Section(title, blocks)


def relationship_section(
    facts: CustomerFacts,
    now: datetime,
    left_fields: Sequence[str] = SignalOptions().left_company_fields,
    title: str = "6. Relationship map",
) -> Section:
    """Contacts with their roles and how recently they engaged; the seed's checklist."""
    rows = []
    active = []
    for contact in sorted(facts.contacts, key=lambda c: (c.roles == (), c.name or "")):
        seen = contact.last_activity_at
        age = (now - seen).days if seen else None
        engagement = "-" if age is None else "High" if age <= ENGAGED_DAYS else "Medium"
        if age is not None and age > ACTIVE_DAYS:
            engagement = "Low"
        if has_left(contact, left_fields):
            engagement = "Left the company"
        elif age is not None and age <= ACTIVE_DAYS:
            active.append(contact)
        rows.append(
            [
                ", ".join(labels.name(r) for r in contact.roles) or "-",
                contact.name or contact.email or contact.id,
                contact.title or "-",
                engagement,
                day(seen),
            ]
        )
    roles = {r for c in facts.contacts for r in c.roles}
    left = [c for c in facts.contacts if has_left(c, left_fields)]
    sponsor_engaged = any("executive_sponsor" in c.roles for c in active)
    checks = [
        ("Executive sponsor engaged (activity in 90 days)", sponsor_engaged),
        ("Multi-threading (3 or more contacts active in 90 days)", len(active) >= 3),
        ("Champion identified", "champion" in roles),
        ("No recent turnover (no contact marked as gone)", not left),
    ]
    return Section(
        title,
        [
            Table(["Role", "Name", "Title", "Engagement", "Last activity"], rows),
            Items([f"{'[x]' if ok else '[ ]'} {text}" for text, ok in checks]),
        ],
    )
