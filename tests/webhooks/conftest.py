"""A real uvicorn server on an ephemeral port, serving the webhook app on a fresh database."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
import webhook_signing as signing
from pydantic import SecretStr

from csbridge.config import WebhookSettings, WebhookSourceSettings
from csbridge.models import Account, Contact
from csbridge.store.store import Store, open_store
from csbridge.webhooks.app import create_app


@dataclass
class Service:
    """The running service: base URL, HTTP client and the store behind it."""

    url: str
    client: httpx.Client
    store: Store


def webhook_settings(**overrides: object) -> WebhookSettings:
    sources = {
        "standard": WebhookSourceSettings(
            secrets=[SecretStr(signing.ROTATED_SECRET), SecretStr(signing.STANDARD_SECRET)]
        ),
        "hubspot": WebhookSourceSettings(secrets=[SecretStr(signing.HUBSPOT_SECRET)]),
        "zendesk": WebhookSourceSettings(secrets=[SecretStr(signing.ZENDESK_SECRET)]),
        "gainsight": WebhookSourceSettings(secrets=[SecretStr(signing.PLATFORM_SECRET)]),
        "planhat": WebhookSourceSettings(
            secrets=[SecretStr(signing.PLATFORM_SECRET)], scheme="hmac"
        ),
    }
    return WebhookSettings.model_validate({"max_body_bytes": 4096, "sources": sources, **overrides})


def seed_accounts(store: Store) -> None:
    """Accounts the worker can resolve: a domain, a Zendesk org, a HubSpot contact's company."""
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    store.upsert(
        [
            Account(source="salesforce", id="001A", name="Acme", domain="acme.com"),
            Account(source="zendesk", id="9001", name="Acme"),
            Account(source="hubspot", id="555", name="Acme", updated_at=stamp),
            Contact(source="hubspot", id="777", account_id="555", email="a@acme.com"),
        ]
    )


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    return server, thread, port


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    store = open_store(database_url)
    seed_accounts(store)
    server, thread, port = serve(create_app(webhook_settings(), store.engine))
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as client:
        yield Service(url, client, store)
    server.should_exit = True
    thread.join(timeout=10)
    store.close()
