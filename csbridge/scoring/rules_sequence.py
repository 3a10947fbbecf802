"""Which steps of a sequence are due on a given day, and what their conditions read. Pure.

A run creates the steps of the latest day that has come since the episode's start
(several steps on one day are branches, each with its own condition, e.g. the silent
account's escalations). Runs every day create each step on its day; a run that comes
late still creates the current step, and a step overtaken by a later one is skipped
rather than piled up (the same choice as the renewal schedule: no wall of stale tasks).
The task key (`{period}:{step}`) makes each step's task once per episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from csbridge.scoring.rules_config import RulesConfig
from csbridge.scoring.rules_context import RuleContext
from csbridge.scoring.rules_steps import Condition, Step

RENEWAL_SOON_DAYS = 90
STAGE_ENDS = (("onboarding", 30), ("adoption", 90), ("value", 180))  # days since the start
HIGH_TOUCH = frozenset({"high_touch", "strategic", "enterprise"})


def holds(condition: Condition | None, ctx: RuleContext, config: RulesConfig, today: date) -> bool:
    """Whether a step's condition holds for the account today.

    - urgent_tickets: an urgent ("P1") ticket in the last 30 days;
    - below_threshold / recovered: health below / at or above the churn-risk threshold;
    - renewal_soon: a renewal date within 90 days;
    - no_first_value: onboarding has not reached a key feature yet;
    - high_touch: the account's segment is a high-touch one (seed 002's "strategic").
    """
    below = config.rules.churn_risk.below
    if condition is None:
        return True
    if condition == "urgent_tickets":
        return ctx.urgent_tickets_30d >= 1
    if condition == "below_threshold":
        return ctx.score is not None and ctx.score < below
    if condition == "recovered":
        return ctx.score is not None and ctx.score >= below
    if condition == "renewal_soon":
        renewal = ctx.renewal_date
        return renewal is not None and 0 <= (renewal - today).days <= RENEWAL_SOON_DAYS
    if condition == "no_first_value":
        return ctx.first_value is None
    return ctx.segment in HIGH_TOUCH


def lifecycle_stage(ctx: RuleContext, today: date) -> str | None:
    """Seed 001's stage: `renewal` within 90 days of the renewal date, else by the days
    since the account's start: onboarding (30), adoption (90), value (180), expansion;
    None when the start is unknown."""
    renewal = ctx.renewal_date
    if renewal is not None and 0 <= (renewal - today).days <= RENEWAL_SOON_DAYS:
        return "renewal"
    if ctx.onboarding_started is None:
        return None
    age = (today - ctx.onboarding_started).days
    return next((stage for stage, end in STAGE_ENDS if age <= end), "expansion")


def due_steps(
    steps: Sequence[Step], start: date, today: date, ctx: RuleContext, config: RulesConfig
) -> list[tuple[Step, date]]:
    """The steps (ordered by day) to create today for an episode started on `start`,
    each with its due date (its day plus its window, never before today)."""
    elapsed = (today - start).days
    arrived = [s for s in steps if s.day <= elapsed]
    if not arrived:
        return []
    day = arrived[-1].day
    return [
        (step, max(start + timedelta(days=step.day + step.window_days), today))
        for step in arrived
        if step.day == day and holds(step.when, ctx, config, today)
    ]
