"""Close (or cancel) csbridge's open tasks of an episode that ended (issue 18 part 3).

An episode of `churn_risk`, `silent`, `expansion` or `advocacy` lasts as long as the rule asks for
its own task (`{account}:{rule}:{period}`) on each run; when an evaluated account's rule
no longer asks for it, the episode ended (back above the threshold, activity again), and
every task of that episode still open as read back this run (`task_readback`) gets the
status `tasks.on_episode_end` names, with a comment saying why appended to its
description (Salesforce shows it as Comments). Only csbridge's own tasks (by key) are
considered, and only the open ones: a task a CSM completed is never touched.

A key `task_key` shortened with a hash (account keys of ~200 characters and more) no
longer shows its period. It is known as an episode's task when it is one of the keys
(own task or steps) of the episode that was running before this run (churn_risk,
expansion and advocacy are keyed by their start, which the rules carry from run to
run), or when its readable start still shows `{account}:{rule}:`; its episode runs on
when it is one of the keys of a period the rule still asks for. A hashed `silent` key
whose start does not show the rule (its period, the last activity before the silence,
is not kept) cannot be told apart and stays open.

The writes go in batches of the CRM's maximum (Salesforce Collections update, HubSpot
batch update), split on a rejected batch like the record updates; each landed one is
recorded in `task_outcomes` (outcome `closed` / `cancelled`), so it is not read nor
written again: a rerun writes nothing. A task already showing the status and a
csbridge comment (a run that crashed before recording) is recorded without a write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from sqlalchemy import insert

from csbridge.connectors.protocol import CrmWriter, TaskState, TaskUpdate, WriteResult, chunks
from csbridge.http.errors import HttpError, QuotaExhaustedError, SetupError
from csbridge.scoring.rules_config import RulesConfig
from csbridge.scoring.rules_context import hashed_key_rule, key_account, split_key, task_key
from csbridge.store.lock import LockLostError
from csbridge.store.store import Store
from csbridge.store.tables import task_outcomes
from csbridge.sync.apply_types import ApplyReport, Failure, split_on_rejection
from csbridge.sync.cycle import Scored
from csbridge.sync.task_overdue import overdue_report, overdue_steps
from csbridge.sync.task_readback import ReadBack, open_task_keys
from csbridge.text_fit import fitted_prefix

log = structlog.get_logger("csbridge.tasks")
EPISODE_RULES = ("churn_risk", "silent", "expansion", "advocacy")
STARTED_RULES = ("churn_risk", "expansion", "advocacy")  # keyed by the episode's start


@dataclass(frozen=True, slots=True)
class Closing:
    """One open task of an ended episode, with the update that closes it."""

    account_id: str
    update: TaskUpdate
    written: bool  # False: the CRM already shows it closed with the comment


@dataclass(frozen=True, slots=True)
class Evaluated:
    """What closing reads of one account evaluated this run: the task keys its rules
    still ask for, its score and last activity (for the comment). Compact, so a run
    keeps it for every account while the batches' facts are dropped."""

    account: str
    asked: frozenset[str]
    score: float | None
    last_activity: datetime | None
    periods: frozenset[tuple[str, str]] = frozenset()  # (episode rule, period) still asked
    before: frozenset[tuple[str, str]] = frozenset()  # (rule, period) running before this run

    @classmethod
    def of(cls, item: Scored) -> Evaluated:
        tasks = [a for a in item.evaluation.actions if a.kind == "task"]
        asked = frozenset(a.key for a in tasks)
        periods = frozenset(
            (a.rule, a.period.split(":")[0]) for a in tasks if a.rule in EPISODE_RULES
        )
        before = frozenset(
            (rule, start.isoformat())
            for rule, start in item.ctx.episodes.items()
            if rule in STARTED_RULES
        )
        ctx = item.ctx
        return cls(item.facts.key, asked, ctx.score, ctx.last_activity, periods, before)


