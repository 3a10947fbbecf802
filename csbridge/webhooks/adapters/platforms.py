"""CS platforms (Gainsight, ChurnZero, Totango, Vitally, Planhat): one JSON template.

These platforms send whatever body the admin writes in their webhook action
(Gainsight "Call External API", ChurnZero Play webhook step, Totango SuccessPlay
webhook, Vitally playbook webhook, Planhat automation webhook), so csbridge asks for:

    {"event_id": "…", "event": "score_drop" | "threshold_crossed" | "nps_answer",
     "account": "acme.com or the CRM external id", "score": 42, "previous_score": 71,
     "threshold": 60, "occurred_at": "2026-11-23T10:00:00Z"}

Scores are in the platform's own scale (0-100; Vitally and Planhat 0-10) and
become 0-100 on the Alert; NPS answers stay 0-10. A body without `event_id` is
keyed by its SHA-256.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from csbridge.webhooks.adapters.common import (
    body_id,
    lenient_json,
    scalar_id,
    strict_json,
    validate,
)
from csbridge.webhooks.alert import Alert, InvalidPayload, UnknownEventType

EVENTS = ("score_drop", "threshold_crossed", "nps_answer")
SCALES = {
    "gainsight": 100.0,
    "churnzero": 100.0,
    "totango": 100.0,
    "vitally": 10.0,
    "planhat": 10.0,
}

Number = Field(default=None, allow_inf_nan=False)


class _Template(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_id: str | int | None = None
    event: Literal["score_drop", "threshold_crossed", "nps_answer"]
    account: str = Field(min_length=1, max_length=255)
    score: float | None = Number
    previous_score: float | None = Number
    threshold: float | None = Number
    occurred_at: AwareDatetime


class PlatformAdapter:
    """One CS platform: its name and native score scale."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scale = SCALES[name]

    def events(
        self, body: bytes, headers: Mapping[str, str], header_id: str | None
    ) -> list[tuple[str, bytes]]:
        """The template's `event_id` keys the body (its SHA-256 when there is none)."""
        data = lenient_json(body)
        event_id = scalar_id(data.get("event_id")) if isinstance(data, dict) else None
        return [(event_id or body_id(body), body)]

    def _scaled(self, value: float | None, field: str) -> float | None:
        if value is None:
            return None
        if not 0 <= value <= self.scale:
            raise InvalidPayload(f"invalid_payload: {field}: out of range 0-{self.scale:g}")
        return value * 100.0 / self.scale

    def parse(self, body: bytes, event_id: str) -> Alert:
        """The Alert in `body`; raises InvalidPayload / UnknownEventType."""
        raw = strict_json(body)
        kind = raw.get("event") if isinstance(raw, dict) else None
        if isinstance(kind, str) and kind not in EVENTS:
            raise UnknownEventType(f"unknown_event_type: {kind[:120]}")
        event: _Template = validate(_Template, raw)
        if event.event == "nps_answer":
            score = event.score
            if score is None or not 0 <= score <= 10:
                raise InvalidPayload("invalid_payload: score: an NPS answer is 0-10")
        else:
            score = self._scaled(event.score, "score")
        return validate(
            Alert,
            {
                "source": self.name,
                "event_id": event_id,
                "account_key": event.account,
                "kind": event.event,
                "score": score,
                "previous_score": self._scaled(event.previous_score, "previous_score"),
                "threshold": self._scaled(event.threshold, "threshold"),
                "occurred_at": event.occurred_at,
                "raw": raw,
            },
            from_json=False,
        )
