"""The bodies csbridge posts for a Notification: Slack or a signed Standard Webhook. Pure.

Sending (HTTP, retries, recording the key as notified) belongs to the apply side; this
module only builds what is sent, so the same notification always yields the same
message id and body and a receiver can de-duplicate on `webhook-id`.

- Slack incoming webhook: `{"text": ...}` with mrkdwn, one message per notification.
- Generic webhook, Standard Webhooks v1: headers `webhook-id` (derived from the
  notification key, stable across retries, no `.`), `webhook-timestamp` (the attempt,
  unix seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
  `id.timestamp.body` with the `whsec_` secret's base64-decoded bytes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from csbridge.errors import CsbridgeError
from csbridge.sync.changes import Notification

EVENT_PREFIX = "csbridge."


def message_id(note: Notification) -> str:
    """A stable Standard Webhooks id for the notification: `msg_` + 32 hex chars of its key."""
    return "msg_" + hashlib.sha256(note.key.encode()).hexdigest()[:32]


def event(note: Notification, sent_at: datetime) -> dict[str, Any]:
    """The JSON event of a generic webhook (`type`, `timestamp`, `data`); an outbound
    event's structured `details` (the run report's counts, a band before and after) too."""
    details = {"details": dict(note.details)} if note.details else {}
    return {
        "type": f"{EVENT_PREFIX}{note.rule}",
        "timestamp": sent_at.isoformat(),
        "data": {
            "key": note.key,
            "account_id": note.account_id,
            "rule": note.rule,
            "subject": note.subject,
            "description": note.description,
            "targets": list(note.targets),
            "owner_id": note.owner_id,
            **details,
        },
    }


def slack_message(note: Notification, link: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook body: subject in bold, account, who it is for, details.

    Every field is escaped (`slack_escape`), so a vendor value such as `<!channel>`,
    `<@U123>` or `<https://x|click>` shows as text: it never pings nor links. The only
    `<...>` left is the account `link` csbridge itself adds.
    """
    who = slack_escape(", ".join(t.replace("_", " ") for t in note.targets) or "CS")
    account = slack_escape(note.account_id)
    if link:
        account = f"<{slack_escape(link).replace('|', '%7C')}|{account}>"
    lines = [f"*{slack_escape(note.subject)}*", f"Account: {account} · for {who}"]
    if note.description:
        lines.append(slack_escape(note.description))
    return {"text": "\n".join(lines)}


def signed_webhook(note: Notification, secret: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of one attempt to post `note` at `now`."""
    body = json.dumps(event(note, now), separators=(",", ":"), sort_keys=True).encode()
    msg_id = message_id(note)
    stamp = str(int(now.timestamp()))
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def sign(secret: str, msg_id: str, stamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `msg_id.stamp.body` with a `whsec_` (base64) secret."""
    text = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CsbridgeError("notification webhook secret: not base64 (whsec_...)") from None
    if not key:
        raise CsbridgeError("notification webhook secret: empty; set a whsec_ secret")
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def slack_escape(text: str) -> str:
    """Slack's three control characters (`&`, `<`, `>`), escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
