"""Zendesk event-subscription webhooks (`zen:event-type:ticket.*`): urgent tickets.

The envelope's `id` is the event id. `ticket.created` and `ticket.priority_changed`
with priority `urgent` become urgent_ticket alerts keyed by the ticket's
organization (a Zendesk organization id, a string in `detail`); the same events at
another priority are processed as not an alert; other event types are parked.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AwareDatetime, BaseModel, ConfigDict

from csbridge.webhooks.adapters.common import (
    body_id,
    lenient_json,
    scalar_id,
    strict_json,
    validate,
)
from csbridge.webhooks.alert import Alert, InvalidPayload, NotAnAlert, UnknownEventType

TICKET_EVENTS = ("zen:event-type:ticket.created", "zen:event-type:ticket.priority_changed")


class _Detail(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    organization_id: str | None = None
    priority: str | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    time: AwareDatetime
    detail: _Detail


class ZendeskAdapter:
    """Zendesk-signed event envelopes; one event per request."""

    name = "zendesk"

    def events(
        self, body: bytes, headers: Mapping[str, str], header_id: str | None
    ) -> list[tuple[str, bytes]]:
        """The envelope `id` keys the body (its SHA-256 when there is none)."""
        data = lenient_json(body)
        event_id = scalar_id(data.get("id")) if isinstance(data, dict) else None
        return [(event_id or body_id(body), body)]

    def parse(self, body: bytes, event_id: str) -> Alert:
        """The Alert in `body`; raises InvalidPayload / UnknownEventType / NotAnAlert."""
        raw = strict_json(body)
        kind = raw.get("type") if isinstance(raw, dict) else None
        if isinstance(kind, str) and kind not in TICKET_EVENTS:
            raise UnknownEventType(f"unknown_event_type: {kind[:120]}")
        event: _Envelope = validate(_Envelope, raw)
        detail = event.detail
        if (detail.priority or "").lower() != "urgent":
            raise NotAnAlert(f"ticket {detail.id} priority is {detail.priority or 'unset'}")
        if not detail.organization_id or detail.organization_id == "0":
            raise InvalidPayload(f"invalid_payload: ticket {detail.id} has no organization")
        return validate(
            Alert,
            {
                "source": self.name,
                "event_id": event_id,
                "account_key": detail.organization_id,
                "key_kind": "account",
                "key_source": "zendesk",
                "kind": "urgent_ticket",
                "occurred_at": event.time,
                "raw": raw,
            },
            from_json=False,
        )
