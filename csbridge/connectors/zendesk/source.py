"""Zendesk as a pull source: organizations, tickets, then CSAT ratings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from csbridge.connectors.protocol import Read, SourceContext
from csbridge.connectors.signal_fields import seen_fields, wanted_fields
from csbridge.connectors.zendesk.client import zendesk_client
from csbridge.connectors.zendesk.streams import ZendeskConnector
from csbridge.http.paginate import Page
from csbridge.models import Account, Ticket

EPOCH_CURSORS = ("satisfaction_ratings", "organizations")


class ZendeskSource:
    """Ratings name tickets, not organizations: the tickets the store already holds
    (read once, on the first lookup) spare `show_many` calls."""

    def __init__(self, context: SourceContext) -> None:
        settings = context.settings.sources.zendesk
        assert settings is not None  # the factory checked
        client = zendesk_client(settings, context.settings.http, context.accounting)
        self.connector = ZendeskConnector(client)
        self.context = context
        self.stored = context.stored
        self._known: dict[str, str | None] = {}

    def streams(self) -> Iterator[tuple[str, Read]]:
        zd = self.connector
        yield "organizations", self._organizations
        yield "tickets", lambda cursor: zd.tickets(cursor)
        yield (
            "satisfaction_ratings",
            lambda cursor: zd.satisfaction_ratings(cursor, ticket_orgs=self.ticket_orgs),
        )

    def _organizations(self, cursor: str | None) -> Iterator[Page[Account]]:
        yield from self.connector.organizations(cursor)
        if not wanted_fields(self.context):
            return
        # every organization carries every organization field (null when unset): the
        # ones stored, this page's included, say which fields `signals:` can read here
        names = {name for account in self.stored(Account) for name in account.custom}
        seen_fields(self.context, "Zendesk organization", names, fold_case=False)

    def ticket_orgs(self, ids: Iterable[str]) -> dict[str, str | None]:
        if not self._known:
            for ticket in self.stored(Ticket):
                self._known[ticket.id] = ticket.account_id
        return {i: self._known[i] for i in ids if i in self._known}

    def watermark(self, stream: str, token: str) -> datetime | None:
        """Epoch seconds for ratings and organizations; ticket cursors are opaque."""
        if stream in EPOCH_CURSORS:
            return datetime.fromtimestamp(int(token), tz=UTC)
        return None


def zendesk_source(context: SourceContext) -> ZendeskSource | None:
    """The Zendesk source when `sources.zendesk` is configured."""
    return ZendeskSource(context) if context.settings.sources.zendesk else None
