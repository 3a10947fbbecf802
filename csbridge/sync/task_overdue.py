"""Overdue playbook steps: csbridge's sequence tasks still open after their due date.

A sequence moves on by day whatever the CSM did (`rules_sequence`), so a step still
open as read back this run (`task_readback`) after its due date (the CRM's, so a
rescheduled task counts from its new date) holds up the steps after it. The run report
lists each one per CRM: account, rule, step (`start` for the rule's own task), due
date, days overdue and the step it holds up (None for the last). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from csbridge.connectors.protocol import TaskState
from csbridge.scoring.rules_config import RulesConfig
from csbridge.scoring.rules_context import split_key

SEQUENCE_RULES = (
    "detractor",
    "churn_risk",
    "silent",
    "onboarding",
    "adoption",
    "handoff",
    "advocacy",
)
ESCALATE = "escalate"  # the detractor's re-measure escalation, after its last step
LISTED = 100  # the run report lists the most overdue steps, counts all of them
START = "start"


@dataclass(frozen=True, slots=True)
class Overdue:
    account_id: str
    rule: str
    step: str
    due: date
    days_overdue: int
    holds_up: str | None


def overdue_steps(
    open_tasks: Mapping[str, TaskState], config: RulesConfig, today: date
) -> list[Overdue]:
    """The open sequence tasks past their due date, most overdue first."""
    out: list[Overdue] = []
    for key, state in open_tasks.items():
        parts = split_key(key)
        if parts is None or parts.rule not in SEQUENCE_RULES or state.due is None:
            continue
        if state.due >= today:
            continue
        order = [START, *(s.name for s in getattr(config.rules, parts.rule).steps)]
        if parts.rule == "detractor":
            order.append(ESCALATE)
        last = parts.period.rsplit(":", 1)[-1]
        step = last if last in order[1:] and ":" in parts.period else START
        at = order.index(step)
        following = order[at + 1] if at + 1 < len(order) else None
        days = (today - state.due).days
        out.append(Overdue(parts.account_id, parts.rule, step, state.due, days, following))
    return sorted(out, key=lambda o: (-o.days_overdue, o.account_id, o.rule, o.step))


def overdue_report(items: list[Overdue]) -> dict[str, Any]:
    """`steps_overdue` of the run report: the count and the first `LISTED`."""
    return {
        "count": len(items),
        "list": [{**asdict(o), "due": o.due.isoformat()} for o in items[:LISTED]],
    }
