"""Playbook outcomes as the runs stored them: per rule, the tasks csbridge created and
how many a CSM completed (read back from the CRMs) or csbridge closed when the episode
ended; and how many churn-risk episodes ended within 60 days of opening.

The store holds the facts (`task_keys`, `task_outcomes`, `episode_log`); this module is
the one place that counts them, for the portfolio report. A task key counts once
however many CRMs hold it; it is completed when a CSM completed it in any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from csbridge.scoring.rules_context import split_key
from csbridge.store.store import Store
from csbridge.store.tables import episode_log, task_keys, task_outcomes

RECOVERY_DAYS = 60


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    created: int = 0
    completed: int = 0  # by a CSM, as read back
    closed: int = 0  # by csbridge, its episode having ended

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.created if self.created else None


@dataclass(frozen=True, slots=True)
class Recovery:
    opened: int  # churn-risk episodes at least 60 days old, or ended
    recovered: int  # ended within 60 days of opening
    pending: int  # running and less than 60 days old: not counted yet

    @property
    def share(self) -> float | None:
        return self.recovered / self.opened if self.opened else None


def rule_outcomes(
    created: Iterable[str], outcomes: Iterable[tuple[str, str]]
) -> dict[str, RuleOutcome]:
    """Created task keys and (key, outcome) pairs of any CRM → figures per rule. Pure."""
    seen: dict[str, set[str]] = {}
    for key, outcome in outcomes:
        seen.setdefault(key, set()).add(outcome)
    counts: dict[str, list[int]] = {}
    for key in set(created):
        parts = split_key(key)
        if parts is None:
            continue
        row = counts.setdefault(parts.rule, [0, 0, 0])
        row[0] += 1
        done = seen.get(key, set())
        row[1] += "completed" in done
        row[2] += "completed" not in done and bool(done & {"closed", "cancelled"})
    return {rule: RuleOutcome(*row) for rule, row in sorted(counts.items())}


def recovery(
    episodes: Iterable[tuple[date, date | None]], as_of: date, days: int = RECOVERY_DAYS
) -> Recovery:
    """(opened, ended) of churn-risk episodes → how many ended within `days`. Pure."""
    opened = recovered = pending = 0
    window = timedelta(days=days)
    for started, ended in episodes:
        if ended is not None and ended - started <= window:
            opened, recovered = opened + 1, recovered + 1
        elif ended is None and as_of - started < window:
            pending += 1
        else:
            opened += 1
    return Recovery(opened, recovered, pending)


def playbook_outcomes(store: Store, as_of: date) -> tuple[dict[str, RuleOutcome], Recovery]:
    """The figures per rule and the churn-risk recovery, from what the runs stored."""
    log = episode_log.c
    with store.engine.connect() as conn:
        created = conn.execute(select(task_keys.c.key).where(task_keys.c.status == "created"))
        keys = [k for k in created.scalars() if not k.endswith(":notify")]
        done = conn.execute(select(task_outcomes.c.key, task_outcomes.c.outcome)).all()
        spans = conn.execute(
            select(log.started_on, log.ended_on).where(
                log.rule == "churn_risk", log.started_on <= as_of
            )
        ).all()
    ended = [(s, e if e is None or e <= as_of else None) for s, e in spans]
    return rule_outcomes(keys, [(k, o) for k, o in done]), recovery(ended, as_of)
