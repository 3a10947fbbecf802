"""One pull run: every configured source's streams into the store, page by page.

Each page's records and its cursor are committed in one transaction
(`Store.save_page`), so a crash between two pages re-reads the last page on the next
run and never skips one. Pages without a cursor (full listings) are upserted alone.
A source that runs out of quota, or fails, stops on its own; the others go on, and the
run report says which streams finished. So does a stream whose cursor would move back
(`CursorRegressionError`): its page is not stored, and the report says why. A
`SetupError` (credentials rejected, a wrong base URL, an unknown host) stops the whole
pull: no stream can be trusted until it is fixed.

A full pull (`full=True`, `csbridge pull --full`) reads each chosen stream from the
start as on a first run, ignoring its stored cursor, so every record comes back with the
fields named since (an incremental pull only returns the records changed since). The
pages behind the stored cursor are stored without moving it (it never moves back); from
the first page past it on, the cursor advances as usual. A full pull stopped half-way
leaves the cursor where it was: the next incremental pull misses nothing it would have
read, and `--full` again finishes the re-read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from csbridge import progress
from csbridge.config import Settings
from csbridge.connectors.protocol import Read, Source, SourceContext
from csbridge.connectors.registry import SOURCES
from csbridge.connectors.signal_fields import missing_notes
from csbridge.http.client import CallAccounting
from csbridge.http.errors import HttpError, QuotaExhaustedError, SetupError
from csbridge.store.facts import storable_record
from csbridge.store.lock import LockLostError
from csbridge.store.store import Cursor, CursorRegressionError, Store

log = structlog.get_logger("csbridge.pull")
SANITISED_LISTED = 20  # record ids listed per stream in the report (all are counted)
Stream = tuple[str, Read, Callable[[str | None], datetime | None]]


@dataclass
class PullReport:
    """What a run did: records and pages per stream, calls per system, stops and errors."""

    records: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    sanitised: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    accounting: CallAccounting = field(default_factory=CallAccounting)

    @property
    def ok(self) -> bool:
        """True when every stream finished."""
        return not self.stopped

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report for the runs table."""
        calls: dict[str, int] = {}
        for row in self.accounting.rows():
            calls[row.system] = calls.get(row.system, 0) + row.count
        return {
            "records": self.records,
            "pages": self.pages,
            "calls": calls,
            "calls_by_endpoint": [
                [r.system, r.endpoint, r.status, r.count] for r in self.accounting.rows()
            ],
            "stopped": self.stopped,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "sanitised": {
                stream: {"count": len(ids), "records": ids[:SANITISED_LISTED]}
                for stream, ids in self.sanitised.items()
            },
            **self.extra,
        }


def streams(
    settings: Settings,
    store: Store,
    accounting: CallAccounting,
    extra: dict[str, Any] | None = None,
    account_fields: dict[str, tuple[bool, frozenset[str]]] | None = None,
) -> Iterator[Stream]:
    """(name, read(cursor), watermark(token)) for every stream of every configured source,
    in the registry's order; the sources note their account fields in `account_fields`."""
    report = extra if extra is not None else {}
    fields = account_fields if account_fields is not None else {}
    for system, factory in SOURCES.items():
        stored = partial(_stored, store, system)
        source = factory(SourceContext(settings, accounting, stored, report, fields))
        if source is None:
            continue
        for stream, read in source.streams():
            yield f"{system}.{stream}", read, partial(_watermark, source, stream)


def _stored(store: Store, system: str, record_type: type[Any]) -> list[Any]:
    return store.load(record_type, source=system, include_deleted=True)


def _watermark(source: Source, stream: str, token: str | None) -> datetime | None:
    return source.watermark(stream, token) if token else None


def pull(
    settings: Settings,
    store: Store,
    only: set[str] | None = None,
    *,
    verify_lock: Callable[[], None] = lambda: None,
    full: bool = False,
) -> PullReport:
    """Pull every configured stream (or the sources in `only`) into the store, from the
    stored cursors or, `full`, from the start; the caller holds the store's lock and
    `verify_lock` is checked before each page."""
    report = PullReport()
    run_id = store.start_run("pull")
    try:
        _pull_streams(settings, store, only, verify_lock, report, run_id, full)
    except LockLostError:
        store.finish_run(run_id, "lock_lost", report.as_dict())
        raise
    except SetupError:
        store.finish_run(run_id, "failed", report.as_dict())
        raise
    if any(report.records.values()):
        store.analyze()
    store.finish_run(run_id, "ok" if report.ok else "partial", report.as_dict())
    return report


def _pull_streams(
    settings: Settings,
    store: Store,
    only: set[str] | None,
    verify_lock: Callable[[], None],
    report: PullReport,
    run_id: str,
    full: bool = False,
) -> None:
    halted: set[str] = set()
    fields: dict[str, tuple[bool, frozenset[str]]] = {}
    for name, read, watermark in streams(settings, store, report.accounting, report.extra, fields):
        system = name.split(".", 1)[0]
        if (only and system not in only) or system in halted:
            continue
        stored = store.get_cursor(name)
        cursor = stored.token if stored and not full else None
        # a full re-read stores its pages behind the stored cursor without moving it
        behind = stored.watermark if stored and full else None
        report.records[name] = report.pages[name] = 0
        began = time.perf_counter()
        progress.current().start(f"pull.{name}")
        try:
            for page in read(cursor):
                verify_lock()
                records = _storable(name, page.records, report)
                moved = page.cursor is not None and page.cursor != cursor
                mark = Cursor(name, page.cursor, watermark(page.cursor)) if moved else None
                if mark is not None and not _behind(mark, behind):
                    store.save_page(records, mark, run_id=run_id)
                    cursor = page.cursor
                else:
                    store.save_page(records, run_id=run_id)
                report.records[name] += len(page.records)
                report.pages[name] += 1
                progress.current().advance(f"pull.{name}", len(page.records))
        except SetupError:  # credentials or URL to fix: the whole command stops (exit 2)
            raise
        except QuotaExhaustedError as exc:
            halted.add(system)
            report.stopped[name] = str(exc)
            log.warning("pull.quota_stop", stream=name, system=system)
        except (HttpError, CursorRegressionError) as exc:
            halted.add(system)
            report.stopped[name] = str(exc)
            log.error("pull.stream_failed", stream=name, error=str(exc))
        report.seconds[name] = time.perf_counter() - began
        progress.current().done(
            f"pull.{name}",
            records=report.records[name],
            pages=report.pages[name],
            ok=name not in report.stopped,
        )
    notes = missing_notes(settings.signals, fields)  # a field no source of accounts has
    if notes:
        report.extra.setdefault("missing_fields", []).extend(notes)


def _behind(mark: Cursor, stored: datetime | None) -> bool:
    """Whether a full re-read's page is still behind the stored cursor's watermark."""
    return stored is not None and (mark.watermark is None or mark.watermark < stored)


def _storable(stream: str, records: list[Any], report: PullReport) -> list[Any]:
    """The page's records with unstorable text cleaned; each cleaned one logged and reported."""
    kept = []
    for record in records:
        clean, fields = storable_record(record)
        if fields:
            report.sanitised.setdefault(stream, []).append(clean.id)
            log.warning("pull.record_sanitised", stream=stream, record=clean.id, fields=fields)
        kept.append(clean)
    return kept
