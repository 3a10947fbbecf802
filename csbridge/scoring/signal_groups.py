"""Signals by family (usage, support, surveys, CRM) for one customer; rules in `signal_rules.py`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from csbridge.models import UsageDay
from csbridge.scoring import signal_rules as rule
from csbridge.scoring.signal_types import CustomerFacts, SignalOptions, SignalValue


def usage_windows(facts: CustomerFacts, now: datetime) -> list[list[UsageDay]]:
    """Usage days of the last 30 d, the 30 d before, and days 61-90 before `now`'s date."""
    today = now.date()
    return [
        rule.days_between(
            facts.usage, today - timedelta(days=30 * (k + 1)), today - timedelta(days=30 * k + 1)
        )
        for k in range(3)
    ]


def per_user_rates(facts: CustomerFacts, now: datetime) -> tuple[float | None, float | None]:
    """Sessions and minutes in product per monthly-active user over the last 30 d (the
    portfolio's medians are the benchmarks of session_frequency and time_in_product)."""
    last = usage_windows(facts, now)[0]
    mau = rule.distinct_users(last)
    return rule.sessions_per_user(last, mau), rule.minutes_per_user(last, mau)


def usage_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """dau_mau, feature adoption/breadth, sessions, time in product, trend, users, licences."""
    primary = facts.accounts[0] if facts.accounts else None
    seats = primary.seats_purchased if primary is not None else None
    if not facts.usage:
        used = primary.seats_used if primary is not None else None
        share = used / seats if used is not None and seats else None
        return {"license_utilization": share}
    last, previous, quarter_ago = usage_windows(facts, now)
    mau = rule.distinct_users(last)
    features = rule.feature_share(last, options.key_features)
    sessions = rule.sessions_per_user(last, mau) if mau else 0.0
    minutes = rule.minutes_per_user(last, mau)
    if minutes is None and any(u.active_seconds is not None for u in facts.usage):
        minutes = 0.0  # durations are tracked, none in 30 d: no time spent
    return {
        "dau_mau": round(rule.dau_mau(last, 30, mau), 4),
        "feature_adoption": features,
        "feature_breadth": features,
        "session_frequency": _against(sessions, options.session_benchmark),
        "time_in_product": _against(minutes, options.time_benchmark),
        "usage_trend": rule.change(sum(u.events for u in last), sum(u.events for u in previous)),
        "license_utilization": round(mau / seats, 4) if seats else None,
        "user_expansion": rule.change(mau, rule.distinct_users(quarter_ago)),
    }


def _against(per_user: float | None, benchmark: float | None) -> float | None:
    """A per-user rate relative to its benchmark; None without either."""
    if per_user is None or benchmark is None:
        return None
    return round(per_user / benchmark, 4)


def support_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """support_tickets, aged_open_tickets, severity_share, ticket_volume_trend."""
    if "zendesk" not in facts.systems and not facts.tickets:
        return {}
    tickets = facts.tickets
    recent = rule.created_between(tickets, rule.window(now, 90), now)
    before = rule.created_between(tickets, rule.window(now, 180), rule.window(now, 90))
    aged_before = rule.window(now, options.aged_ticket_days)
    return {
        "support_tickets": sum(1 for t in recent if rule.is_open(t)),
        "aged_open_tickets": sum(
            1 for t in tickets if rule.is_open(t) and t.created_at < aged_before
        ),
        "severity_share": rule.severity_share(recent),
        "ticket_volume_trend": rule.change(len(recent), len(before)),
    }


def survey_signals(
    facts: CustomerFacts, now: datetime, unit: Literal["share", "mean"]
) -> dict[str, SignalValue | None]:
    """nps (latest in 365 d) and csat (90 d, in the model's unit)."""
    answers = facts.surveys
    since = rule.window(now, 90)
    csat = [a for a in answers if a.kind == "csat" and since <= a.responded_at <= now]
    value = rule.csat_share(csat) if unit == "share" else rule.csat_mean(csat)
    recent_nps = [a for a in answers if a.responded_at <= now]
    return {
        "nps": rule.latest_nps(recent_nps, rule.window(now, 365)),
        "csat": None if value is None else round(value, 4),
    }


def crm_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """Contract movement, open discussions, contacts, sponsor, champion, renewal."""
    today = now.date()
    opps = facts.opportunities
    movement = rule.latest_movement(opps, today, today - timedelta(days=365))
    plan = {"upsell": "upgrade"}.get(movement or "", movement)
    out: dict[str, SignalValue | None] = {
        "contract_growth": movement,
        "plan_movement": plan,
        "commercial_discussions": rule.open_discussion(opps) if facts.crm else None,
        "renewal_proximity": rule.days_to(facts.accounts[0].renewal_date, today)
        if facts.crm and facts.accounts
        else None,
    }
    contacts = facts.contacts
    if not contacts:
        return out
    left = {c.id for c in contacts if rule.has_left(c, options.left_company_fields)}
    active = [c for c in contacts if c.id not in left]
    since = rule.window(now, 90)
    responders = {a.contact_id for a in facts.surveys if a.contact_id and a.responded_at >= since}
    sponsors = [c for c in active if "executive_sponsor" in c.roles]
    if not sponsors:
        sponsor = "none"
    elif any(rule.recently_active(c, since, responders) for c in sponsors):
        sponsor = "engaged"
    else:
        sponsor = "identified"
    champions = [c for c in contacts if "champion" in c.roles]
    out.update(
        multi_threading=len(active),
        contacts_count=len(active),
        exec_sponsor=sponsor,
        sponsor_seniority=rule.sponsor_seniority(
            [c for c in active if rule.SPONSOR_ROLES & set(c.roles)]
        ),
        champion_present=rule.champion_status(champions, left, since, responders),
    )
    return out
