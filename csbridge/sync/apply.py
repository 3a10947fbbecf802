"""Apply a ChangeSet to one CRM: fields and tags, tasks, then notifications.

- Records go out in batches as large as the API allows (`writer.batch_size`), or as
  one Salesforce Bulk 2.0 job above `bulk_threshold` changed records. Each landed
  batch is recorded in the ledger at once (a crash loses at most the batch in flight,
  which the next run plans again).
- Tags: the tags field is read first and rewritten with csbridge's owned tags added or
  removed; every other tag on the record is kept as it was.
- A per-record failure is retried in this run when the CRM calls it transient (a row
  lock), otherwise reported with its reason and, since the ledger does not record it,
  planned again by the next run. A whole batch refused is split in halves until the
  bad record is alone.
- Tasks: every planned key is first looked up in the CRM (a task created by a run that
  crashed or timed out before recording it is found, never created twice); the rest are
  marked pending, created, then recorded. A create whose outcome is unknown (timeout)
  is looked up again before the one retry. On HubSpot the tasks go out on a second
  thread while the records do (`apply_tasks`).
- The Salesforce quota guard (`QuotaExhaustedError`) stops the apply cleanly: what is
  left is reported as not attempted and goes out on the next run. So does a lost run
  lock (`options.verify_lock`, called before each record and task batch): another run
  may be writing already, so this one stops at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from csbridge import progress
from csbridge.connectors.protocol import (
    BatchRejectedError,
    CrmWriter,
    RecordUpdate,
    WriteResult,
    chunks,
)
from csbridge.http.errors import HttpError, QuotaExhaustedError, SetupError
from csbridge.store.lock import LockLostError
from csbridge.store.store import Store
from csbridge.sync import ledger
from csbridge.sync.apply_tasks import TaskApplier
from csbridge.sync.apply_types import (
    ApplyOptions,
    ApplyReport,
    Failure,
    split_on_rejection,
)
from csbridge.sync.changes import AccountChanges, ChangeSet, Notification

log = structlog.get_logger("csbridge.apply")
RETRY_PASSES = 2


class Notifier(Protocol):
    """Sends a rule notification (Slack and/or a signed webhook)."""

    @property
    def configured(self) -> bool: ...

    def send(self, note: Notification) -> WriteResult: ...


def apply_changes(
    changes: ChangeSet,
    writer: CrmWriter,
    store: Store,
    options: ApplyOptions,
    *,
    notifier: Notifier | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] | None = None,
) -> ApplyReport:
    """Write `changes` through `writer`, recording what landed; never raises for a
    per-record problem (see the report), only for bad credentials."""
    report = ApplyReport(writer.name)
    accounts = [a for a in changes.accounts if a.fields or a.tags]
    progress.current().start(f"apply.{writer.name}", total=len(accounts))
    tasks = TaskApplier(writer, store, options, report, clock, sleep)
    try:
        tasks.apply(
            [a for a in changes.accounts if a.tasks],
            alongside=lambda: _apply_records(accounts, writer, store, options, report, clock),
        )
    except QuotaExhaustedError as exc:
        report.stopped = f"{exc}; the rest goes out on the next run"
        log.warning("apply.quota_stop", target=writer.name)
    except LockLostError as exc:
        report.stopped = str(exc)
        log.error("apply.lock_lost", target=writer.name)
    if report.stopped is None:
        _notify(changes, notifier, store, report, clock)
    progress.current().done(
        f"apply.{writer.name}",
        records=report.records_updated,
        tasks=report.tasks_created,
        failed=len(report.failed),
        ok=report.ok,
    )
    return report


def _apply_records(
    accounts: Sequence[AccountChanges],
    writer: CrmWriter,
    store: Store,
    options: ApplyOptions,
    report: ApplyReport,
    clock: Callable[[], datetime],
) -> None:
    by_record = {a.record_id: a for a in accounts}
    pending = _updates(accounts, writer, options, report)
    for attempt in range(RETRY_PASSES + 1):
        retry: list[RecordUpdate] = []
        bulk = writer.bulk and len(pending) > options.bulk_threshold
        batches = [pending] if bulk else chunks(pending, writer.batch_size)
        for done, batch in enumerate(batches):
            try:
                options.verify_lock()
                if bulk:
                    try:
                        results = writer.bulk_update(batch)
                    except BatchRejectedError as exc:  # the job failed whole: go record by record
                        log.warning("apply.bulk_rejected", target=writer.name, reason=exc.reason)
                        results = [
                            r
                            for part in chunks(batch, writer.batch_size)
                            for r in split_on_rejection(part, writer.update_records, _record_ref)
                        ]
                else:
                    results = split_on_rejection(batch, writer.update_records, _record_ref)
            except (QuotaExhaustedError, LockLostError) as exc:
                reason = "quota guard" if isinstance(exc, QuotaExhaustedError) else "run lock lost"
                rest = [u for b in batches[done:] for u in b]
                _not_attempted(report, rest, by_record, f"not attempted: {reason}")
                raise
            except SetupError:  # credentials, a missing field: fix before any retry
                raise
            except HttpError as exc:
                results = [WriteResult(u.record_id, False, error=str(exc)) for u in batch]
            landed = {r.ref for r in results if r.ok}
            written = {u.record_id: u.fields for u in batch if u.record_id in landed}
            ledger.record_fields(
                store, writer.name, options.object_type, written, clock(), options.run_id
            )
            for result in results:
                account = by_record[result.ref]
                if result.ok:
                    report.records_updated += 1
                    report.fields_written += len(account.fields)
                    report.tags_changed += len(account.tags.added) + len(account.tags.removed)
                elif result.retryable and attempt < RETRY_PASSES:
                    retry.append(next(u for u in batch if u.record_id == result.ref))
                else:
                    reason = result.error or "rejected"
                    report.failed.append(Failure("record", result.ref, account.account_id, reason))
            if attempt == 0:
                progress.current().advance(f"apply.{writer.name}", len(batch))
        if not retry:
            return
        pending = retry


def _updates(
    accounts: Sequence[AccountChanges],
    writer: CrmWriter,
    options: ApplyOptions,
    report: ApplyReport,
) -> list[RecordUpdate]:
    """One RecordUpdate per account; tag changes merged into the record's current tags."""
    tagged = [a.record_id for a in accounts if a.tags]
    current: dict[str, str | None] = {}
    unread: dict[str, str] = {}
    if tagged and options.tag_field:
        for chunk in chunks(tagged, writer.batch_size):
            try:
                current.update(writer.read_field(chunk, options.tag_field))
            except (QuotaExhaustedError, SetupError):
                raise
            except HttpError as exc:
                unread.update((record_id, f"current tags unreadable: {exc}") for record_id in chunk)
    updates = []
    for account in accounts:
        if account.record_id in unread:  # never overwrite tags we could not read
            reason = unread[account.record_id]
            report.failed.append(Failure("record", account.record_id, account.account_id, reason))
            continue
        values = {c.field: c.after for c in account.fields}
        if account.tags and options.tag_field:
            tags = [
                t
                for t in ledger.split_tags(current.get(account.record_id))
                if t not in account.tags.removed
            ]
            tags += [t for t in account.tags.added if t not in tags]
            values[options.tag_field] = ledger.TAG_SEPARATOR.join(tags) or None
        updates.append(RecordUpdate(account.record_id, values))
    return updates


def _record_ref(update: RecordUpdate) -> str:
    return update.record_id


def _not_attempted(
    report: ApplyReport,
    updates: Sequence[RecordUpdate],
    by_record: dict[str, AccountChanges],
    reason: str,
) -> None:
    for update in updates:
        account = by_record[update.record_id]
        report.failed.append(Failure("record", update.record_id, account.account_id, reason))


def _notify(
    changes: ChangeSet,
    notifier: Notifier | None,
    store: Store,
    report: ApplyReport,
    clock: Callable[[], datetime],
) -> None:
    """Send each notification once; keys are recorded as sent, or skipped when no
    channel is configured (so configuring one later does not post a backlog)."""
    for account in changes.accounts:
        for note in account.notifications:
            if notifier is None or not notifier.configured:
                status: tuple[str, str | None, str | None] = ("skipped", None, None)
                report.notifications_skipped += 1
            else:
                result = notifier.send(note)
                if not result.ok:
                    reason = result.error or "not delivered"
                    report.failed.append(Failure("notification", note.key, note.account_id, reason))
                    continue
                status = ("sent", None, None)
                report.notifications_sent += 1
            ledger.set_keys(store, ledger.NOTIFY_TARGET, {note.key: status}, clock())
