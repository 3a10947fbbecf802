"""The inputs and outputs of the playbook rules: an account's context, actions, keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from csbridge.models import FieldValue
from csbridge.scoring.cadence import CadenceStatus
from csbridge.scoring.rules_config import Assignee, NotifyTarget
from csbridge.text_fit import KEY_MAX, fit_key, fitted_prefix

ActionKind = Literal["task", "tag_add", "tag_remove", "field", "notify"]


@dataclass(frozen=True, slots=True)
class NpsAnswer:
    """One NPS answer of the account (its id is the source's survey response id)."""

    id: str
    score: int
    responded_at: datetime
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Everything the playbooks read about one account; built from store facts and history."""

    account_id: str
    owner_id: str | None = None
    score: float | None = None
    status: str | None = None
    previous_status: str | None = None
    score_30d_ago: float | None = None
    previous_score: float | None = None  # the score written on an earlier day
    episodes: Mapping[str, date] = field(default_factory=dict)
    nps_answers: tuple[NpsAnswer, ...] = ()  # oldest first
    urgent_tickets_30d: int = 0
    open_tickets: int = 0
    champion_left: bool = False
    license_utilisation: float | None = None  # share, 0.72 = 72 %
    renewal_date: date | None = None
    last_activity: datetime | None = None
    onboarding_started: date | None = None
    closed_won: date | None = None  # close date of the latest won new-business deal
    first_login: date | None = None
    first_value: date | None = None
    segment: str | None = None  # the touch-model segment of this run's score
    touches: Mapping[str, datetime] = field(default_factory=dict)  # cadence.last_touches

    @property
    def latest_nps(self) -> NpsAnswer | None:
        """The most recent NPS answer, if any."""
        return max(self.nps_answers, key=lambda a: a.responded_at, default=None)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a playbook asks for: a task, a tag, a field value or a notification."""

    kind: ActionKind
    rule: str
    key: str
    account_id: str
    subject: str = ""
    description: str = ""
    due: date | None = None
    assignee: Assignee = "owner"
    owner_id: str | None = None
    tag: str | None = None
    field: str | None = None
    value: FieldValue = None
    notify: tuple[NotifyTarget, ...] = ()
    period: str = ""  # a task's period as in its key (its key may end in a hash instead)


@dataclass(frozen=True, slots=True)
class Evaluation:
    actions: tuple[Action, ...]
    episodes: Mapping[str, date]
    cadence: CadenceStatus | None = None  # None: the account's segment has no cadence


def task_key(account_id: str, rule: str, period: object) -> str:
    """The deterministic key of a rule's task for one account and period.

    It fits the CRMs' key fields and our store's key columns (255): a longer one (a very
    long domain) keeps its readable start and ends in a hash of the whole key.
    """
    return fit_key(f"{account_id}:{rule}:{period}", KEY_MAX)


RULE_NAMES = (
    "detractor_remeasure",
    "detractor",
    "promoter",
    "churn_risk",
    "expansion",
    "renewal",
    "silent",
    "onboarding_no_login",
    "onboarding_no_value",
    "onboarding",
    "adoption",
    "handoff",
    "advocacy",
)
"""Every rule name a task key may carry (a longer name before its prefix)."""


@dataclass(frozen=True, slots=True)
class KeyParts:
    """A task key taken apart: `{account}:{rule}:{period}` (the period may hold a step)."""

    account_id: str
    rule: str
    period: str


def split_key(key: str) -> KeyParts | None:
    """The account, rule and period of a task key; None for a key that is not one (a
    notification's, or a long key `task_key` shortened with a hash: see `hashed_key_rule`)."""
    if fitted_prefix(key) is not None:
        return None
    found = _rule_in(key)
    if found is None:
        return None
    at, rule = found
    period = key[at + len(rule) + 2 :]
    if not period or key.endswith(":notify"):
        return None
    return KeyParts(key[:at], rule, period)


def hashed_key_rule(key: str) -> tuple[str, str] | None:
    """The account and rule of a task key `task_key` shortened with a hash, when its
    readable start still shows `{account}:{rule}:`; None otherwise (its period is lost)."""
    prefix = fitted_prefix(key)
    found = None if prefix is None else _rule_in(prefix)
    if prefix is None or found is None:
        return None
    return prefix[: found[0]], found[1]


def key_account(key: str) -> str | None:
    """The account a task key names (`split_key`, or the readable start of a hashed key:
    `hashed_key_rule`); None when it cannot be read (a hashed key whose start shows no
    `{account}:{rule}:`, or a key that is not a rule's task)."""
    parts = split_key(key)
    if parts is not None:
        return parts.account_id
    hashed = hashed_key_rule(key)
    return None if hashed is None else hashed[0]


def _rule_in(text: str) -> tuple[int, str] | None:
    """Where the first `:{rule}:` stands in `text`, and the rule (the longer name first)."""
    found = [(text.find(f":{rule}:"), rule) for rule in RULE_NAMES if f":{rule}:" in text]
    return min(found, key=lambda f: (f[0], -len(f[1]))) if found else None
