"""`csbridge run` as a function: pull → signals → score → history → rules → plan → apply.

The run holds the store's run lock (`csbridge.store.lock`) for its whole length and
checks it (`verify_lock`) before each page it stores and each batch it writes: a run
that lost it stops at once (`stopped: lock_lost` in its report), since another run may
be writing already; it stores no score history then. Each
CRM of `crm.targets` is planned against its ledger and applied in turn; planning the
next target after applying the previous one means a notification sent for the first is
not sent again for the second. Score history and rule episodes are stored after the
writes (a dry run stores nothing and writes nothing); then, with `reports.crm_notes`,
the reports due this period are attached to the accounts as notes (`sync.notes`).

The customers are read and scored a batch at a time (`csbridge.sync.batches`); of each
batch only compact per-account results are kept for the writes and the steps after
them (`csbridge.sync.outcome`).

With a `shard`, only that shard's customers are scored, planned, written and stored,
and only their open tasks read back (`csbridge.sync.shard`, `sync.task_readback`); the
pull is left to a `csbridge pull` run before the shards.

The report (`RunReport.as_dict()`) is the run's JSON: accounts scored, counts per band,
per CRM what landed and what failed with the reason, API calls per system, duration
and seconds per step.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from csbridge import progress
from csbridge.config import Settings
from csbridge.connectors.protocol import CrmWriter
from csbridge.connectors.registry import WRITERS
from csbridge.http.client import CallAccounting
from csbridge.mappings.fields import Crm
from csbridge.scoring.cadence import share_on_cadence
from csbridge.scoring.csm_load import csm_load, load_json
from csbridge.scoring.signals import SignalOptions
from csbridge.store.lock import LockLostError
from csbridge.store.store import Store
from csbridge.sync.apply import Notifier, apply_changes
from csbridge.sync.apply_types import ApplyOptions, ApplyReport
from csbridge.sync.batches import Batches
from csbridge.sync.budget import budget_changes
from csbridge.sync.changes import ChangeSet, DesiredState
from csbridge.sync.cycle import Cycle
from csbridge.sync.events import run_event, send_events
from csbridge.sync.history import save_history
from csbridge.sync.notes import note_targets, run_notes
from csbridge.sync.outcome import Outcome
from csbridge.sync.pull import pull
from csbridge.sync.shard import Shard
from csbridge.sync.spool import Spool
from csbridge.sync.task_close import Evaluated, OpenTasks, follow_up
from csbridge.sync.task_readback import read_back

log = structlog.get_logger("csbridge.run")
WriterFactory = Callable[[Crm, Settings, CallAccounting], CrmWriter]


@dataclass
class RunReport:
    """What one run did; `ok` only when every planned write landed."""

    run_id: str
    dry_run: bool
    accounts_scored: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    crm: dict[str, dict[str, Any]] = field(default_factory=dict)
    pull: dict[str, Any] = field(default_factory=dict)
    accounting: CallAccounting = field(default_factory=CallAccounting)
    unmatched: int = 0
    csm_load: list[dict[str, Any]] = field(default_factory=list)  # per owner and segment
    cadence: dict[str, Any] = field(default_factory=dict)  # share of accounts on cadence
    models: dict[str, int] = field(default_factory=dict)  # accounts scored per model
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, in order
    ok: bool = True
    stopped: str | None = None  # "lock_lost": the run stopped writing (see `lock_lost`)
    lock_lost: str | None = None
    shard: Shard | None = None
    events: dict[str, int] = field(default_factory=dict)  # outbound events sent / failed
    _mark: float = field(default_factory=time.monotonic, repr=False)

    def lap(self, step: str) -> None:
        """Record the seconds since the previous step ended (or the run began) as `step`."""
        now = time.monotonic()
        self.steps[step] = round(now - self._mark, 3)
        self._mark = now

    def as_dict(self) -> dict[str, Any]:
        calls: Counter[str] = Counter()
        for row in self.accounting.rows():
            calls[row.system] += row.count
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "shard": None if self.shard is None else str(self.shard),
            "ok": self.ok,
            "stopped": self.stopped,
            "accounts_scored": self.accounts_scored,
            "bands": self.bands,
            "crm": self.crm,
            "api_calls": dict(sorted(calls.items())),
            "pull": self.pull,
            "unmatched_records": self.unmatched,
            "csm_load": self.csm_load,
            "cadence": self.cadence,
            "models": self.models,
            "duration_seconds": round(self.seconds, 3),
            "steps_seconds": self.steps,
        } | ({"events": self.events} if self.events else {})


def default_writer(target: Crm, settings: Settings, accounting: CallAccounting) -> CrmWriter:
    """The registry's writer of `target`, built from the config."""
    return WRITERS[target](settings, accounting)


