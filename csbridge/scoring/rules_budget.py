"""No wall of tasks: the first-run (backfill) policy and the daily task budget per owner.

Both are off by default (every planned task is created, as before). With them, a CRM
user finds on a day at most `per_owner_per_day` new csbridge tasks, the most urgent
first (`priority`: rule names, earliest due date first within a rule, so renewal steps
go by date); the rest wait in the task queue and are created on the following days,
each once (`csbridge.sync.budget`). On the first run against a CRM, `first_run` keeps
only the urgent rules' tasks and those already due; the backlog is skipped, reported.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PRIORITY = (
    "detractor",
    "churn_risk",
    "onboarding_no_value",
    "onboarding_no_login",
    "renewal",
    "silent",
    "onboarding",
    "detractor_remeasure",
    "promoter",
    "expansion",
    "cadence",
)


class FirstRun(BaseModel):
    """What the first run against a CRM creates: the urgent rules' tasks, and any task
    due within `due_within_days`; the rest of the backlog is skipped (and reported)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urgent_rules: tuple[str, ...] = ("detractor", "churn_risk", "onboarding_no_value")
    due_within_days: int = Field(0, ge=0, le=365)


class TaskBudget(BaseModel):
    """`tasks:` of the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_owner_per_day: int | None = Field(None, ge=1, le=10_000)
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    first_run: FirstRun | None = None

    @property
    def active(self) -> bool:
        """Whether tasks go through the queue at all."""
        return self.per_owner_per_day is not None or self.first_run is not None

    def rank(self, rule: str) -> int:
        """The rule's place in the priority order (unlisted rules come last)."""
        return self.priority.index(rule) if rule in self.priority else len(self.priority)
