"""Mixpanel pull: the raw event export, streamed and folded into per-account daily usage.

`GET {export_url}/api/2.0/export?from_date=&to_date=&project_id=` (both dates inclusive,
in the project's time zone) is read in date windows, as a streamed body split on
newlines chunk by chunk: the body is never held in memory. Each window is folded on
the fly into `UsageDay` records (see `mixpanel_usage`) and yielded as one page whose
cursor is the window's last day, so the store commits a window's days with the cursor.
The next run restarts `lookback_days` before the cursor to catch late events; the day
of the cursor itself is always re-read (it was still in progress).

A stream that breaks mid-body or ends with `terminated early` makes the window
incomplete: it is read again from scratch (bounded), never half-committed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
import structlog

from csbridge.config import MixpanelSettings
from csbridge.connectors.mixpanel.export import ExportTruncated, parse_events, split_lines
from csbridge.connectors.mixpanel.usage import FoldStats, UsageFold
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    RetriesExhaustedError,
)
from csbridge.http.paginate import Page
from csbridge.http.transport import transport_failure
from csbridge.models import UsageDay

SYSTEM = "mixpanel"
EXPORT_PATH = "/api/2.0/export"
log = structlog.get_logger("csbridge.connectors.mixpanel.streams")


@dataclass(frozen=True)
class MixpanelOptions:
    """Windowing and folding choices.

    `window_days` trades export calls (60 per hour per project) against the size of the
    per-window de-duplication table; `key_features` lists the events counted per feature
    (empty: every event name); `session_event` counts sessions from an explicit event
    instead of 30-minute gaps.
    """

    window_days: int = 7
    initial_days: int = 90
    key_features: tuple[str, ...] = ()
    session_event: str | None = None
    window_attempts: int = 3
    chunk_size: int = 256 * 1024


class MixpanelConnector:
    """Daily usage per account (group key value) from the raw export."""

    def __init__(
        self,
        settings: MixpanelSettings,
        client: ApiClient,
        options: MixpanelOptions | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.client = client
        self.options = options or MixpanelOptions()
        self.now = now
        self.stats = FoldStats()

    def windows(self, cursor: str | None) -> list[tuple[date, date]]:
        """The inclusive (from_date, to_date) windows this run reads, oldest first."""
        today = self.now().astimezone(ZoneInfo(self.settings.timezone)).date()
        if cursor:
            first = date.fromisoformat(cursor) - timedelta(days=self.settings.lookback_days)
        else:
            first = today - timedelta(days=self.options.initial_days - 1)
        first = min(first, today)
        out = []
        while first <= today:
            last = min(first + timedelta(days=self.options.window_days - 1), today)
            out.append((first, last))
            first = last + timedelta(days=1)
        return out

    def usage_days(self, cursor: str | None = None) -> Iterator[Page[UsageDay]]:
        """One page per window: every account-day folded from it, cursor = its last day."""
        floor = date.fromisoformat(cursor) if cursor else None
        for first, last in self.windows(cursor):
            fold = self._read_window(first, last)
            days = fold.usage_days(first, last)
            for name, value in dataclasses.asdict(fold.stats).items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
            mark = max(last, floor) if floor else last
            yield Page(days, mark.isoformat())

    def _read_window(self, first: date, last: date) -> UsageFold:
        reason = ""
        for attempt in range(1, self.options.window_attempts + 1):
            fold = UsageFold(
                self.settings.group_key,
                self.settings.timezone,
                self.options.key_features,
                self.options.session_event,
                feature_property=self.settings.feature_property,
                duration_property=self.settings.duration_property,
            )
            try:
                self._stream_into(fold, first, last)
            except ExportTruncated:
                reason = "export terminated early"
            except (requests.exceptions.RequestException, OSError) as exc:
                failure = transport_failure(exc)
                if failure is None or failure.fatal:
                    raise
                reason = failure.reason
            else:
                return fold
            log.warning(
                "mixpanel.window_retry",
                from_date=first.isoformat(),
                to_date=last.isoformat(),
                attempt=attempt,
                reason=reason,
            )
        raise RetriesExhaustedError(
            SYSTEM, "export", f"{reason} for {first}..{last} after {attempt} attempts"
        )

    def _stream_into(self, fold: UsageFold, first: date, last: date) -> None:
        response = self.client.get(
            EXPORT_PATH,
            params={
                "from_date": first.isoformat(),
                "to_date": last.isoformat(),
                "project_id": self.settings.project_id,
            },
            headers={"Accept-Encoding": "gzip", "Accept": "text/plain"},
            stream=True,
            endpoint="export",
            bucket="export",
            must_exist=True,
        )
        try:
            chunks = response.iter_content(chunk_size=self.options.chunk_size)
            fold.add_all(parse_events(split_lines(chunks)))
        finally:
            response.close()
