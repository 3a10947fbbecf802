"""One pull run: every configured source's streams into the store, page by page.

Each page's records and its cursor are committed in one transaction
(`Store.save_page`), so a crash between two pages re-reads the last page on the next
run and never skips one. Pages without a cursor (full listings) are upserted alone.
A source that runs out of quota, or fails, stops on its own; the others go on, and the
run report says which streams finished. So does a stream whose cursor would move back
(`CursorRegressionError`): its page is not stored, and the report says why. A
`SetupError` (credentials rejected, a wrong base URL, an unknown host) stops the whole
pull: no stream can be trusted until it is fixed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import structlog

from csbridge import progress
from csbridge.config import Settings
from csbridge.connectors.hubspot import HubspotConnector
from csbridge.connectors.mixpanel import MixpanelConnector
from csbridge.connectors.paginate import Page
from csbridge.connectors.salesforce import SalesforceConnector
from csbridge.connectors.salesforce_soql import SalesforceCursor
from csbridge.connectors.zendesk import ZendeskConnector
from csbridge.http import CallAccounting
from csbridge.http_errors import HttpError, QuotaExhaustedError, SetupError
from csbridge.http_vendors import hubspot_client, mixpanel_client, salesforce_client, zendesk_client
from csbridge.models import Ticket
from csbridge.store.facts import storable_record
from csbridge.store.lock import LockLostError
from csbridge.store.store import Cursor, CursorRegressionError, Store

log = structlog.get_logger("csbridge.pull")
SANITISED_LISTED = 20  # record ids listed per stream in the report (all are counted)
Stream = tuple[str, Callable[[str | None], Iterable[Page[Any]]]]


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


def watermark(stream: str, token: str | None) -> datetime | None:
    """The comparable time behind a stream's cursor (None for opaque Zendesk cursors)."""
    if not token:
        return None
    if stream.startswith("salesforce."):
        return SalesforceCursor.decode(token).modstamp
    if stream.startswith("hubspot."):
        return datetime.fromtimestamp(int(token) / 1000, tz=UTC)
    if stream.startswith("mixpanel."):
        day = date.fromisoformat(token)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if stream in ("zendesk.satisfaction_ratings", "zendesk.organizations"):
        return datetime.fromtimestamp(int(token), tz=UTC)
    return None


def streams(
    settings: Settings,
    store: Store,
    accounting: CallAccounting,
    extra: dict[str, Any] | None = None,
) -> Iterator[Stream]:
    """(name, read(cursor)) for every stream of every configured source, in a safe order."""
    src, http = settings.sources, settings.http
    if src.salesforce is not None:
        sf_settings = src.salesforce
        sf_client = salesforce_client(sf_settings, http, accounting)
        holder: dict[str, SalesforceConnector] = {}

        def sf() -> SalesforceConnector:  # log in lazily, inside the stream's error handling
            if "c" not in holder:
                holder["c"] = SalesforceConnector(sf_settings, sf_client)
            return holder["c"]

        for name in ("owners", "accounts", "contacts", "opportunities", "nps_answers"):
            yield f"salesforce.{name}", partial(_read, sf, name)
        if extra is not None:
            extra["salesforce_api_usage"] = list(sf().api_usage() or ()) if holder else None
    if src.hubspot is not None:
        hs = HubspotConnector(hubspot_client(src.hubspot, http, accounting))
        yield "hubspot.owners", lambda c: hs.owners()
        for name in ("companies", "contacts", "deals", "feedback_submissions"):
            yield f"hubspot.{name}", partial(_read, lambda: hs, name)
        for name in ("companies", "contacts", "deals"):
            yield f"hubspot.archived_{name}", partial(_archived, hs, name)
    if src.zendesk is not None:
        zd = ZendeskConnector(zendesk_client(src.zendesk, http, accounting))
        known: dict[str, str | None] = {}

        def ticket_orgs(ids: Iterable[str]) -> dict[str, str | None]:
            if not known:
                for t in store.load(Ticket, source="zendesk", include_deleted=True):
                    known[t.id] = t.account_id
            return {i: known[i] for i in ids if i in known}

        yield "zendesk.organizations", lambda c: zd.organizations(c)
        yield "zendesk.tickets", lambda c: zd.tickets(c)
        yield (
            "zendesk.satisfaction_ratings",
            lambda c: zd.satisfaction_ratings(c, ticket_orgs=ticket_orgs),
        )
    if src.mixpanel is not None:
        mp = MixpanelConnector(src.mixpanel, mixpanel_client(src.mixpanel, http, accounting))
        yield "mixpanel.usage_days", partial(_usage_days, mp, extra if extra is not None else {})


def _read(connector: Callable[[], Any], method: str, cursor: str | None) -> Iterable[Page[Any]]:
    stream: Iterable[Page[Any]] = getattr(connector(), method)(cursor)
    return stream


def _usage_days(
    mp: MixpanelConnector, extra: dict[str, Any], cursor: str | None
) -> Iterator[Page[Any]]:
    yield from mp.usage_days(cursor)
    extra["mixpanel_events"] = dataclasses.asdict(mp.stats)  # duplicates, unattributed, ...


def _archived(hs: HubspotConnector, object_type: str, cursor: str | None) -> Iterable[Page[Any]]:
    return hs.archived(object_type)


def pull(
    settings: Settings,
    store: Store,
    only: set[str] | None = None,
    *,
    verify_lock: Callable[[], None] = lambda: None,
) -> PullReport:
    """Pull every configured stream (or the sources in `only`) into the store; the
    caller holds the store's lock and `verify_lock` is checked before each page."""
    report = PullReport()
    run_id = store.start_run("pull")
    try:
        _pull_streams(settings, store, only, verify_lock, report, run_id)
    except LockLostError:
        store.finish_run(run_id, "lock_lost", report.as_dict())
        raise
    except SetupError:
        store.finish_run(run_id, "failed", report.as_dict())
        raise
    store.finish_run(run_id, "ok" if report.ok else "partial", report.as_dict())
    return report


def _pull_streams(
    settings: Settings,
    store: Store,
    only: set[str] | None,
    verify_lock: Callable[[], None],
    report: PullReport,
    run_id: str,
) -> None:
    halted: set[str] = set()
    for name, read in streams(settings, store, report.accounting, report.extra):
        system = name.split(".", 1)[0]
        if (only and system not in only) or system in halted:
            continue
        stored = store.get_cursor(name)
        cursor = stored.token if stored else None
        report.records[name] = report.pages[name] = 0
        began = time.perf_counter()
        progress.current().start(f"pull.{name}")
        try:
            for page in read(cursor):
                verify_lock()
                records = _storable(name, page.records, report)
                if page.cursor is not None and page.cursor != cursor:
                    mark = Cursor(name, page.cursor, watermark(name, page.cursor))
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
