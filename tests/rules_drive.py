"""Shared by the playbook rule tests: a fixed clock, the seeds' rules and a driver that
evaluates day after day like the job does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from csbridge.scoring.rules import Action, RuleContext, evaluate
from csbridge.scoring.rules_config import RulesConfig, load_rules

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
RULES = load_rules()


def drive(
    days: int, context: Callable[[int], dict[str, object]], config: RulesConfig = RULES
) -> dict[str, tuple[int, Action]]:
    """Evaluate day after day carrying the episodes like the job does: each task key with
    the first day it was asked for (and its action)."""
    episodes: dict[str, date] = {}
    first: dict[str, tuple[int, Action]] = {}
    for day in range(days):
        fields: dict[str, object] = {"account_id": "A1", "owner_id": "u1", "episodes": episodes}
        fields.update(context(day))
        result = evaluate(RuleContext(**fields), config, NOW + timedelta(days=day))  # type: ignore[arg-type]
        episodes = dict(result.episodes)
        for action in result.actions:
            if action.kind == "task":
                first.setdefault(action.key, (day, action))
    return first


def tasks_of(ctx: RuleContext, config: RulesConfig = RULES) -> dict[str, Action]:
    return {a.key: a for a in evaluate(ctx, config, NOW).actions if a.kind == "task"}
