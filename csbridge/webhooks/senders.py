"""Which senders are enabled, their secrets, and how each one's signature is checked.

A sender is enabled when it has at least one secret: from `webhooks.sources.<name>.secrets`
in the config and/or `CSBRIDGE_WEBHOOK_SECRET_<NAME>` (several separated by spaces
during a rotation). HubSpot signs the full URL it called; set `webhooks.public_url`
when csbridge sits behind a proxy that changes scheme or host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from csbridge.config import WebhookSettings, WebhookSourceSettings
from csbridge.webhooks import verify
from csbridge.webhooks.adapters import ADAPTERS

DEFAULT_HEADERS = {"token": "x-csbridge-token", "hmac": "x-csbridge-signature"}


@dataclass(frozen=True)
class Sender:
    """One enabled sender: name, secrets (newest first) and, for CS platforms, its scheme."""

    name: str
    secrets: tuple[str, ...]
    scheme: str = "token"
    header: str = "x-csbridge-token"

    def __repr__(self) -> str:  # never show the secrets
        return f"Sender({self.name!r}, {len(self.secrets)} secret(s), {self.scheme})"


def enabled_senders(
    settings: WebhookSettings, environ: Mapping[str, str] = os.environ
) -> dict[str, Sender]:
    """Every known sender with at least one secret."""
    senders = {}
    for name in ADAPTERS:
        config = settings.sources.get(name) or WebhookSourceSettings()  # type: ignore[call-overload]
        secrets = [s.get_secret_value() for s in config.secrets]
        secrets += environ.get(f"CSBRIDGE_WEBHOOK_SECRET_{name.upper()}", "").split()
        secrets = [s for s in secrets if s]
        if secrets:
            header = (config.header or DEFAULT_HEADERS[config.scheme]).lower()
            senders[name] = Sender(name, tuple(secrets), config.scheme, header)
    return senders


def check_signature(
    sender: Sender,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: float,
) -> str | None:
    """Verify one request on its raw bytes; returns the header event id if the scheme has one.

    Raises `verify.VerificationError` when the request is not authentic.
    """
    secrets = sender.secrets
    if sender.name == "standard":
        return verify.verify_standard(body, headers, secrets, now, tolerance)
    if sender.name == "hubspot":
        verify.verify_hubspot(method, url, body, headers, secrets, now, tolerance)
    elif sender.name == "zendesk":
        verify.verify_zendesk(body, headers, secrets, now, tolerance)
    elif sender.scheme == "hmac":
        verify.verify_body_hmac(body, headers, sender.header, secrets)
    else:
        verify.verify_token(headers, sender.header, secrets)
    return None
