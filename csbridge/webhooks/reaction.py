"""The webhook worker's reaction: an alert goes through the same rules → plan → apply.

There is no second rules engine. An alert becomes what the scheduled run's rules
already read, then the cycle runs for that one customer and each CRM of
`crm.targets` is planned against its ledger and applied (`csbridge.sync.run`):

- `nps_answer`: stored as a `SurveyResponse` fact (kind nps, id `<sender>-<event id>`,
  responded at the event's time), so the detractor / promoter playbooks see it now and
  every later run sees it too; the task is keyed by that answer id.
- `urgent_ticket`: stored as an urgent `Ticket` fact (a Zendesk event keeps the
  ticket's own id, so the next pull updates the same row rather than adding one).
- `score_drop` / `threshold_crossed` (a CS platform's own health score): stored as the
  customer's latest score from that platform (`csbridge.sync.platform_scores`). While
  it is fresh (`webhooks.alert_hold_days`, or until that platform's next alert) the
  rules of every cycle, this reaction's and the scheduled runs', read it as the
  customer's score (and its previous score as the score 30 days ago), so the churn-risk
  trigger (below / drop) fires on the platform's view and the next run keeps the tag
  and the task the alert brought. The fields written (score, band, trend) still come
  from csbridge's own score, and the rule's own threshold applies, not the alert's.

The reaction reads only that customer's facts (`load_customer`), so its time does
not grow with the portfolio's; the session benchmark is the whole portfolio's, read
from the last 30 days of usage at most once an hour per process.

Facts are stored in the account's own system (its `source`), so the identity index
joins them like pulled facts. The model, rules and mappings are read once per process
(the worker's `Cycle`), not per alert. A reaction stores its customer's score history
and rule episodes like a run, so the next run starts from the episodes it opened: a
churn-risk task keyed by the day its episode started keeps that key.

Outcome: `processed` with what landed ("reacted: hubspot: 1 task created (key ...)"),
or "no change needed"; an unknown account is `parked`. If any write did not land the
reaction raises `ReactionIncompleteError`: the worker leaves the row claimed and
retries it after its lease, and the retry plans only what is still missing. A reaction
holds the store's run lock, so it never overlaps a scheduled run (a run in progress
makes it raise and retry later), and checks it before each write batch as a run does:
a lost lock (PostgreSQL) stops its writes, stores no history and leaves the row to be
retried after its lease.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from csbridge.config import Settings
from csbridge.connectors.registry import SOURCES
from csbridge.errors import CsbridgeError
from csbridge.http.client import CallAccounting
from csbridge.mappings.identity import IdentityIndex
from csbridge.models import Fact, SurveyResponse, Ticket
from csbridge.scoring.signals import SignalOptions, with_benchmarks
from csbridge.store.lock import LockLostError, run_lock
from csbridge.store.store import Store
from csbridge.sync import notify
from csbridge.sync.apply import Notifier
from csbridge.sync.apply_types import ApplyReport
from csbridge.sync.changes import ChangeSet
from csbridge.sync.cycle import Cycle, history_entries, in_targets
from csbridge.sync.history import save_history
from csbridge.sync.platform_scores import PlatformScore, save_platform_score
from csbridge.sync.portfolio import load_customer, usage_rates
from csbridge.sync.run import WriterFactory, default_writer, write_target
from csbridge.sync.task_close import Evaluated
from csbridge.webhooks.alert import Alert, React, ReactionOutcome
from csbridge.webhooks.worker import account_lookup_reaction, find_account

log = structlog.get_logger("csbridge.webhooks.reaction")
NO_CHANGE = "no change needed"
MAX_ID = 100  # longer event ids are hashed so task keys stay within the CRM's 255
BENCHMARK_TTL = timedelta(hours=1)


class ReactionIncompleteError(CsbridgeError):
    """Some write of a reaction did not land; the inbox row is retried after its lease."""


def sync_reaction(
    settings: Settings,
    store: Store,
    *,
    writer_factory: WriterFactory = default_writer,
    notifier: Notifier | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    cycle: Cycle | None = None,
) -> React:
    """The reaction that writes into the CRMs of `crm.targets` (see the module doc);
    `cycle` is the process's (default: built from `settings` now, once)."""
    cycle = cycle or Cycle.build(settings)

    def react(alert: Alert) -> ReactionOutcome:
        account = find_account(store.engine, alert)
        if account is None:
            return ReactionOutcome("parked", f"unknown account: {alert.account_key[:120]}")
        source, _, account_id = account.partition(":")
        fact = alert_fact(alert, source, account_id)
        if fact is not None:
            store.upsert([fact])
        with run_lock(store) as lock:
            return _react(alert, source, account_id, clock(), lock.verify)

    benchmarks: list[tuple[datetime, SignalOptions]] = []  # the latest, while fresh

    def options_for(index: IdentityIndex, now: datetime) -> SignalOptions:
        # the whole portfolio's benchmarks, as in the scheduled run; they move slowly, so
        # a burst of alerts reads the usage table once an hour, not once per alert
        if benchmarks and timedelta(0) <= now - benchmarks[0][0] < BENCHMARK_TTL:
            return benchmarks[0][1]
        rates = usage_rates(store, index, now, settings.crm.targets)
        options = with_benchmarks(settings.signal_options(), rates)
        benchmarks[:] = [(now, options)]
        return options

    def _react(
        alert: Alert, source: str, account_id: str, now: datetime, verify: Callable[[], None]
    ) -> ReactionOutcome:
        targets = list(settings.crm.targets)
        portfolio = load_customer(store, source, account_id, settings.identity.key, now)
        mine = in_targets(portfolio.customers, targets)
        if not mine:
            return ReactionOutcome("processed", f"{NO_CHANGE}: {source}:{account_id} is in no CRM")
        key = mine[0].key
        platform = platform_score(alert, now)
        if platform is not None:
            save_platform_score(store, key, platform)
        options = options_for(portfolio.index, now)
        scored = cycle.score(mine, now, cycle.history(store, now, [key]), options)
        run_id = store.start_run("reaction")
        outcomes: dict[str, tuple[ChangeSet, ApplyReport]] = {}
        try:
            for target in targets:
                writer = writer_factory(target, settings, CallAccounting())
                try:
                    changes, applied = write_target(
                        target,
                        settings,
                        store,
                        cycle.desired(scored, target, now),
                        [Evaluated.of(s) for s in scored],
                        cycle,
                        now,
                        writer,
                        run_id,
                        notifier,
                        verify,
                        read_only={key},
                    )
                finally:
                    writer.close()
                assert applied is not None  # a writer was given
                outcomes[target] = (changes, applied)
                verify()  # an apply stopped by a lost lock: no next target, no history
        except LockLostError as exc:
            store.finish_run(run_id, "lock_lost", None)
            raise ReactionIncompleteError(f"reaction for {key}: {exc}") from exc
        except BaseException:
            store.finish_run(run_id, "crashed", None)
            raise
        ok = all(applied.ok for _, applied in outcomes.values())
        report = {
            "event": f"{alert.source}:{alert.event_id}"[:200],
            "customer": key,
            "crm": {t: {"planned": c.summary(), **a.as_dict()} for t, (c, a) in outcomes.items()},
        }
        model_hash = cycle.models.default.model_hash
        save_history(store, history_entries(scored), now, model_hash=model_hash, run_id=run_id)
        store.finish_run(run_id, "ok" if ok else "partial", report)
        if not ok:
            raise ReactionIncompleteError(f"reaction for {key}: {failures(outcomes)}")
        reason = describe(outcomes)
        log.info("webhook.reacted", customer=key, run_id=run_id, reason=reason)
        return ReactionOutcome("processed", reason)

    return react


