"""Report notes: the review and the QBR prep attached to each account in the CRM, once
per period (`reports.crm_notes`), as a step of `csbridge run` after the writes.

A note's key is `account:note-<report>:<period>` (e.g. `acme.com:note-review:2026-12`),
kept in the ledger's key table under the target `<crm>:notes`, exactly as tasks are:

1. Keys already `created` are not planned: on the days between two periods the step
   makes no call at all.
2. The rest are looked up in the CRM first (`find_notes`), after waiting out its search
   lag when keys were left `pending` moments ago; a note made by a run that died before
   recording it is adopted, never made twice. A failed lookup carries the notes to the
   next run (never created blind).
3. The missing ones are built (the report as of the run, scores included), marked
   `pending` (committed), created in batches, and recorded `created` or `failed`. A
   create whose outcome is unknown stays `pending`: the next run looks it up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from csbridge.config import CrmNoteSettings, Settings
from csbridge.connectors.protocol import NoteCreate, NoteWriter, WriteResult, chunks
from csbridge.http.errors import HttpError, QuotaExhaustedError, SetupError, UnknownOutcomeError
from csbridge.mappings.fields import Crm
from csbridge.reports.metrics import Surveys
from csbridge.reports.periods import Period, month_of, quarter_of
from csbridge.reports.qbr import build_qbr
from csbridge.reports.render_note import render_note
from csbridge.reports.review import build_review, portfolio_benchmark
from csbridge.reports.source import ReportSource, TaskRow
from csbridge.store.facts import as_utc
from csbridge.store.lock import LockLostError
from csbridge.store.store import Store
from csbridge.sync import ledger
from csbridge.sync.apply_types import Failure, split_on_rejection
from csbridge.sync.cycle import Scored

log = structlog.get_logger("csbridge.notes")
HEADINGS = {"review": "Customer Success Review", "qbr": "QBR Prep"}
NOTES_TARGET = "{}:notes"
BUILD = 240  # notes built per read of the store (about 5 MB of HTML)
MAX_HTML = 65_536  # HubSpot's hs_note_body limit; a ContentNote takes far more
NoteAccount = tuple[str, str, str]  # customer key, CRM record id, account name


@dataclass
class NoteReport:
    """What the notes step did in one CRM."""

    planned: int = 0
    created: int = 0
    found: int = 0
    failed: list[Failure] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


def note_periods(settings: CrmNoteSettings, today: date) -> dict[str, Period]:
    """The period of each report attached as a note: the review this month (or quarter),
    the QBR prep of this quarter (reviewing the quarter just ended)."""
    periods: dict[str, Period] = {}
    if settings.review != "off":
        periods["review"] = (month_of if settings.review == "monthly" else quarter_of)(today)
    if settings.qbr != "off":
        periods["qbr"] = quarter_of(today)
    return periods


def plan_notes(
    accounts: Sequence[NoteAccount], periods: dict[str, Period], done: frozenset[str]
) -> list[NoteCreate]:
    """Notes due for (customer key, record id, account name) and not yet created (pure)."""
    notes = []
    for key, record_id, name in accounts:
        for kind, period in periods.items():
            note_key = f"{key}:note-{kind}:{period.label}"
            if note_key not in done:
                title = f"{HEADINGS[kind]} — {name} — {period.label}"
                notes.append(NoteCreate(note_key, record_id, title, ""))
    return notes


def note_targets(settings: Settings) -> list[Crm]:
    """The CRMs report notes go to: none while every report is off."""
    notes = settings.reports.crm_notes
    if notes.review == "off" and notes.qbr == "off":
        return []
    return list(notes.crms or settings.crm.targets)


def run_notes(
    settings: Settings,
    store: Store,
    now: datetime,
    accounts: Mapping[Crm, Sequence[NoteAccount]],
    writer_for: Callable[[Crm], Any],
    verify_lock: Callable[[], None],
) -> dict[Crm, NoteReport]:
    """The notes step of a run, CRM by CRM, for the run's `accounts` in each
    (`note_accounts`); `writer_for(target)` builds its writer, only for a CRM with notes
    due (between two periods, no call at all)."""
    reports: dict[Crm, NoteReport] = {}
    for target in note_targets(settings):
        due = due_notes(target, store, settings, accounts.get(target, ()), now)
        if not due:
            reports[target] = NoteReport()
            continue
        writer = writer_for(target)
        try:
            notes = getattr(writer, "notes", None)
            if notes is None:
                reports[target] = NoteReport(stopped=f"{target}: this writer has no notes")
                continue
            try:
                reports[target] = attach_notes(
                    target, notes(), store, settings, due, now, verify_lock
                )
            except QuotaExhaustedError as exc:
                reports[target] = NoteReport(stopped=f"{exc}; the rest goes out on the next run")
        finally:
            writer.close()
    return reports


def note_accounts(scored: Sequence[Scored], target: str) -> list[NoteAccount]:
    """(customer key, record id, account name) of each of `scored` with an account in
    `target`: all the notes step needs of the run's scored accounts."""
    accounts: dict[str, NoteAccount] = {}
    for s in scored:
        account = next((a for a in s.facts.accounts if a.source == target), None)
        if account is not None:
            accounts.setdefault(s.facts.key, (s.facts.key, account.id, account.name or s.facts.key))
    return list(accounts.values())


def due_notes(
    target: str, store: Store, settings: Settings, accounts: Sequence[NoteAccount], now: datetime
) -> list[NoteCreate]:
    """The notes of `accounts` (`note_accounts`) in `target` due this period and not yet
    created."""
    done = ledger.done_keys(store, NOTES_TARGET.format(target))
    periods = note_periods(settings.reports.crm_notes, now.date())
    return plan_notes(accounts, periods, done)


