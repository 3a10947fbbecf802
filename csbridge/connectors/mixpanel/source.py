"""Mixpanel as a pull source: usage per account and day from the raw export."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from csbridge.connectors.mixpanel.client import mixpanel_client
from csbridge.connectors.mixpanel.streams import MixpanelConnector
from csbridge.connectors.protocol import Read, SourceContext
from csbridge.http.paginate import Page


class MixpanelSource:
    """One stream; its event counts (duplicates, unattributed, ...) go into the report."""

    def __init__(self, context: SourceContext) -> None:
        settings = context.settings.sources.mixpanel
        assert settings is not None  # the factory checked
        client = mixpanel_client(settings, context.settings.http, context.accounting)
        self.connector = MixpanelConnector(settings, client)
        self.report = context.report

    def streams(self) -> Iterator[tuple[str, Read]]:
        yield "usage_days", self._usage_days

    def _usage_days(self, cursor: str | None) -> Iterator[Page[Any]]:
        yield from self.connector.usage_days(cursor)
        self.report["mixpanel_events"] = dataclasses.asdict(self.connector.stats)

    def watermark(self, stream: str, token: str) -> datetime | None:
        """A cursor is the last complete day."""
        day = date.fromisoformat(token)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)


def mixpanel_source(context: SourceContext) -> MixpanelSource | None:
    """The Mixpanel source when `sources.mixpanel` is configured."""
    return MixpanelSource(context) if context.settings.sources.mixpanel else None
