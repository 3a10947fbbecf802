"""HubSpot as a pull source: owners, then companies, contacts, deals, feedback, the
engagements (calls, emails, meetings, notes), archived records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

from csbridge.connectors.hubspot.activities import ACTIVITY_SPECS
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.records import HubspotMapping
from csbridge.connectors.hubspot.streams import HubspotConnector
from csbridge.connectors.protocol import Read, SourceContext
from csbridge.connectors.signal_fields import seen_fields, wanted_fields
from csbridge.http.errors import AuthError, FatalHttpError
from csbridge.http.paginate import Page

STREAMS = ("companies", "contacts", "deals", "feedback_submissions")
ARCHIVED = ("companies", "contacts", "deals")


class HubspotSource:
    """Searches by last-modified time; archived records come from full listings. The
    company properties the `signals:` section names are requested too."""

    def __init__(self, context: SourceContext) -> None:
        settings = context.settings.sources.hubspot
        assert settings is not None  # the factory checked
        client = hubspot_client(settings, context.settings.http, context.accounting)
        self.context = context
        self.wanted = wanted_fields(context)
        company = HubspotMapping().company
        extra = {f"custom.{name}": (name,) for name in self.wanted}
        self.connector = HubspotConnector(client, HubspotMapping(company={**company, **extra}))

    def streams(self) -> Iterator[tuple[str, Read]]:
        yield "owners", lambda cursor: self.connector.owners()
        for name in STREAMS:
            yield name, partial(self._read, name)
        for name in ACTIVITY_SPECS:
            yield name, partial(self.connector.activities, name)
        for name in ARCHIVED:
            yield f"archived_{name}", partial(self._archived, name)

    def _read(self, name: str, cursor: str | None) -> Iterator[Page[object]]:
        if name == "companies" and self.wanted:
            self._check_wanted()
        yield from getattr(self.connector, name)(cursor)

    def _check_wanted(self) -> None:
        """Say which properties the `signals:` section names the portal lacks; a refused
        properties listing is said too, and the pull goes on."""
        try:
            available = self.connector.property_names("companies")
        except (AuthError, FatalHttpError) as exc:
            line = f"signals: HubSpot company properties not checked ({exc})"
            self.context.report.setdefault("missing_fields", []).append(line)
            return
        seen_fields(self.context, "HubSpot company", available, fold_case=False)

    def _archived(self, object_type: str, cursor: str | None) -> Iterator[Page[object]]:
        return self.connector.archived(object_type)

    def watermark(self, stream: str, token: str) -> datetime | None:
        """A cursor is the newest last-modified time seen, in epoch milliseconds."""
        return datetime.fromtimestamp(int(token) / 1000, tz=UTC)


def hubspot_source(context: SourceContext) -> HubspotSource | None:
    """The HubSpot source when `sources.hubspot` is configured."""
    return HubspotSource(context) if context.settings.sources.hubspot else None
