"""One adapter per sender: split a verified body into events, parse one into an Alert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from csbridge.webhooks.adapters.hubspot import HubspotAdapter
from csbridge.webhooks.adapters.platforms import SCALES, PlatformAdapter
from csbridge.webhooks.adapters.standard import StandardAdapter
from csbridge.webhooks.adapters.zendesk import ZendeskAdapter
from csbridge.webhooks.alert import Alert


class Adapter(Protocol):
    """What intake and the worker need from a sender's adapter."""

    name: str

    def events(
        self, body: bytes, headers: Mapping[str, str], header_id: str | None
    ) -> list[tuple[str, bytes]]:
        """(event id, body) pairs to store; never raises on a malformed body."""
        ...

    def parse(self, body: bytes, event_id: str) -> Alert:
        """The Alert in one stored body; raises InvalidPayload and its subclasses."""
        ...


ADAPTERS: dict[str, Adapter] = {
    "hubspot": HubspotAdapter(),
    "zendesk": ZendeskAdapter(),
    "standard": StandardAdapter(),
    **{name: PlatformAdapter(name) for name in SCALES},
}

__all__ = ["ADAPTERS", "Adapter"]
