"""Every system csbridge knows, by name: a source factory to pull it, a writer to write it.

Adding a vendor is one folder under `csbridge/connectors/` and one line here. The
order of `SOURCES` is the pull order (CRMs first, so tickets and usage find their
accounts). A source factory returns None when the config does not use that system.
"""

from __future__ import annotations

from collections.abc import Callable

from csbridge.config import Settings
from csbridge.connectors.hubspot.source import hubspot_source
from csbridge.connectors.hubspot.write import hubspot_writer
from csbridge.connectors.mixpanel.source import mixpanel_source
from csbridge.connectors.protocol import CrmWriter, Source, SourceContext
from csbridge.connectors.salesforce.source import salesforce_source
from csbridge.connectors.salesforce.write import salesforce_writer
from csbridge.connectors.warehouse.source import warehouse_source
from csbridge.connectors.zendesk.source import zendesk_source
from csbridge.http.accounting import CallAccounting

SourceFactory = Callable[[SourceContext], Source | None]
WriterFactory = Callable[[Settings, CallAccounting], CrmWriter]

SOURCES: dict[str, SourceFactory] = {
    "salesforce": salesforce_source,
    "hubspot": hubspot_source,
    "zendesk": zendesk_source,
    "mixpanel": mixpanel_source,
    "warehouse": warehouse_source,
}

WRITERS: dict[str, WriterFactory] = {
    "salesforce": salesforce_writer,
    "hubspot": hubspot_writer,
}


def configured_sources(settings: Settings) -> list[str]:
    """The names of the sources the config uses, in pull order (nothing is read)."""
    context = SourceContext(settings, CallAccounting(), stored=lambda record_type: [])
    return [name for name, factory in SOURCES.items() if factory(context) is not None]
