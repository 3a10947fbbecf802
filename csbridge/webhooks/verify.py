"""Signature schemes, checked on the raw body bytes before anything is parsed or stored.

Every failure raises `VerificationError` with a short reason (never a secret or the
body), so the app answers 401 and never 500 on a malformed header. Comparisons are
constant-time (`hmac.compare_digest`). Each function takes every secret of the
source, so a rotation (old and new secret both live) verifies with either.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime


class VerificationError(Exception):
    """The request is not authentic (bad, missing or stale signature): answer 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _header(headers: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = headers.get(name)
        if value:
            return value
    raise VerificationError(f"missing header {names[0]}")


def _check_time(sent: float, now: datetime, tolerance: float) -> None:
    """`sent` in seconds since the epoch, compared as a number: a stamp in year 300,000
    is "in the future", not a datetime out of range (a 500)."""
    skew = now.timestamp() - sent
    if skew > tolerance:
        raise VerificationError("timestamp too old")
    if skew < -tolerance:
        raise VerificationError("timestamp in the future")


def _epoch(value: str, *, millis: bool = False) -> float:
    """Seconds since the epoch from ASCII digits only (no sign, point, exponent or NaN)."""
    if not value.isascii() or not value.isdigit() or len(value) > 16:
        raise VerificationError("malformed timestamp")
    return int(value) / 1000 if millis else int(value)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")  # one-shot, in C (no HMAC object)


def _any_equal(candidates: Sequence[bytes], expected: Sequence[bytes]) -> bool:
    found = False
    for candidate in candidates:
        for value in expected:
            found |= hmac.compare_digest(candidate, value)
    return found


def standard_key(secret: str) -> bytes:
    """A Standard Webhooks secret (`whsec_` + base64) as HMAC key bytes."""
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("configured secret is not base64") from None


def verify_standard(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: float = 300,
) -> str:
    """Standard Webhooks v1 (also `svix-*` headers); returns the `webhook-id`.

    Signed content is `id.timestamp.body`; the header is a space-separated list of
    `v1,<base64>` entries (several during a rotation); other versions are ignored.
    """
    msg_id = _header(headers, "webhook-id", "svix-id")
    stamp = _header(headers, "webhook-timestamp", "svix-timestamp")
    signatures = _header(headers, "webhook-signature", "svix-signature")
    if "." in msg_id or not msg_id.isascii() or len(msg_id) > 255:
        raise VerificationError("malformed webhook-id")
    _check_time(_epoch(stamp), now, tolerance)
    candidates = []
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1" or not value:
            continue
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not candidates:
        raise VerificationError("no v1 signature")
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = [_hmac(standard_key(secret), signed) for secret in secrets]
    if not _any_equal(candidates, expected):
        raise VerificationError("signature mismatch")
    return msg_id


def verify_hubspot(
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: float = 300,
) -> None:
    """HubSpot v3: base64(HMAC-SHA256(app secret, method + uri + body + timestamp_ms))."""
    signature = _header(headers, "x-hubspot-signature-v3")
    stamp = _header(headers, "x-hubspot-request-timestamp")
    _check_time(_epoch(stamp, millis=True), now, tolerance)
    try:
        candidate = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("malformed signature") from None
    signed = method.encode() + uri.encode() + body + stamp.encode()
    expected = [_hmac(secret.encode(), signed) for secret in secrets]
    if not _any_equal([candidate], expected):
        raise VerificationError("signature mismatch")


def verify_zendesk(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: float = 300,
) -> None:
    """Zendesk: base64(HMAC-SHA256(signing secret, timestamp + body)), ISO-8601 timestamp."""
    signature = _header(headers, "x-zendesk-webhook-signature")
    stamp = _header(headers, "x-zendesk-webhook-signature-timestamp")
    try:
        sent = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise VerificationError("malformed timestamp") from None
    if sent.tzinfo is None:
        raise VerificationError("malformed timestamp")
    _check_time(sent.timestamp(), now, tolerance)
    try:
        candidate = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("malformed signature") from None
    signed = stamp.encode() + body
    expected = [_hmac(secret.encode(), signed) for secret in secrets]
    if not _any_equal([candidate], expected):
        raise VerificationError("signature mismatch")


def verify_token(headers: Mapping[str, str], header: str, secrets: Sequence[str]) -> None:
    """A shared secret sent as is in `header` (or as `Bearer <secret>`)."""
    value = _header(headers, header).removeprefix("Bearer ").strip()
    if not _any_equal([value.encode()], [secret.encode() for secret in secrets]):
        raise VerificationError("secret mismatch")


def verify_body_hmac(
    body: bytes, headers: Mapping[str, str], header: str, secrets: Sequence[str]
) -> None:
    """Hex HMAC-SHA256 of the body in `header`, optionally prefixed `sha256=` (GitHub style)."""
    value = _header(headers, header).strip().removeprefix("sha256=").lower()
    try:
        candidate = bytes.fromhex(value)
    except ValueError:
        raise VerificationError("malformed signature") from None
    expected = [_hmac(secret.encode(), body) for secret in secrets]
    if not _any_equal([candidate], expected):
        raise VerificationError("signature mismatch")
