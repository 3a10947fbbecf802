"""`tasks:` of the rules file: the first-run (backfill) policy, the daily task budget per
owner, and what happens to csbridge's open tasks when their episode ends.

Both are off by default (every planned task is created, as before). With them, a CRM
user finds on a day at most `per_owner_per_day` new csbridge tasks, the most urgent
first (`priority`: rule names, earliest due date first within a rule, so renewal steps
go by date); the rest wait in the task queue and are created on the following days,
each once (`csbridge.sync.budget`). On the first run against a CRM, `first_run` keeps
only the urgent rules' tasks and those already due; the backlog is skipped, reported.

When an episode ends (an account back above the churn-risk threshold, activity again
after a silence), its tasks still open are closed (`on_episode_end: close`, the status
each CRM counts as done: Salesforce `Completed`, HubSpot `COMPLETED`), cancelled with
`cancel_status` (neither CRM's standard list has a cancelled value: a Salesforce org
adds one to its Task Status picklist; HubSpot's list is fixed) or left as they are.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from csbridge.errors import CsbridgeError

# HubSpot's task statuses (hs_task_status): a fixed list a portal cannot extend
HUBSPOT_TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")

DEFAULT_PRIORITY = (
    "detractor",
    "churn_risk",
    "onboarding_no_value",
    "onboarding_no_login",
    "renewal",
    "silent",
    "onboarding",
    "detractor_remeasure",
    "handoff",
    "promoter",
    "expansion",
    "advocacy",
    "cadence",
)


class FirstRun(BaseModel):
    """What the first run against a CRM creates: the urgent rules' tasks, and any task
    due within `due_within_days`; the rest of the backlog is skipped (and reported)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urgent_rules: tuple[str, ...] = ("detractor", "churn_risk", "onboarding_no_value")
    due_within_days: int = Field(0, ge=0, le=365)


class TaskStatuses(BaseModel):
    """A task status value per CRM (Salesforce Task Status, HubSpot hs_task_status)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    salesforce: str | None = Field(None, min_length=1, max_length=255)
    hubspot: str | None = None

    @field_validator("hubspot")
    @classmethod
    def _hubspot_value(cls, value: str | None) -> str | None:
        if value is not None and value not in HUBSPOT_TASK_STATUSES:
            raise ValueError(
                f"{value!r} is not a HubSpot task status; use one of "
                + ", ".join(HUBSPOT_TASK_STATUSES)
            )
        return value


class TaskBudget(BaseModel):
    """`tasks:` of the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_owner_per_day: int | None = Field(None, ge=1, le=10_000)
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    first_run: FirstRun | None = None
    on_episode_end: Literal["close", "cancel", "leave"] = "close"
    close_status: TaskStatuses = TaskStatuses(salesforce="Completed", hubspot="COMPLETED")
    cancel_status: TaskStatuses = TaskStatuses()

    @model_validator(mode="after")
    def _cancel_named(self) -> TaskBudget:
        statuses = self.cancel_status
        if self.on_episode_end == "cancel" and not (statuses.salesforce or statuses.hubspot):
            raise ValueError(
                "on_episode_end: cancel needs cancel_status: {salesforce: <a closed value of "
                "your Task Status picklist>, hubspot: <one of "
                + ", ".join(HUBSPOT_TASK_STATUSES)
                + ">} (neither CRM has a standard cancelled status)"
            )
        return self

    def end_status(self, crm: str) -> str | None:
        """The status csbridge sets on an ended episode's open tasks in `crm` (None: left
        open); a CRM without a configured status is a configuration error (exit 2)."""
        if self.on_episode_end == "leave":
            return None
        statuses = self.close_status if self.on_episode_end == "close" else self.cancel_status
        status: str | None = getattr(statuses, crm, None)
        if status is None:
            raise CsbridgeError(
                f"rules: tasks.{self.on_episode_end}_status.{crm} is missing: name the {crm} "
                f"task status csbridge sets when an episode ends, or set on_episode_end: leave"
            )
        return status

    @property
    def active(self) -> bool:
        """Whether tasks go through the queue at all."""
        return self.per_owner_per_day is not None or self.first_run is not None

    def rank(self, rule: str) -> int:
        """The rule's place in the priority order (unlisted rules come last)."""
        return self.priority.index(rule) if rule in self.priority else len(self.priority)
