"""The one Alert every sender's payload becomes, and the worker's reaction interface.

Adapters parse strictly: NaN / Infinity, strings where numbers belong and
out-of-range scores are invalid (`InvalidPayload` → dead letter). An event the
adapter does not know is `UnknownEventType` (→ parked, replayable once supported);
a known event that is not an alert (a normal-priority ticket) is `NotAnAlert`
(→ processed with that reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

AlertKind = Literal["score_drop", "threshold_crossed", "nps_answer", "urgent_ticket"]
KeyKind = Literal["account", "contact", "any"]


class InvalidPayload(Exception):
    """An authentic body that is not a valid event: dead-lettered with its raw bytes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownEventType(InvalidPayload):
    """A valid event of a type we do not handle: parked for a later replay."""


class NotAnAlert(InvalidPayload):
    """A valid, known event that calls for no reaction: processed with this reason."""


Score = Field(default=None, ge=0, le=100, allow_inf_nan=False)


class Alert(BaseModel):
    """One alert: whose account, what happened, the scores (health 0-100, NPS 0-10)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    source: str
    event_id: str
    account_key: str = Field(min_length=1)
    key_kind: KeyKind = "any"
    key_source: str | None = Field(default=None, description="system the key's id is from")
    kind: AlertKind
    score: float | None = Score
    previous_score: float | None = Score
    threshold: float | None = Score
    occurred_at: AwareDatetime
    raw: Any = None

    @model_validator(mode="after")
    def _nps_scale(self) -> Alert:
        if self.kind == "nps_answer" and (self.score is None or self.score > 10):
            raise ValueError("an NPS answer needs a score from 0 to 10")
        return self


@dataclass(frozen=True)
class ReactionOutcome:
    """How the reaction ended: `processed` or `parked`, with a reason a human can read."""

    status: Literal["processed", "parked"]
    reason: str


React = Callable[[Alert], ReactionOutcome]
