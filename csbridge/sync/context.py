"""One customer's stored facts → the RuleContext the playbooks read. Pure.

Takes any object with the canonical fact sequences (`accounts` with the primary CRM
account first, `contacts`, `opportunities`, `tickets`, `surveys`, `usage`), such as
`csbridge.scoring.signals.CustomerFacts`. What needs history (the score 30 days ago,
the previous status, the rule episodes) or a model (the champion status) is passed in.

Choices, where the facts leave room:
- urgent tickets: priority `urgent` created in the last 30 days (the seed's "P1");
- open tickets: status not solved / closed;
- licence use: seats used / seats purchased of the primary account;
- renewal date: the account's, else the nearest open renewal deal's close date;
- last activity: the latest product event (usage `last_event_at`, else an active day);
- closed-won: the close date of the latest won new-business deal (not after today);
- onboarding: starts at the first won new-business deal's close date, else at the
  account's creation (only the first 30 days matter); first
  login is the first day with an active user, first value the first day with a key
  feature event (`key_features`, or any feature event when none are named).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay
from csbridge.scoring.rules_context import NpsAnswer, RuleContext

URGENT_WINDOW_DAYS = 30
CLOSED_TICKET_STATUSES = frozenset({"solved", "closed"})


class FactsLike(Protocol):
    @property
    def accounts(self) -> Sequence[Account]: ...
    @property
    def contacts(self) -> Sequence[Contact]: ...
    @property
    def opportunities(self) -> Sequence[Opportunity]: ...
    @property
    def tickets(self) -> Sequence[Ticket]: ...
    @property
    def surveys(self) -> Sequence[SurveyResponse]: ...
    @property
    def usage(self) -> Sequence[UsageDay]: ...


def nps_answers(surveys: Sequence[SurveyResponse]) -> tuple[NpsAnswer, ...]:
    """The NPS answers on the 0-10 scale, oldest first; ids are `source:id`."""
    answers = [
        NpsAnswer(f"{s.source}:{s.id}", round(s.score), s.responded_at, s.comment)
        for s in surveys
        if s.kind == "nps" and not s.deleted and 0 <= s.score <= 10
    ]
    return tuple(sorted(answers, key=lambda a: (a.responded_at, a.id)))


def renewal_date(account: Account | None, deals: Sequence[Opportunity], today: date) -> date | None:
    """The account's renewal date, else the nearest open renewal deal's close date."""
    if account is not None and account.renewal_date is not None:
        return account.renewal_date
    dates = [
        d.close_date
        for d in deals
        if d.kind == "renewal" and not d.is_closed and not d.deleted and d.close_date is not None
    ]
    upcoming = [d for d in dates if d >= today]
    return min(upcoming, default=None)


def won_new_business(deals: Sequence[Opportunity], today: date) -> list[date]:
    """The close dates of the won new-business deals, none in the future."""
    return [
        d.close_date
        for d in deals
        if d.kind == "new_business"
        and d.is_won
        and not d.deleted
        and d.close_date is not None
        and d.close_date <= today
    ]


def onboarding_start(won: Sequence[date], account: Account | None) -> date | None:
    """The customer's start (seed 001 playbook 1 counts onboarding from it): its first
    won new-business deal's close date; without one, the account's creation in the CRM."""
    if won:
        return min(won)
    return account.created_at.date() if account is not None and account.created_at else None


def last_activity(usage: Sequence[UsageDay]) -> datetime | None:
    """The latest product event, or the end of the latest active day when times are absent."""
    best: datetime | None = None
    for day in usage:
        if day.active_users <= 0 and day.events <= 0:
            continue
        seen = day.last_event_at or datetime.combine(day.day, time(23, 59, 59), UTC)
        best = seen if best is None or seen > best else best
    return best


def _first_day(
    usage: Sequence[UsageDay], key_features: Collection[str]
) -> tuple[date | None, date | None]:
    login = value = None
    for day in sorted(usage, key=lambda u: u.day):
        if login is None and day.active_users > 0:
            login = day.day
        features = day.feature_events
        hit = (
            any(features.get(f, 0) > 0 for f in key_features)
            if key_features
            else any(n > 0 for n in features.values())
        )
        if value is None and hit:
            value = day.day
    return login, value


def rule_context(
    key: str,
    facts: FactsLike,
    now: datetime,
    *,
    score: float | None = None,
    status: str | None = None,
    score_30d_ago: float | None = None,
    previous_status: str | None = None,
    previous_score: float | None = None,
    episodes: Mapping[str, date] | None = None,
    champion_left: bool = False,
    key_features: Collection[str] = (),
    segment: str | None = None,
    touches: Mapping[str, datetime] | None = None,
) -> RuleContext:
    """The RuleContext of one customer at `now` (see the module doc for each choice)."""
    account = facts.accounts[0] if facts.accounts else None
    since = now - timedelta(days=URGENT_WINDOW_DAYS)
    tickets = [t for t in facts.tickets if not t.deleted]
    seats = None
    if account is not None and account.seats_purchased and account.seats_used is not None:
        seats = account.seats_used / account.seats_purchased
    login, value = _first_day(facts.usage, key_features)
    won = won_new_business(facts.opportunities, now.date())
    return RuleContext(
        account_id=key,
        owner_id=account.owner_id if account is not None else None,
        score=score,
        status=status,
        previous_status=previous_status,
        score_30d_ago=score_30d_ago,
        previous_score=previous_score,
        episodes=dict(episodes or {}),
        nps_answers=nps_answers(facts.surveys),
        urgent_tickets_30d=sum(
            1 for t in tickets if t.priority == "urgent" and t.created_at >= since
        ),
        open_tickets=sum(1 for t in tickets if t.status.lower() not in CLOSED_TICKET_STATUSES),
        champion_left=champion_left,
        license_utilisation=seats,
        renewal_date=renewal_date(account, facts.opportunities, now.date()),
        last_activity=last_activity(facts.usage),
        onboarding_started=onboarding_start(won, account),
        closed_won=max(won, default=None),
        first_login=login,
        first_value=value,
        segment=segment,
        touches=dict(touches or {}),
    )
