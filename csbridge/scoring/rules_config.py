"""Playbook rules as configuration: the schema, the packaged defaults, and how to load them.

The defaults (`rules_defaults.yaml`, beside this module) reproduce the seeds' playbooks.
A deployment's file has the same shape; each key it gives replaces the default one
(`rules.churn_risk.below: 55` changes that threshold and keeps everything else).
Errors are one line naming the file and the key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from csbridge.errors import CsbridgeError
from csbridge.scoring.cadence import Cadence
from csbridge.scoring.rules_budget import TaskBudget
from csbridge.scoring.rules_steps import Assignee, Assignees, Stage, Step, ordered_steps
from csbridge.scoring.rules_templates import check_template

__all__ = ["Assignee", "NotifyTarget", "RulesConfig", "Step", "load_rules", "parse_rules"]

NotifyTarget = Literal["csm", "cs_manager"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    segments: tuple[str, ...] = ()  # only accounts in these segments (empty: every one)
    stages: tuple[Stage, ...] = ()  # only accounts in these lifecycle stages (empty: all)

    @model_validator(mode="after")
    def _templates(self) -> _Rule:
        for name, value in self:
            if name.endswith(("subject", "description")) and isinstance(value, str):
                check_template(value)
        for step in getattr(self, "steps", ()):
            if isinstance(step, Step):
                check_template(step.subject)
                check_template(step.description)
        return self

    def applies_to(self, segment: str | None, stage: str | None) -> bool:
        """Enabled, and the account's segment and lifecycle stage are ones the rule is
        limited to (if it is)."""
        return (
            self.enabled
            and (not self.segments or segment in self.segments)
            and (not self.stages or stage in self.stages)
        )


class _Sequence(_Rule):
    """A rule whose own task opens an episode, followed by `steps` (see rules_steps)."""

    steps: tuple[Step, ...] = ()

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        return ordered_steps(steps)


class DetractorRule(_Sequence):
    max_nps: int = Field(6, ge=0, le=10)
    lookback_days: int = Field(14, ge=0)
    due_hours: int = Field(24, ge=0)
    remeasure_days: int = Field(30, ge=1)
    pause_marketing_days: int = Field(30, ge=0)
    notify: tuple[NotifyTarget, ...] = ("csm", "cs_manager")
    subject: str
    description: str = ""
    remeasure_subject: str
    # seed 000 "J+30 : RE-MESURE ... si pas d'amélioration : escalade churn-prevention":
    # on the re-measure day, when no newer answer is above max_nps (None: no escalation)
    escalate_subject: str | None = None
    escalate_description: str = ""
    escalate_assignee: Assignee = "cs_manager"
    escalate_due_days: int = Field(2, ge=0)


class PromoterRule(_Rule):
    min_nps: int = Field(9, ge=0, le=10)
    lookback_days: int = Field(14, ge=0)
    tag: str | None = "Promoter"
    due_days: int = Field(7, ge=0)
    subject: str
    description: str = ""


class ChurnRiskRule(_Sequence):
    below: float = Field(60, ge=0, le=100)
    drop: float = Field(20, gt=0, le=100)
    urgent_tickets: int = Field(2, ge=1)
    champion_left: bool = True
    detractor: bool = True  # a detractor answer within rules.detractor.lookback_days
    tag: str | None = "Churn Risk"
    due_days: int = Field(2, ge=0)
    notify: tuple[NotifyTarget, ...] = ("csm", "cs_manager")
    subject: str
    description: str = ""


class ExpansionRule(_Rule):
    above: float = Field(80, ge=0, le=100)
    license_above: float = Field(0.70, ge=0, le=10)
    license_margin: float = Field(0.05, ge=0, le=1)
    due_days: int = Field(14, ge=0)
    subject: str
    description: str = ""


class RenewalStep(_Rule):
    days: int = Field(ge=0)  # 0: the renewal day itself (outcome and post-mortem)
    assignee: Assignee = "owner"
    subject: str
    description: str = ""


class RenewalRule(_Rule):
    steps: tuple[RenewalStep, ...]

    @model_validator(mode="after")
    def _distinct_days(self) -> RenewalRule:
        days = [s.days for s in self.steps]
        if len(set(days)) != len(days):
            raise ValueError("two renewal steps have the same days")
        return self

    def ordered(self) -> tuple[RenewalStep, ...]:
        """The steps from the nearest to the renewal (D-day) to the farthest (180 d)."""
        return tuple(sorted(self.steps, key=lambda s: s.days))


class SilentRule(_Sequence):
    days: int = Field(14, ge=1)
    due_days: int = Field(1, ge=0)
    subject: str
    description: str = ""


class OnboardingRule(_Sequence):
    no_login_days: int = Field(3, ge=0)
    no_value_days: int = Field(14, ge=0)
    window_days: int = Field(30, ge=1)
    due_days: int = Field(1, ge=0)
    no_login_subject: str
    no_value_subject: str
    notify_no_value: tuple[NotifyTarget, ...] = ("cs_manager",)


class AdoptionRule(_Sequence):
    """Seed 001 playbook 2: steps from the onboarding start, between `from_day` and
    `to_day` (J30-J90)."""

    from_day: int = Field(30, ge=0)
    to_day: int = Field(90, ge=1)


class HandoffRule(_Sequence):
    """Seed 002 "Nouveau Client (Handoff)": steps from the closed-won date of the latest
    won new-business deal, while it is at most `to_day` days old (J0 to J+7)."""

    to_day: int = Field(7, ge=0)


class AdvocacyRule(_Sequence):
    """Seed 000's top status band ("Champion: advocacy, case study, referral"): its own
    task when the account enters `band`, then `steps`, once per stay in the band."""

    band: str = "champion"
    due_days: int = Field(7, ge=0)
    subject: str
    description: str = ""


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detractor: DetractorRule
    promoter: PromoterRule
    churn_risk: ChurnRiskRule
    expansion: ExpansionRule
    renewal: RenewalRule
    silent: SilentRule
    onboarding: OnboardingRule
    adoption: AdoptionRule
    handoff: HandoffRule
    advocacy: AdvocacyRule


class RulesConfig(BaseModel):
    """Every playbook rule, the tags csbridge owns, and the hysteresis margin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owned_tags: tuple[str, ...] = ()
    score_margin: float = Field(5, ge=0, le=50)
    assignees: Assignees = Field(default_factory=Assignees)
    tasks: TaskBudget = Field(default_factory=TaskBudget)
    cadence: Cadence = Field(default_factory=Cadence)
    rules: Rules

    @model_validator(mode="after")
    def _tags_owned(self) -> RulesConfig:
        for name, tag in (
            ("promoter", self.rules.promoter.tag),
            ("churn_risk", self.rules.churn_risk.tag),
        ):
            if tag is not None and tag not in self.owned_tags:
                raise ValueError(f"rules.{name}.tag {tag!r} must be listed in owned_tags")
        queues = self.assignees.queue_names()
        touchpoints = [
            (f"cadence.segments.{segment}", point)
            for segment, points in self.cadence.segments.items()
            for point in points.values()
            if point is not None
        ]
        for where, point in touchpoints:
            queue = point.assignee.removeprefix("queue:")
            if point.assignee.startswith("queue:") and queue not in queues:
                raise ValueError(
                    f"{where} goes to {point.assignee}; add {queue}: <id> under "
                    "assignees.<crm>.queues"
                )
        for name, rule in self.rules:
            steps = getattr(rule, "steps", ())
            targets = [(getattr(s, "name", s.assignee), s.assignee) for s in steps]
            if isinstance(rule, DetractorRule):
                targets.append(("escalate", rule.escalate_assignee))
            for step, assignee in targets:
                queue = assignee.removeprefix("queue:")
                if assignee.startswith("queue:") and queue not in queues:
                    raise ValueError(
                        f"rules.{name}: step {step} goes to "
                        f"{assignee}; add {queue}: <id> under assignees.<crm>.queues"
                    )
        return self


def _read(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise CsbridgeError(f"{label}: not valid YAML; fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CsbridgeError(f"{label}: the top level must be a mapping (owned_tags:, rules:)")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_rules_text() -> str:
    """The packaged defaults as YAML text (a starting point for a deployment's file)."""
    return resources.files("csbridge.scoring").joinpath("rules_defaults.yaml").read_text("utf-8")


def parse_rules(text: str | None = None, *, source: str = "rules") -> RulesConfig:
    """The defaults with `text` (a rules YAML document) merged on top, validated."""
    data = _read(default_rules_text(), "rules_defaults.yaml")
    if text is not None:
        data = _merge(data, _read(text, source))
    try:
        return RulesConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        message = str(err["msg"]).removeprefix("Value error, ")
        raise CsbridgeError(f"{source}: {loc or 'rules'}: {message}") from None


def load_rules(path: str | Path | None = None) -> RulesConfig:
    """The packaged defaults, or a deployment's rules file merged onto them."""
    if path is None:
        return parse_rules()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CsbridgeError(f"{file}: cannot read the rules file ({exc.strerror})") from None
    return parse_rules(text, source=str(file))