def run_sync(
    settings: Settings,
    store: Store,
    now: datetime,
    *,
    dry_run: bool = False,
    pull_first: bool = True,
    full_pull: bool = False,
    writer_factory: WriterFactory = default_writer,
    notifier: Notifier | None = None,
    options: SignalOptions | None = None,
    verify_lock: Callable[[], None] = lambda: None,
    shard: Shard | None = None,
    cycle: Cycle | None = None,
) -> RunReport:
    """One whole run against `store` (or one `shard` of its customers); the caller holds
    the run lock and passes its `verify` (raising `LockLostError`), called before each
    write batch. `cycle`: the process's (default: built from `settings`). `full_pull`:
    the pull re-reads from the start (`pull --full`)."""
    began = time.monotonic()
    cycle = cycle or Cycle.build(settings)
    for target in settings.crm.targets:
        cycle.rules.tasks.end_status(target)  # a missing status: exit 2 before any write
    run_id = store.start_run("run-dry" if dry_run else "run")
    report = RunReport(run_id, dry_run, shard=shard)
    try:
        if pull_first:
            pulled = pull(settings, store, verify_lock=verify_lock, full=full_pull)
            report.lap("pull")
            report.accounting = pulled.accounting  # one count for the whole run
            report.pull = {
                "records": sum(pulled.records.values()),
                "stopped": pulled.stopped,
                "missing_fields": pulled.extra.get("missing_fields", []),
            }
            report.ok = pulled.ok
        _score_and_write(
            settings,
            store,
            now,
            report,
            cycle,
            writer_factory,
            notifier,
            options,
            verify_lock,
        )
    except LockLostError as exc:
        report.ok, report.stopped, report.lock_lost = False, "lock_lost", str(exc)
        log.error("run.lock_lost", run_id=run_id)
    except BaseException:
        store.finish_run(run_id, "crashed", None)
        if not dry_run:
            _post_run_event(settings, store, notifier, {**report.as_dict(), "ok": False}, now)
        raise
    report.seconds = time.monotonic() - began
    status = report.stopped or ("ok" if report.ok else "partial")
    store.finish_run(run_id, status, report.as_dict())
    if not dry_run:
        _post_run_event(settings, store, notifier, report.as_dict(), now)
    return report


def _post_run_event(
    settings: Settings,
    store: Store,
    notifier: Notifier | None,
    report: dict[str, Any],
    now: datetime,
) -> None:
    """The run's finished / failed / stopped event; a failure to post never hides the
    run's own outcome (it is logged)."""
    try:
        event = run_event(report["run_id"], report)
        send_events([event], notifier, store, settings.notifications.events, now)
    except Exception as exc:  # the run's result matters more than its announcement
        log.warning("run.event_failed", error=type(exc).__name__)


def _score_and_write(
    settings: Settings,
    store: Store,
    now: datetime,
    report: RunReport,
    cycle: Cycle,
    writer_factory: WriterFactory,
    notifier: Notifier | None,
    options: SignalOptions | None,
    verify_lock: Callable[[], None],
) -> None:
    targets = list(settings.crm.targets)
    if report.dry_run:
        outcome = Outcome()
    else:
        outcome = Outcome(history=Spool(), open_tasks=OpenTasks.read(store, targets))
    try:
        noted = note_targets(settings)
        _score(settings, store, now, report, cycle, options, outcome, noted)
        report.lap("score")
        report.accounts_scored = outcome.scored
        progress.current().done("score", accounts=report.accounts_scored)
        report.bands = dict(sorted(outcome.bands.items()))
        report.cadence = share_on_cadence(list(outcome.cadence.elements()))
        report.models = dict(sorted(outcome.models.items()))
        report.csm_load = load_json(csm_load(outcome.book))
        for target in targets:
            writer = None if report.dry_run else writer_factory(target, settings, report.accounting)
            try:
                changes, applied = write_target(
                    target,
                    settings,
                    store,
                    outcome.desired.get(target, {}),
                    outcome.evaluated,
                    cycle,
                    now,
                    writer,
                    report.run_id,
                    notifier,
                    verify_lock,
                    shard=report.shard,
                )
            finally:
                if writer is not None:
                    writer.close()
            report.lap(f"write {target}")
            report.crm[target] = {"planned": changes.summary()}
            if applied is not None:
                report.crm[target].update(applied.as_dict())
                report.ok = report.ok and applied.ok
            if not report.dry_run:
                verify_lock()  # an apply stopped by a lost lock: no next target, no history
        if not report.dry_run:
            save_history(
                store,
                outcome.history or (),
                now,
                model_hash=cycle.models.default.model_hash,
                run_id=report.run_id,
            )
            report.lap("history")
            report.events = send_events(
                outcome.events, notifier, store, settings.notifications.events, now
            )
            if noted:
                notes = run_notes(
                    settings,
                    store,
                    now,
                    outcome.notes,
                    lambda crm: writer_factory(crm, settings, report.accounting),
                    verify_lock,
                )
                for name, done in notes.items():
                    crm = report.crm[name]
                    crm.update(notes_created=done.created, notes_found_existing=done.found)
                    crm["failed_records"] = crm["failed_records"] + [vars(f) for f in done.failed]
                    crm["stopped"] = crm["stopped"] or done.stopped
                    report.ok = report.ok and done.ok
                report.lap("notes")
    finally:
        outcome.close()  # its spooled history entries


