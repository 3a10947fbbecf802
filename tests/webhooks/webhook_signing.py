"""Senders' side of each signature scheme, written from the vendors' descriptions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

STANDARD_SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
ROTATED_SECRET = "whsec_" + base64.b64encode(b"r" * 32).decode()
HUBSPOT_SECRET = "hubspot-client-secret"
ZENDESK_SECRET = "zendesk-signing-secret"
PLATFORM_SECRET = "platform-shared-secret"


def now_ts() -> int:
    return int(datetime.now(UTC).timestamp())


def standard_headers(
    body: bytes, msg_id: str, *, ts: int | None = None, secret: str = STANDARD_SECRET
) -> dict[str, str]:
    stamp = str(now_ts() if ts is None else ts)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


def hubspot_headers(
    url: str, body: bytes, *, ts_ms: int | None = None, secret: str = HUBSPOT_SECRET
) -> dict[str, str]:
    stamp = str(now_ts() * 1000 if ts_ms is None else ts_ms)
    source = b"POST" + url.encode() + body + stamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return {
        "x-hubspot-signature-v3": base64.b64encode(digest).decode(),
        "x-hubspot-request-timestamp": stamp,
        "content-type": "application/json",
    }


def zendesk_headers(body: bytes, *, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "x-zendesk-webhook-signature": base64.b64encode(digest).decode(),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "content-type": "application/json",
    }


def standard_event(account: str = "acme.com", **data: Any) -> bytes:
    payload = {
        "type": data.pop("type", "account.score_dropped"),
        "timestamp": "2026-11-23T10:00:00Z",
        "data": {"account": account, "score": 42, "previous_score": 71, **data},
    }
    return json.dumps(payload).encode()


def platform_event(event_id: str, account: str = "acme.com", **fields: Any) -> bytes:
    payload = {
        "event_id": event_id,
        "event": "score_drop",
        "account": account,
        "score": 42,
        "previous_score": 71,
        "threshold": 60,
        "occurred_at": "2026-11-23T10:00:00Z",
        **fields,
    }
    return json.dumps(payload).encode()