@contextmanager
def configured_reaction(settings: Settings, store: Store) -> Iterator[React]:
    """The worker's reaction: `sync_reaction` (with the configured notifications) when
    `crm.targets` names a CRM, else the account lookup that writes nothing."""
    if not settings.crm.targets:
        yield account_lookup_reaction(store.engine)
        return
    notifier = notify.Notifier(settings.notifications, settings.http)
    try:
        yield sync_reaction(settings, store, notifier=notifier)
    finally:
        notifier.close()


def alert_fact(alert: Alert, source: str, account_id: str) -> Fact | None:
    """The fact an NPS answer or an urgent ticket adds to the account, or None."""
    if source not in SOURCES:
        return None
    own = source
    event_id = alert.event_id
    if len(event_id) > MAX_ID:
        event_id = hashlib.sha256(event_id.encode()).hexdigest()[:32]
    fact_id = f"{alert.source}-{event_id}"
    if alert.kind == "nps_answer" and alert.score is not None:
        return SurveyResponse(
            source=own,
            id=fact_id,
            updated_at=alert.occurred_at,
            kind="nps",
            account_id=account_id,
            contact_id=alert.account_key if alert.key_kind == "contact" else None,
            score=alert.score,
            responded_at=alert.occurred_at,
        )
    if alert.kind == "urgent_ticket":
        return Ticket(
            source=own,
            id=_zendesk_ticket_id(alert) if source == "zendesk" else fact_id,
            updated_at=alert.occurred_at,
            account_id=account_id,
            status="new",
            priority="urgent",
            created_at=alert.occurred_at,
        )
    return None


