"""Signature schemes against published test vectors, and malformed headers as 401-class errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csbridge.webhooks import verify
from csbridge.webhooks.verify import VerificationError

SVIX_SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
SVIX_BODY = b'{"event_type":"ping","data":{"success":true}}'
SVIX_TS = 1731705121
SVIX_SIG = "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="


def _svix_headers(signature: str = SVIX_SIG, prefix: str = "webhook") -> dict[str, str]:
    return {
        f"{prefix}-id": "msg_loFOjxBNrRLzqYUf",
        f"{prefix}-timestamp": str(SVIX_TS),
        f"{prefix}-signature": signature,
    }


SVIX_NOW = datetime.fromtimestamp(SVIX_TS, UTC)


@pytest.mark.parametrize("prefix", ["webhook", "svix"])
def test_standard_vector_and_svix_headers(prefix: str) -> None:
    headers = _svix_headers(prefix=prefix)
    assert verify.verify_standard(SVIX_BODY, headers, [SVIX_SECRET], SVIX_NOW) == (
        "msg_loFOjxBNrRLzqYUf"
    )


def test_standard_rotation_any_listed_signature_and_any_secret() -> None:
    headers = _svix_headers(f"v1,AAAA v2,xyz {SVIX_SIG}")
    other = "whsec_" + "b3RoZXItc2VjcmV0LXZhbHVlLTI0Ynl0ZXM="
    assert verify.verify_standard(SVIX_BODY, headers, [other, SVIX_SECRET], SVIX_NOW)
    with pytest.raises(VerificationError, match="mismatch"):
        verify.verify_standard(SVIX_BODY, headers, [other], SVIX_NOW)


@pytest.mark.parametrize(
    "signature", ["garbage", "v1,!!!", "v1,a,b", "", "v1,", "v2,rAvfW3dJ", "v1," + "A" * 44]
)
def test_standard_malformed_signatures_are_verification_errors(signature: str) -> None:
    with pytest.raises(VerificationError):
        verify.verify_standard(SVIX_BODY, _svix_headers(signature), [SVIX_SECRET], SVIX_NOW)


@pytest.mark.parametrize("skew", [-301, 301])
def test_standard_timestamp_window_both_ways(skew: int) -> None:
    with pytest.raises(VerificationError, match="timestamp"):
        verify.verify_standard(
            SVIX_BODY, _svix_headers(), [SVIX_SECRET], SVIX_NOW + timedelta(seconds=skew)
        )
    assert verify.verify_standard(
        SVIX_BODY, _svix_headers(), [SVIX_SECRET], SVIX_NOW + timedelta(seconds=skew // 2)
    )


def test_standard_tampered_body_and_dotted_id() -> None:
    with pytest.raises(VerificationError, match="mismatch"):
        verify.verify_standard(SVIX_BODY + b" ", _svix_headers(), [SVIX_SECRET], SVIX_NOW)
    headers = {**_svix_headers(), "webhook-id": "a.b"}
    with pytest.raises(VerificationError, match="webhook-id"):
        verify.verify_standard(SVIX_BODY, headers, [SVIX_SECRET], SVIX_NOW)


def test_hubspot_v3_vector() -> None:
    headers = {
        "x-hubspot-signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
        "x-hubspot-request-timestamp": "1693657560000",
    }
    body = b"{'example_field':'example_value'}"
    url = "https://www.example.com/webhook_uri"
    now = datetime.fromtimestamp(1693657560, UTC) + timedelta(seconds=10)
    secret = ["yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"]
    verify.verify_hubspot("POST", url, body, headers, secret, now)
    with pytest.raises(VerificationError, match="mismatch"):
        verify.verify_hubspot("POST", url + "x", body, headers, secret, now)
    with pytest.raises(VerificationError, match="too old"):
        verify.verify_hubspot("POST", url, body, headers, secret, now + timedelta(minutes=5))


def test_zendesk_scheme_and_iso_timestamp() -> None:
    import base64
    import hashlib
    import hmac

    stamp = "2024-04-17T17:18:10Z"
    body = b'{"type":"zen:event-type:ticket.created"}'
    sig = base64.b64encode(
        hmac.new(b"secret", stamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    headers = {"x-zendesk-webhook-signature": sig, "x-zendesk-webhook-signature-timestamp": stamp}
    now = datetime(2024, 4, 17, 17, 19, tzinfo=UTC)
    verify.verify_zendesk(body, headers, ["secret"], now)
    for bad in ({"x-zendesk-webhook-signature-timestamp": "1713374290"}, {}):
        with pytest.raises(VerificationError):
            verify.verify_zendesk(body, {**headers, **bad} if bad else {}, ["secret"], now)


def test_body_hmac_github_vector_and_token() -> None:
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {"x-sig": sig}
    verify.verify_body_hmac(b"Hello, World!", headers, "x-sig", ["It's a Secret to Everybody"])
    for value in ("sha256=zz", "sha256=" + "0" * 64):
        with pytest.raises(VerificationError):
            verify.verify_body_hmac(b"Hello, World!", {"x-sig": value}, "x-sig", ["x"])
    verify.verify_token({"x-token": "Bearer s3cret"}, "x-token", ["old", "s3cret"])
    with pytest.raises(VerificationError, match="secret mismatch") as caught:
        verify.verify_token({"x-token": "wrong"}, "x-token", ["s3cret"])
    assert "s3cret" not in str(caught.value)
