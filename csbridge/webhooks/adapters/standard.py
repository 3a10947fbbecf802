"""Standard Webhooks sender (any tool that signs per the spec): csbridge's own event shape.

    {"type": "account.score_dropped", "timestamp": "2026-11-23T10:00:00Z",
     "data": {"account": "acme.com", "score": 42, "previous_score": 71, "threshold": 60}}

Types: account.score_dropped, account.threshold_crossed, nps.answered (score 0-10),
ticket.urgent. The `webhook-id` header is the event id.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from csbridge.webhooks.adapters.common import strict_json, validate
from csbridge.webhooks.alert import Alert, AlertKind, UnknownEventType

KINDS: dict[str, AlertKind] = {
    "account.score_dropped": "score_drop",
    "account.threshold_crossed": "threshold_crossed",
    "nps.answered": "nps_answer",
    "ticket.urgent": "urgent_ticket",
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")
    account: str = Field(min_length=1)
    score: float | None = Field(default=None, allow_inf_nan=False)
    previous_score: float | None = Field(default=None, allow_inf_nan=False)
    threshold: float | None = Field(default=None, allow_inf_nan=False)


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    timestamp: AwareDatetime
    data: _Data


class StandardAdapter:
    """Events signed per Standard Webhooks v1; one event per request."""

    name = "standard"

    def events(
        self, body: bytes, headers: Mapping[str, str], header_id: str | None
    ) -> list[tuple[str, bytes]]:
        """The verified `webhook-id` keys the whole body."""
        assert header_id is not None
        return [(header_id, body)]

    def parse(self, body: bytes, event_id: str) -> Alert:
        """The Alert in `body`; raises InvalidPayload / UnknownEventType."""
        raw = strict_json(body)
        kind_name = raw.get("type") if isinstance(raw, dict) else None
        if isinstance(kind_name, str) and kind_name not in KINDS:
            raise UnknownEventType(f"unknown_event_type: {kind_name[:80]}")
        event: _Event = validate(_Event, raw)
        data = event.data
        return validate(
            Alert,
            {
                "source": self.name,
                "event_id": event_id,
                "account_key": data.account,
                "kind": KINDS[event.type],
                "score": data.score,
                "previous_score": data.previous_score,
                "threshold": data.threshold,
                "occurred_at": event.timestamp,
                "raw": raw,
            },
            from_json=False,
        )
