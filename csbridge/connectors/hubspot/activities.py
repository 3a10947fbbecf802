"""HubSpot engagements (CRM v3 `calls`, `emails`, `meetings`, `notes`) → `Activity` (pure).

Every engagement is dated by `hs_timestamp` (when it happened). Direction: calls by
`hs_call_direction` (INBOUND / OUTBOUND), emails by `hs_email_direction` (EMAIL is one
we sent, INCOMING_EMAIL a reply; a FORWARDED_EMAIL has none). Meetings keep
`hs_meeting_outcome` (COMPLETED, NO_SHOW, CANCELED...) as their status. The company
comes from the object's company association (filled by the stream). A note csbridge
attached (a report, `csbridge_note_key` set) keeps its key, so it never counts as engagement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from csbridge.connectors.hubspot.records import _base, _text, parse_time, pick
from csbridge.models import Activity, ActivityKind, Direction

ACTIVITY_SPECS: dict[str, Mapping[str, tuple[str, ...]]] = {
    "calls": {
        "subject": ("hs_call_title",),
        "direction": ("hs_call_direction",),
        "status": ("hs_call_status",),
        "occurred_at": ("hs_timestamp",),
    },
    "emails": {
        "subject": ("hs_email_subject",),
        "direction": ("hs_email_direction",),
        "status": ("hs_email_status",),
        "occurred_at": ("hs_timestamp",),
    },
    "meetings": {
        "subject": ("hs_meeting_title",),
        "subtype": ("hs_activity_type",),
        "status": ("hs_meeting_outcome",),
        "occurred_at": ("hs_meeting_start_time", "hs_timestamp"),
    },
    # csbridge's own report notes carry their key: stored as ours, never engagement
    "notes": {"occurred_at": ("hs_timestamp",), "key": ("csbridge_note_key",)},
}
KINDS: dict[str, ActivityKind] = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
}
DIRECTIONS: dict[str, Direction] = {
    "INBOUND": "inbound",
    "OUTBOUND": "outbound",
    "INCOMING_EMAIL": "inbound",
    "EMAIL": "outbound",
}


ActivityParser = Callable[[Mapping[str, Any], Mapping[str, tuple[str, ...]], str], Activity]


def activity_parser(object_type: str) -> ActivityParser:
    """The parser of one engagement type, in the shape `_search` calls."""

    def parse(
        raw: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], modified: str
    ) -> Activity:
        v = pick(raw.get("properties") or {}, spec)
        return Activity(
            **_base(raw, modified),
            kind=KINDS[object_type],
            subtype=_text(v.get("subtype")),
            direction=DIRECTIONS.get(str(v.get("direction") or "").upper()),
            occurred_at=parse_time(v.get("occurred_at")),
            subject=_text(v.get("subject")),
            status=_text(v.get("status")),
            csbridge_key=_text(v.get("key")),
        )

    return parse
