"""HubSpot webhooks: a JSON array of events, split into one inbox row per `eventId`.

Splitting at intake means a retry that HubSpot batches differently still dedupes
per event. Handled: `contact.propertyChange` of `hs_feedback_last_nps_rating` (the
contact's latest NPS rating, a string such as "4" as HubSpot sends every value) →
nps_answer for the contact's company. Every other subscription is parked as unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from csbridge.webhooks.adapters.common import (
    body_id,
    lenient_json,
    scalar_id,
    strict_json,
    validate,
)
from csbridge.webhooks.alert import Alert, InvalidPayload, UnknownEventType

NPS_PROPERTY = "hs_feedback_last_nps_rating"
MAX_EVENTS = 1000  # a larger array is kept whole and dead-lettered, never split
_DECIMAL = re.compile(r"-?\d{1,6}(\.\d{1,6})?")


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    eventId: int
    subscriptionType: str
    objectId: int
    occurredAt: int = Field(ge=0)
    propertyName: str | None = None
    propertyValue: str | None = None


class HubspotAdapter:
    """HubSpot v3-signed event batches."""

    name = "hubspot"

    def events(
        self, body: bytes, headers: Mapping[str, str], header_id: str | None
    ) -> list[tuple[str, bytes]]:
        """One (eventId, event JSON) per array element; the whole body if it is not that."""
        data = lenient_json(body)
        if not isinstance(data, list) or not data or len(data) > MAX_EVENTS:
            return [(body_id(body), body)]
        found = []
        for item in data:
            event_id = scalar_id(item.get("eventId")) if isinstance(item, dict) else None
            if event_id is None:
                return [(body_id(body), body)]
            found.append((event_id, json.dumps(item, separators=(",", ":")).encode()))
        return found

    def parse(self, body: bytes, event_id: str) -> Alert:
        """The Alert in one event; raises InvalidPayload / UnknownEventType."""
        raw = strict_json(body)
        if isinstance(raw, list):
            raise InvalidPayload("invalid_payload: a batch that could not be split into events")
        event: _Event = validate(_Event, raw)
        kind = f"{event.subscriptionType}:{event.propertyName}"
        if kind != f"contact.propertyChange:{NPS_PROPERTY}":
            raise UnknownEventType(f"unknown_event_type: {kind[:120]}")
        value = event.propertyValue or ""
        if not _DECIMAL.fullmatch(value):
            raise InvalidPayload(f"invalid_payload: {NPS_PROPERTY} is not a number")
        return validate(
            Alert,
            {
                "source": self.name,
                "event_id": event_id,
                "account_key": str(event.objectId),
                "key_kind": "contact",
                "key_source": "hubspot",
                "kind": "nps_answer",
                "score": float(value),
                "occurred_at": datetime.fromtimestamp(event.occurredAt / 1000, UTC),
                "raw": raw,
            },
            from_json=False,
        )
