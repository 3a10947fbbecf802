"""Playbook sequences and assignees as configuration: a step, its condition, who gets it.

A rule's own task opens its episode (day 0); its `steps:` follow on day offsets from the
episode's start (seed 001: churn risk J2 call, J3 action plan, J7 executive sponsor when
P1 tickets ...). Each step names who gets its task: `owner` (the account owner in that
CRM), `cs_manager` (the owner's manager, from `assignees:`) or `queue:<name>` (an id
per CRM, from `assignees:`). Owner ids differ per CRM, so `assignees:` is per CRM.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Assignee = Annotated[str, StringConstraints(pattern=r"^(owner|cs_manager|queue:[A-Za-z0-9_-]+)$")]
"""`owner`, `cs_manager` or `queue:<name>` (the name is looked up in `assignees:`)."""

Condition = Literal[
    "urgent_tickets",
    "below_threshold",
    "recovered",
    "renewal_soon",
    "no_first_value",
    "high_touch",
]
"""When a step goes ahead (see `csbridge.scoring.rules` for what each one reads)."""


Stage = Literal["onboarding", "adoption", "value", "expansion", "renewal"]
"""Seed 001's lifecycle stages (see `csbridge.scoring.rules_sequence.lifecycle_stage`)."""


class Step(BaseModel):
    """One step of a sequence: its task is created on `day` after the episode's start,
    due `window_days` later (seed's "J3-5": day 3, window 2), when `when` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    day: int = Field(ge=0, le=3650)
    window_days: int = Field(0, ge=0, le=365)
    assignee: Assignee = "owner"
    when: Condition | None = None
    subject: str
    description: str = ""


def ordered_steps(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """`steps` by day (stable), after checking their names are distinct."""
    names = [s.name for s in steps]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ValueError(f"two steps are named {duplicate!r}; give each step its own name")
    return tuple(sorted(steps, key=lambda s: s.day))


class CrmAssignees(BaseModel):
    """Who `cs_manager` and `queue:<name>` are in one CRM (that CRM's user/owner ids)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cs_managers: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="manager id → the owner ids of their team"
    )
    default_cs_manager: str | None = None
    queues: dict[str, str] = Field(default_factory=dict, description="queue name → id")

    @model_validator(mode="after")
    def _one_manager_per_owner(self) -> CrmAssignees:
        seen: dict[str, str] = {}
        for manager, owners in self.cs_managers.items():
            for owner in owners:
                if owner in seen:
                    raise ValueError(
                        f"owner {owner} is in the teams of {seen[owner]} and {manager}"
                    )
                seen[owner] = manager
        return self

    def manager_of(self, owner_id: str | None) -> str | None:
        """The owner's manager: their team's, else the default; None when neither is set."""
        for manager, owners in self.cs_managers.items():
            if owner_id in owners:
                return manager
        return self.default_cs_manager

    def resolve(self, assignee: str, owner_id: str | None) -> str | None:
        """The user id a task for `assignee` goes to; the account owner when the config
        names nobody (a task is never dropped for want of an assignee)."""
        if assignee == "cs_manager":
            return self.manager_of(owner_id) or owner_id
        if assignee.startswith("queue:"):
            return self.queues.get(assignee.removeprefix("queue:")) or owner_id
        return owner_id


class Assignees(BaseModel):
    """`assignees:` of the rules file, per CRM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    salesforce: CrmAssignees = Field(default_factory=CrmAssignees)
    hubspot: CrmAssignees = Field(default_factory=CrmAssignees)

    def for_crm(self, crm: str) -> CrmAssignees:
        """The assignees of `crm` (`salesforce` or `hubspot`)."""
        return self.hubspot if crm == "hubspot" else self.salesforce

    def queue_names(self) -> set[str]:
        """Every queue name any CRM defines."""
        return set(self.salesforce.queues) | set(self.hubspot.queues)