@dataclass(frozen=True)
class OpenTasks:
    """Which evaluated accounts closing may read: those with csbridge tasks open in a CRM
    (as the ledger holds them when the run begins: the read-back finds no others), so a
    run keeps `Evaluated` only for them, not for every account of the portfolio."""

    accounts: frozenset[str]  # named by an open key (`key_account`)
    hashed: bool  # some open key is shortened with a hash (matched by its episode's start)

    @classmethod
    def read(cls, store: Store, targets: Sequence[str]) -> OpenTasks:
        keys = [key for target in targets for key in open_task_keys(store, target)]
        return cls(
            frozenset(a for a in map(key_account, keys) if a is not None),
            any(fitted_prefix(key) is not None for key in keys),
        )

    def may_close(self, item: Evaluated) -> bool:
        """Whether closing could find an open task of `item`'s (`_episode_tasks`)."""
        return item.account in self.accounts or (self.hashed and bool(item.before))


def _reason(rule: str, item: Evaluated, config: RulesConfig) -> str:
    score = "-" if item.score is None else f"{item.score:.0f}"
    if rule == "churn_risk":
        return f"account back above {config.rules.churn_risk.below:g} (health {score})"
    if rule == "silent":
        last = item.last_activity
        return "activity again" + ("" if last is None else f" on {last.date().isoformat()}")
    if rule == "advocacy":
        return f"no longer in the {config.rules.advocacy.band} band (health {score})"
    return f"no longer an expansion candidate (health {score})"


def closings(
    evaluated: Sequence[Evaluated],
    open_tasks: Mapping[str, TaskState],
    config: RulesConfig,
    status: str,
    today: date,
) -> list[Closing]:
    """The open tasks (as read back) of the episodes that ended for `evaluated`. Pure."""
    by_account: dict[str, list[tuple[str, str, str | None]]] = {}
    for key in open_tasks:
        parts = split_key(key)
        if parts is not None and parts.rule in EPISODE_RULES:
            base = parts.period.split(":")[0]
            by_account.setdefault(parts.account_id, []).append((key, parts.rule, base))
        hashed = hashed_key_rule(key) if parts is None else None
        if hashed is not None and hashed[1] in EPISODE_RULES:
            by_account.setdefault(hashed[0], []).append((key, hashed[1], None))
    verb = "Cancelled" if config.tasks.on_episode_end == "cancel" else "Closed"
    out: list[Closing] = []
    for item in evaluated:
        account = item.account
        for key, rule, period in _episode_tasks(item, by_account, open_tasks, config):
            if _runs_on(item, key, rule, period, config):
                continue
            comment = f"{verb} by csbridge on {today.isoformat()}: {_reason(rule, item, config)}"
            state = open_tasks[key]
            before = (state.description or "").rstrip()
            # closed by a run that stopped before recording it (maybe on another day)
            done = state.status == status and f"{verb} by csbridge on " in before
            text = before if done else (f"{before}\n\n{comment}" if before else comment)
            out.append(Closing(account, TaskUpdate(key, state.id, status, text), not done))
    return out


def _episode_tasks(
    item: Evaluated,
    by_account: Mapping[str, list[tuple[str, str, str | None]]],
    open_tasks: Mapping[str, TaskState],
    config: RulesConfig,
) -> list[tuple[str, str, str | None]]:
    """The open episode tasks of `item`'s account: by their key, and the hashed keys of
    the episodes running before this run (`period` None: the key does not show it)."""
    found = {key: (key, rule, period) for key, rule, period in by_account.get(item.account, [])}
    for rule, period in item.before:
        for key in _period_keys(item.account, rule, period, config):
            if key in open_tasks and fitted_prefix(key) is not None:
                found.setdefault(key, (key, rule, None))
    return [found[key] for key in sorted(found)]