def _score(
    settings: Settings,
    store: Store,
    now: datetime,
    report: RunReport,
    cycle: Cycle,
    options: SignalOptions | None,
    outcome: Outcome,
    noted: Sequence[Crm],
) -> None:
    """Score the customers (of `report.shard`) a batch at a time into `outcome`; the
    identity index and the last batch's facts go when it returns, before the writes."""
    batches = Batches(store, settings.identity.key, now)
    targets = list(settings.crm.targets)
    keys = batches.in_targets(targets)
    # the benchmarks are medians over every customer in the CRMs, whichever shard runs
    options = batches.benchmarks(options or SignalOptions(), keys)
    if report.shard is not None:
        keys = [key for key in keys if report.shard.owns(key)]
    progress.current().start("score", total=len(keys))
    for customers in batches.customers(keys):
        history = cycle.history(store, now, [c.key for c in customers])
        scored = cycle.score(customers, now, history, options)
        outcome.add(scored, history, cycle, targets, now, noted)
        del scored  # the batch's facts go before the next batch is read
    report.unmatched = batches.report_unmatched().total


def write_target(
    target: Crm,
    settings: Settings,
    store: Store,
    desired: Mapping[str, DesiredState],
    episodes: Sequence[Evaluated],
    cycle: Cycle,
    now: datetime,
    writer: CrmWriter | None,
    run_id: str,
    notifier: Notifier | None,
    verify_lock: Callable[[], None] = lambda: None,
    read_only: Collection[str] | None = None,
    shard: Shard | None = None,
) -> tuple[ChangeSet, ApplyReport | None]:
    """Plan the `desired` states (`Cycle.desired`) against `target`'s ledger and apply
    them through `writer` (None: plan only), then follow the tasks up (`follow_up`: of
    `episodes`, the evaluated accounts, those in `target` have their ended episodes'
    tasks closed). Shared by the scheduled run and the webhook reactions; `read_only`
    limits the read-back of open tasks to those accounts' (a reaction's account), `shard`
    to its customers' (`read_back`)."""
    target_settings = getattr(settings.crm, target)
    mapping = cycle.mappings[target]
    ledger = cycle.ledger(store, target, desired)
    changes = cycle.plan(desired, ledger)
    if writer is None:
        return changes, None
    seen = read_back(store, writer, now, read_only, shard)
    evaluated = set(desired)  # the customers with an account in `target`
    changes, allotted = budget_changes(
        store, target, changes, cycle.rules.tasks, now, ledger[1], evaluated
    )
    applied = apply_changes(
        changes,
        writer,
        store,
        ApplyOptions(
            object_type=mapping.object,
            tag_field=mapping.tag_field,
            fallback_owner_id=target_settings.fallback_owner_id,
            bulk_threshold=target_settings.bulk_threshold,
            lookup_delay=writer.search_lag,
            tasks_alongside=writer.tasks_alongside,
            run_id=run_id,
            verify_lock=verify_lock,
        ),
        notifier=notifier,
    )
    lifecycle = [e for e in episodes if e.account in evaluated]
    follow_up(store, writer, lifecycle, cycle.rules, seen, applied, now, verify_lock)
    if allotted is not None:
        applied.task_budget = allotted.report()
    log.info("run.applied", target=target, ok=applied.ok, failed=len(applied.failed))
    return changes, applied