def _zendesk_ticket_id(alert: Alert) -> str:
    """The ticket's own id in a Zendesk event (the adapter checked `detail.id`)."""
    raw: Any = alert.raw
    detail = raw.get("detail") if isinstance(raw, dict) else None
    ticket = detail.get("id") if isinstance(detail, dict) else None
    return str(ticket) if ticket else f"{alert.source}-{alert.event_id}"[:MAX_ID]


def platform_score(alert: Alert, now: datetime) -> PlatformScore | None:
    """A CS platform's score alert as the score its rules read (None for other alerts);
    dated when it happened, never later than now (a clock ahead cannot extend its hold)."""
    if alert.kind not in ("score_drop", "threshold_crossed") or alert.score is None:
        return None
    at = min(alert.occurred_at, now)
    return PlatformScore(alert.source, alert.score, alert.previous_score, at, alert.event_id)


def describe(outcomes: dict[str, tuple[ChangeSet, ApplyReport]]) -> str:
    """A reason a person reads in `inbox list`: what landed in which CRM."""
    parts = []
    for target, (changes, applied) in outcomes.items():
        done = []
        keys = [t.key for a in changes.accounts for t in a.tasks]
        if applied.tasks_created:
            label = "key" if len(keys) == 1 else "keys"
            done.append(f"{_n(applied.tasks_created, 'task')} created ({label} {', '.join(keys)})")
        if applied.tasks_found:
            done.append(f"{_n(applied.tasks_found, 'task')} found already there")
        if applied.records_updated:
            done.append(f"{_n(applied.records_updated, 'record')} updated")
        if applied.notifications_sent:
            done.append(f"{_n(applied.notifications_sent, 'notification')} sent")
        if done:
            parts.append(f"{target}: {', '.join(done)}")
    return f"reacted: {'; '.join(parts)}" if parts else NO_CHANGE


def failures(outcomes: dict[str, tuple[ChangeSet, ApplyReport]]) -> str:
    """The writes that did not land, for the worker's log and the retry."""
    lines = [
        f"{target}: "
        + (applied.stopped or "; ".join(f"{f.kind} {f.ref}: {f.reason}" for f in applied.failed))
        for target, (_, applied) in outcomes.items()
        if not applied.ok
    ]
    return " | ".join(lines)[:1500]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
