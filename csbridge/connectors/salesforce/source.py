"""Salesforce as a pull source: owners first, then accounts, contacts, opportunities, NPS,
and the activities (tasks, events, emails, campaign memberships)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial

from csbridge.connectors.protocol import Read, SourceContext
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import SalesforceCursor, SalesforceMapping
from csbridge.connectors.salesforce.streams import SalesforceConnector
from csbridge.connectors.signal_fields import seen_fields, wanted_fields
from csbridge.http.paginate import Page

STREAMS = (
    "owners",
    "accounts",
    "contacts",
    "opportunities",
    "nps_answers",
    "tasks",
    "events",
    "email_messages",
    "campaign_members",
)


class SalesforceSource:
    """Logs in lazily, inside the first stream's error handling, so a refused login stops
    this source's streams and not the run. The Account fields the `signals:` section names
    are queried as the built-in custom ones are (when the org has them)."""

    def __init__(self, context: SourceContext) -> None:
        settings = context.settings.sources.salesforce
        assert settings is not None  # the factory checked
        self.settings = settings
        self.client = salesforce_client(settings, context.settings.http, context.accounting)
        self.report = context.report
        self.context = context
        account = SalesforceMapping().account
        custom = (*account.custom, *wanted_fields(context))
        self.mapping = SalesforceMapping(account=replace(account, custom=custom))
        self._connector: SalesforceConnector | None = None

    def connector(self) -> SalesforceConnector:
        if self._connector is None:
            self._connector = SalesforceConnector(self.settings, self.client, self.mapping)
        return self._connector

    def streams(self) -> Iterator[tuple[str, Read]]:
        for name in STREAMS:
            yield name, partial(self._read, name)
        usage = self._connector.api_usage() if self._connector else None
        self.report["salesforce_api_usage"] = list(usage or ()) if self._connector else None

    def _read(self, name: str, cursor: str | None) -> Iterator[Page[object]]:
        yield from getattr(self.connector(), name)(cursor)
        if name == "accounts":  # describe has run: say which named fields the org lacks
            available = self.connector().fields_of("Account") or []
            seen_fields(self.context, "Salesforce Account", available, fold_case=True)

    def watermark(self, stream: str, token: str) -> datetime | None:
        """A cursor is the last record's `SystemModstamp` and Id."""
        return SalesforceCursor.decode(token).modstamp


def salesforce_source(context: SourceContext) -> SalesforceSource | None:
    """The Salesforce source when `sources.salesforce` is configured."""
    return SalesforceSource(context) if context.settings.sources.salesforce else None
