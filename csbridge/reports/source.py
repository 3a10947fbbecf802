"""What the reports read from the store (the I/O side): customers, score history, tasks.

`ReportSource` opens the store once, builds the identity index and keeps the owners;
`customers()` walks the portfolio a slice at a time (`SLICE` customers per read), so a
report over every account holds one slice of facts, never the whole portfolio.
Scores are the ones `csbridge run` stored (`score_history`): a report shows what was
computed and written to the CRM, never a fresh score of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import func, select

from csbridge.config import Settings
from csbridge.errors import CsbridgeError
from csbridge.mappings.identity import ANCHORS, build_index
from csbridge.models import Account, Activity, Owner, SurveyResponse
from csbridge.scoring import load_model
from csbridge.scoring.model import ScoringModel
from csbridge.scoring.rules_config import RulesConfig, load_rules
from csbridge.scoring.signals import CustomerFacts
from csbridge.store.facts import as_utc
from csbridge.store.store import Store, open_store
from csbridge.store.tables import (
    rule_episodes,
    score_history,
    task_keys,
    task_outcomes,
    usage_days,
)
from csbridge.sync.portfolio import load_customers, members_of

SLICE = 500
HISTORY_DAYS = 190  # six months of score history, and the month before them
USAGE_DAYS = 190
SURVEY_DAYS = 365


@dataclass(frozen=True, slots=True)
class Scorepoint:
    """One stored score of an account (`payload` is `csbridge score`'s JSON entry)."""

    at: datetime
    score: float | None
    band: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CompletedTask:
    """A csbridge task a CSM completed in a CRM, as the runs read it back."""

    key: str
    target: str
    completed_by: str | None
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class TaskRow:
    key: str
    target: str
    status: str
    created_at: datetime


class ReportSource:
    """The store as the reports see it, as of `now`."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.now = now
        mixpanel = settings.sources.mixpanel
        self.key_features: tuple[str, ...] = mixpanel.key_features if mixpanel else ()
        self.model: ScoringModel = load_model(settings.model)
        self.rules: RulesConfig = load_rules(settings.rules)
        self.store: Store = open_store(settings.database_url)
        self.accounts = self.store.load(Account)
        self.index = build_index(self.accounts, settings.identity.key)
        self.owners = {(o.source, o.id): o for o in self.store.load(Owner)}
        self.usage_start = self._first_usage_day()
        self._members = members_of(self.store, self.index)

    def _first_usage_day(self) -> date | None:
        """The oldest stored usage day: time to value is measurable for accounts started since."""
        with self.store.engine.connect() as conn:
            found = conn.execute(select(func.min(usage_days.c.day))).scalar_one_or_none()
        return found if isinstance(found, date) else None

    def close(self) -> None:
        self.store.close()

    @property
    def keys(self) -> list[str]:
        """Every customer key, sorted."""
        return sorted(self.index.customers)

    def resolve(self, text: str, option: str = "--account") -> str:
        """A customer key from its key (domain), a CRM / Zendesk id or its exact name."""
        wanted = text.strip()
        if wanted in self.index.customers:
            return wanted
        for (_, account_id), key in self.index.by_source_id.items():
            if account_id == wanted:
                return key
        named = [k for k, c in self.index.customers.items() if c.name.lower() == wanted.lower()]
        if len(named) == 1:
            return named[0]
        example = self.keys[0] if self.keys else "acme.com"
        raise CsbridgeError(
            f"{option} {text!r}: no such account in the store; give its domain (e.g. "
            f"{example}), a CRM id or its exact name"
        )

    def customers(self, keys: Sequence[str] | None = None) -> Iterator[CustomerFacts]:
        """The customers of `keys` (default: all) with six months of usage, a slice at a time."""
        wanted = self.keys if keys is None else list(keys)
        for start in range(0, len(wanted), SLICE):
            part = wanted[start : start + SLICE]
            yield from load_customers(
                self.store,
                self.index,
                self.accounts,
                part,
                self._members,
                self.now,
                usage_days=USAGE_DAYS,
            ).customers

    def portfolio_answers(self) -> list[tuple[str, SurveyResponse]]:
        """Every survey answer of the last year with its customer key, from Zendesk and each
        customer's primary CRM only (as the account pages count them)."""
        out = []
        since = self.now - timedelta(days=SURVEY_DAYS)
        for answer in self.store.load(SurveyResponse, since=since):
            key = self.index.resolve(answer.source, answer.account_id)
            if key is None or answer.responded_at > self.now:
                continue
            ids = self.index.customers[key].ids
            primary = next((s for s in ANCHORS if s in ids), None)
            if answer.source == primary or answer.source not in ANCHORS:
                out.append((key, answer))
        return out

    def activities(self, start: datetime, end: datetime) -> list[tuple[str, Activity]]:
        """The CRM activities logged from `start` to before `end` with their customer key;
        the tasks and notes csbridge created itself are left out."""
        out = []
        for activity in self.store.load(Activity, since=start):
            when = activity.occurred_at
            if activity.csbridge_key or when is None or when >= end or activity.account_id is None:
                continue
            key = self.index.resolve(activity.source, activity.account_id)
            if key is not None:
                out.append((key, activity))
        return out

    def completed_tasks(self, start: datetime, end: datetime) -> list[CompletedTask]:
        """csbridge's tasks a CSM completed from `start` to before `end`, as read back."""
        query = select(
            task_outcomes.c.key,
            task_outcomes.c.target,
            task_outcomes.c.completed_by,
            task_outcomes.c.completed_at,
        ).where(
            task_outcomes.c.outcome == "completed",
            task_outcomes.c.completed_at >= start,
            task_outcomes.c.completed_at < end,
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(task_outcomes.c.completed_at)).all()
        return [CompletedTask(k, t, by, as_utc(at) or start) for k, t, by, at in rows]

    def owner_name(self, account: Account | None) -> str:
        """The account owner's name (or e-mail, or id); "-" without an owner."""
        if account is None or account.owner_id is None:
            return "-"
        owner = self.owners.get((account.source, account.owner_id))
        if owner is None:
            return account.owner_id
        return owner.name or owner.email or owner.id

    def history(
        self, keys: Sequence[str] | None = None, since: datetime | None = None
    ) -> Iterator[tuple[str, list[Scorepoint]]]:
        """Each account's stored scores from `since` (default six months back) to now,
        oldest first, one account at a time."""
        start = since or self.now - timedelta(days=HISTORY_DAYS)
        query = (
            select(
                score_history.c.account_key,
                score_history.c.scored_at,
                score_history.c.score,
                score_history.c.band,
                score_history.c.payload,
            )
            .where(score_history.c.scored_at >= start, score_history.c.scored_at <= self.now)
            .order_by(score_history.c.account_key, score_history.c.scored_at)
        )
        if keys is not None:
            query = query.where(score_history.c.account_key.in_(list(keys)))
        with self.store.engine.connect() as conn:
            rows = conn.execution_options(yield_per=2000).execute(query)
            for key, group in groupby(rows, key=lambda r: str(r[0])):
                yield key, [Scorepoint(as_utc(r[1]) or self.now, r[2], r[3], r[4]) for r in group]

    def tasks(self, keys: Collection[str] | None = None) -> list[TaskRow]:
        """Tasks csbridge created (or is creating) in the CRMs: of `keys`' accounts, or all.

        Task keys start with the account key (`account:rule:period`); the filter is done
        here, not with LIKE, which no index serves on every database.
        """
        query = select(
            task_keys.c.key, task_keys.c.target, task_keys.c.status, task_keys.c.created_at
        ).order_by(task_keys.c.created_at, task_keys.c.key)
        wanted = None if keys is None else set(keys)
        with self.store.engine.connect() as conn:
            return [
                TaskRow(k, t, s, as_utc(c) or self.now)
                for k, t, s, c in conn.execute(query)
                if not k.endswith(":notify")
                and not t.endswith(":notes")  # report notes (`sync.notes`) are no tasks
                and (wanted is None or k.split(":")[0] in wanted)
            ]

    def episodes(self, keys: Sequence[str]) -> dict[str, dict[str, date]]:
        """The playbook episodes open after the last run: account → rule → start."""
        query = select(
            rule_episodes.c.account_key, rule_episodes.c.rule, rule_episodes.c.started_on
        ).where(rule_episodes.c.account_key.in_(list(keys)))
        out: dict[str, dict[str, date]] = {}
        with self.store.engine.connect() as conn:
            for key, rule, started in conn.execute(query):
                out.setdefault(key, {})[rule] = started
        return out