def _runs_on(item: Evaluated, key: str, rule: str, period: str | None, config: RulesConfig) -> bool:
    """Whether the rule still asks for the episode of this task (`period` None: a hashed
    key, matched against the keys of the periods the rule asks for: own task and steps)."""
    if period is not None:
        return task_key(item.account, rule, period) in item.asked
    return any(
        key in _period_keys(item.account, rule, asked, config)
        for asked_rule, asked in item.periods
        if asked_rule == rule
    )


def _period_keys(account: str, rule: str, period: str, config: RulesConfig) -> set[str]:
    """The keys of a rule's own task and of its steps for one period."""
    steps = getattr(getattr(config.rules, rule), "steps", ())
    return {task_key(account, rule, f"{period}{s}") for s in ["", *(f":{t.name}" for t in steps)]}


def follow_up(
    store: Store,
    writer: CrmWriter,
    evaluated: Sequence[Evaluated],
    config: RulesConfig,
    seen: ReadBack,
    report: ApplyReport,
    now: datetime,
    verify_lock: Callable[[], None] = lambda: None,
) -> None:
    """After an apply: count the tasks read back completed, list the overdue steps and
    close the open tasks of `evaluated`'s ended episodes (not after a stopped apply)."""
    report.tasks_completed = seen.completed
    if not seen.open:
        return
    today = now.date()
    status = config.tasks.end_status(writer.name)
    ended = []
    if status is not None and report.stopped is None:
        ended = closings(evaluated, seen.open, config, status, today)
    closing = {c.update.key for c in ended}
    still = {k: s for k, s in seen.open.items() if k not in closing}
    report.steps_overdue = overdue_report(overdue_steps(still, config, today))
    if not ended:
        return
    outcome = "closed" if config.tasks.on_episode_end == "close" else "cancelled"
    try:
        close_tasks(store, writer, ended, report, now, outcome, verify_lock)
    except QuotaExhaustedError as exc:
        report.stopped = f"{exc}; the rest goes out on the next run"


def close_tasks(
    store: Store,
    writer: CrmWriter,
    items: Sequence[Closing],
    report: ApplyReport,
    now: datetime,
    outcome: str,
    verify_lock: Callable[[], None] = lambda: None,
) -> None:
    """Write `items` in batches, record each landed one; count them in `report`."""
    accounts = {c.update.key: c.account_id for c in items}
    _record(store, writer.name, [c.update for c in items if not c.written], now, outcome)
    report.tasks_closed += sum(1 for c in items if not c.written)
    pending = [c.update for c in items if c.written]
    for batch in chunks(pending, writer.batch_size):
        try:
            verify_lock()
            results = split_on_rejection(batch, writer.update_tasks, _ref)
        except (QuotaExhaustedError, LockLostError, SetupError):
            raise
        except HttpError as exc:
            results = [WriteResult(u.key, False, error=str(exc)) for u in batch]
        landed = {r.ref for r in results if r.ok}
        _record(store, writer.name, [u for u in batch if u.key in landed], now, outcome)
        report.tasks_closed += len(landed)
        for r in results:
            if not r.ok:
                reason = _explain(r.error or "rejected", writer.name, outcome)
                report.failed.append(Failure("task", r.ref, accounts[r.ref], reason))
    log.info("tasks.closed", target=writer.name, closed=report.tasks_closed, outcome=outcome)


def _ref(update: TaskUpdate) -> str:
    return update.key


def _explain(error: str, target: str, outcome: str) -> str:
    """A status the CRM refuses names the setting to fix."""
    if "picklist" in error.lower() or "hs_task_status" in error:
        setting = "close_status" if outcome == "closed" else "cancel_status"
        return f"{error}: fix tasks.{setting}.{target} in the rules file (a value the CRM accepts)"
    return error


def _record(
    store: Store, target: str, updates: Sequence[TaskUpdate], now: datetime, outcome: str
) -> None:
    if not updates:
        return
    rows = [
        {
            "target": target,
            "key": u.key,
            "task_id": u.task_id,
            "completed_by": None,
            "completed_at": now,
            "recorded_at": now,
            "outcome": outcome,
        }
        for u in updates
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(task_outcomes), rows)
