"""A CS platform's health-score alerts, kept so the scheduled run agrees with the reaction.

A Gainsight / ChurnZero / ... `score_drop` or `threshold_crossed` alert carries the
platform's own health score. The reaction lets that score drive the churn-risk rule
(a drop to 35 opens the episode, tags `Churn Risk`, creates the task). Storing the
episode alone would not hold it: at the next run csbridge's own score (say 72) ends the
episode (it stays open only below 65) and the tag goes. So each alert is stored here,
the latest per (customer, platform), and every cycle's rules read the freshest
platform score as the churn-risk trigger while it is fresh: `webhooks.alert_hold_days`
after the alert, or until a newer alert from that platform replaces it. After that the
run's own score decides again. Fields (score, band, trend) always carry csbridge's own
score: only what the rules read changes (`csbridge.sync.cycle.score_customers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, select

from csbridge.store.facts import as_utc
from csbridge.store.store import Store
from csbridge.store.tables import platform_scores


@dataclass(frozen=True)
class PlatformScore:
    """One CS platform's latest score alert for a customer."""

    platform: str
    score: float
    previous_score: float | None
    alerted_at: datetime
    event_id: str


def save_platform_score(store: Store, account_key: str, alert: PlatformScore) -> bool:
    """Keep `alert` as the customer's latest from its platform; False (nothing stored)
    when a newer alert from that platform is already kept (a late or replayed event)."""
    same = and_(
        platform_scores.c.account_key == account_key,
        platform_scores.c.platform == alert.platform,
    )
    with store.engine.begin() as conn:
        kept = as_utc(conn.execute(select(platform_scores.c.alerted_at).where(same)).scalar())
        if kept is not None and kept > alert.alerted_at:
            return False
        conn.execute(delete(platform_scores).where(same))
        conn.execute(
            insert(platform_scores).values(
                account_key=account_key,
                platform=alert.platform,
                score=alert.score,
                previous_score=alert.previous_score,
                alerted_at=alert.alerted_at,
                event_id=alert.event_id[:255],
            )
        )
    return True


def fresh_platform_scores(
    store: Store, now: datetime, hold: timedelta, only: Sequence[str] | None = None
) -> dict[str, PlatformScore]:
    """Each customer's (or `only` these customers') freshest platform score alerted in
    (now - hold, now]: the one its rules read."""
    query = select(platform_scores).where(
        platform_scores.c.alerted_at > now - hold, platform_scores.c.alerted_at <= now
    )
    if only is not None:
        query = query.where(platform_scores.c.account_key.in_(list(only)))
    fresh: dict[str, PlatformScore] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            at = as_utc(row.alerted_at)
            assert at is not None
            item = PlatformScore(row.platform, row.score, row.previous_score, at, row.event_id)
            if row.account_key not in fresh or at > fresh[row.account_key].alerted_at:
                fresh[row.account_key] = item
    return fresh
