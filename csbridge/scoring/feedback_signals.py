"""Sentiment, executive logins and CSM-input signals of one customer (pure).

- ticket_sentiment: of the tickets created in the last 180 d that the requester rated
  (Zendesk `satisfaction_rating.score` good / bad), the share rated good; missing
  without a rated ticket ("offered" and "unoffered" are not answers).
- feedback_sentiment: the tone of the survey answers of the last 365 d that are not about
  a ticket (NPS, CSAT, CES from the CRM or a survey tool; ticket ratings feed
  ticket_sentiment instead). An NPS answer is positive as a promoter (9-10), negative
  as a detractor (0-6); any other answer is positive in the top quarter of its scale
  (CSAT 4-5 of 5, CES 6-7 of 7), negative below its middle (CSAT 1-2, CES 1-3),
  neutral between. The net (positives − negatives) / answers is
  positive from +0.5, negative to −0.5, mixed between: NPS's own promoter / detractor
  split, and a ±50 net like a clearly good or bad NPS. Verbatims are not read: no
  tone-of-text rule holds across languages and products without a model.
- exec_logins: login days in the last 30 d of the contacts whose title matches
  `options.exec_titles` (C-level, VP, director), by joining each contact's email to
  the product's users (the Mixpanel `distinct_id` when it is the email, as after
  `identify(email)`). Each usage day keeps its users exactly up to 128 a day; a busier
  day keeps only an estimate and is left out of the count. Missing without usage data,
  without a contact title, or when no day of the 30 could be checked.
- relationship_quality, community_activity, referrals, payment_delay: the account
  fields of `options.input_fields` that CSMs fill in (a billing integration for days
  past due), first non-empty across the customer's accounts; text is lower-cased, and
  a number held as text (HubSpot) becomes a number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from csbridge.distinct import DistinctUsers
from csbridge.models import Contact, SurveyResponse, Ticket
from csbridge.scoring import signal_rules as rule
from csbridge.scoring.signal_types import CustomerFacts, SignalOptions, SignalValue

RATED = frozenset({"good", "bad"})


def feedback_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """The signals of the module doc for one customer."""
    out: dict[str, SignalValue | None] = {
        "ticket_sentiment": ticket_sentiment(facts.tickets, now),
        "feedback_sentiment": feedback_sentiment(facts.surveys, now),
        "exec_logins": exec_logins(facts, now, options),
    }
    for indicator, fields in options.input_fields.items():
        out[indicator] = input_value(rule.first_custom(facts.accounts, *fields))
    return out


def ticket_sentiment(tickets: Sequence[Ticket], now: datetime) -> float | None:
    """Rated tickets of the last 180 d: the share rated good."""
    since = rule.window(now, 180)
    scores = [
        (t.satisfaction_score or "").lower()
        for t in tickets
        if not t.deleted and since <= t.created_at <= now
    ]
    rated = [s for s in scores if s in RATED]
    return round(rated.count("good") / len(rated), 4) if rated else None


def tone(answer: SurveyResponse) -> int:
    """+1 positive, -1 negative, 0 neutral, on the answer's own scale (see the module doc)."""
    if answer.kind == "nps":
        return 1 if answer.score >= 9 else (-1 if answer.score <= 6 else 0)
    span = answer.scale_max - answer.scale_min
    if span <= 0:
        return 0
    position = (answer.score - answer.scale_min) / span
    return 1 if position >= 0.75 else (-1 if position < 0.5 else 0)


def feedback_sentiment(answers: Sequence[SurveyResponse], now: datetime) -> str | None:
    """positive / mixed / negative from the net tone of survey answers of 365 d."""
    since = rule.window(now, 365)
    tones = [
        tone(a)
        for a in answers
        if a.ticket_id is None and not a.deleted and since <= a.responded_at <= now
    ]
    if not tones:
        return None
    net = sum(tones) / len(tones)
    return "positive" if net >= 0.5 else ("negative" if net <= -0.5 else "mixed")


def executives(contacts: Sequence[Contact], pattern: str) -> list[Contact] | None:
    """Contacts still there whose title matches; None when no contact has a title."""
    if not any(c.title for c in contacts):
        return None
    titles = re.compile(pattern, re.IGNORECASE)
    return [c for c in contacts if c.email and c.title and titles.search(c.title)]


def exec_logins(facts: CustomerFacts, now: datetime, options: SignalOptions) -> int | None:
    """Login days of executive contacts over the last 30 whole days (see the module doc)."""
    if not facts.usage:
        return None
    present = [c for c in facts.contacts if not rule.has_left(c, options.left_company_fields)]
    execs = executives(present, options.exec_titles)
    if execs is None:
        return None
    if not execs:
        return 0  # no executive among the contacts: none logs in
    today = now.date()
    days = rule.days_between(facts.usage, today - timedelta(days=30), today - timedelta(days=1))
    forms = {c.email.strip().lower(): {c.email, c.email.strip().lower()} for c in execs if c.email}
    checked, logins = 0, 0
    for day in days:
        sketch = _sketch(day.users)
        if sketch is None or not sketch.exact:
            continue
        checked += 1
        logins += sum(1 for names in forms.values() if any(sketch.contains(n) for n in names))
    silent = not any(day.events for day in days)  # no usage at all: nobody logged in
    return logins if checked or silent else None


def _sketch(text: str | None) -> DistinctUsers | None:
    if not text:
        return None
    try:
        return DistinctUsers.decode(text)
    except ValueError:
        return None


def input_value(value: object) -> SignalValue | None:
    """A CSM-input field's value as a signal: trimmed lower-case text, or a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text.lower()