def attach_notes(
    target: str,
    writer: NoteWriter,
    store: Store,
    settings: Settings,
    notes: list[NoteCreate],
    now: datetime,
    verify_lock: Callable[[], None] = lambda: None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> NoteReport:
    """Look the due `notes` up, then create the missing ones (see module doc)."""
    clock = clock or (lambda: datetime.now(now.tzinfo))
    report = NoteReport(planned=len(notes))
    name = NOTES_TARGET.format(target)
    try:
        found = _look_up(writer, store, name, notes, clock, sleep)
    except (QuotaExhaustedError, SetupError):
        raise
    except HttpError as exc:
        _fail(report, notes, f"note lookup failed: {exc}; carried to the next run")
        return report
    report.found = len(found)
    missing = [n for n in notes if n.key not in found]
    if missing:
        periods = note_periods(settings.reports.crm_notes, now.date())
        _create_all(
            writer, store, name, missing, settings, now, periods, report, verify_lock, clock
        )
    log.info("notes.attached", target=target, created=report.created, found=report.found)
    return report


def _look_up(
    writer: NoteWriter,
    store: Store,
    name: str,
    notes: list[NoteCreate],
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> dict[str, str]:
    """Notes already in the CRM (adopted as created), after waiting out search lag."""
    states = ledger.key_states(store, name, [n.key for n in notes])
    pending = [as_utc(at) for status, at in states.values() if status == "pending"]
    newest = max((at for at in pending if at is not None), default=None)
    if newest is not None and writer.search_lag > 0:
        wait = (newest + timedelta(seconds=writer.search_lag) - clock()).total_seconds()
        if wait > 0:
            sleep(wait)
    found = writer.find_notes(notes)
    if found:
        ledger.set_keys(store, name, {k: ("created", i, None) for k, i in found.items()}, clock())
    return found


def _create_all(
    writer: NoteWriter,
    store: Store,
    name: str,
    missing: list[NoteCreate],
    settings: Settings,
    now: datetime,
    periods: dict[str, Period],
    report: NoteReport,
    verify_lock: Callable[[], None],
    clock: Callable[[], datetime],
) -> None:
    """Build the missing notes `BUILD` at a time (facts read once per slice: reading them
    per create batch of 12 cost more than building the reports), and create them in the
    writer's batches, checking the lock before each."""
    source = ReportSource(settings, now)
    try:
        benchmark = portfolio_benchmark(source)  # the review's portfolio column, once
        batches = chunks(missing, writer.note_batch_size)
        built: list[NoteCreate] = []
        for done, batch in enumerate(batches):
            try:
                verify_lock()
            except LockLostError:
                rest = [n for b in batches[done:] for n in b]
                _fail(report, rest, "not attempted: run lock lost")
                raise
            if len(built) < len(batch):  # `built` holds the notes from this batch on
                begin = done * writer.note_batch_size + len(built)
                ahead = missing[begin : begin + max(BUILD, len(batch) - len(built))]
                built += _with_bodies(source, benchmark, ahead, periods)
            _create(writer, store, name, built[: len(batch)], report, clock)
            built = built[len(batch) :]
    finally:
        source.close()


def _with_bodies(
    source: ReportSource, benchmark: Surveys, batch: list[NoteCreate], periods: dict[str, Period]
) -> Iterator[NoteCreate]:
    """The batch's notes with their report rendered as note HTML; the batch's facts,
    scores, tasks and playbooks are read once for all its accounts."""
    keys = sorted({n.key.split(":")[0] for n in batch})
    facts = {f.key: f for f in source.customers(keys)}
    histories = dict(source.history(keys))
    episodes = source.episodes(keys)
    tasks: dict[str, list[TaskRow]] = {}
    for task in source.tasks(keys):
        tasks.setdefault(task.key.split(":")[0], []).append(task)
    for note in batch:
        key, kind, _ = note.key.rsplit(":", 2)
        points = histories.get(key, [])
        if kind == "note-review":
            document = build_review(
                source,
                key,
                benchmark,
                facts[key],
                points,
                tasks.get(key, []),
                episodes.get(key, {}),
            )
        else:
            document = build_qbr(source, key, periods["qbr"], facts[key], points)
        yield replace(note, html=render_note(document, note.title, MAX_HTML))


def _create(
    writer: NoteWriter,
    store: Store,
    name: str,
    batch: list[NoteCreate],
    report: NoteReport,
    clock: Callable[[], datetime],
) -> None:
    keys = [n.key for n in batch]
    ledger.set_keys(store, name, {k: ("pending", None, None) for k in keys}, clock())
    unknown = False
    try:
        results = split_on_rejection(batch, writer.create_notes, lambda n: n.key)
    except UnknownOutcomeError as exc:  # left pending: the next run looks them up first
        results = [WriteResult(k, False, error=f"{exc}; looked up next run") for k in keys]
        unknown = True
    except (QuotaExhaustedError, SetupError):
        raise
    except HttpError as exc:
        results = [WriteResult(k, False, error=str(exc)) for k in keys]
    states: dict[str, tuple[str, str | None, str | None]] = {}
    accounts = {n.key: n.key.split(":")[0] for n in batch}
    for result in results:
        if result.ok:
            states[result.ref] = ("created", result.id, None)
            report.created += 1
        else:
            reason = result.error or "rejected"
            if not unknown:
                states[result.ref] = ("failed", None, reason[:1000])
            report.failed.append(Failure("note", result.ref, accounts[result.ref], reason))
    ledger.set_keys(store, name, states, clock())


def _fail(report: NoteReport, notes: Sequence[NoteCreate], reason: str) -> None:
    for note in notes:
        report.failed.append(Failure("note", note.key, note.key.split(":")[0], reason))
