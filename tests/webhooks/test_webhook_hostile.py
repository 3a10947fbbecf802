"""Hostile requests get a deliberate status (issue 13): absurd timestamps are 401s,
/metrics never echoes request input, and a body trickled in slowly is cut off with 408."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import webhook_signing as signing
from conftest import Service, serve, webhook_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from csbridge.store.store import Store, open_store
from csbridge.store.tables import webhook_inbox
from csbridge.webhooks.app import create_app
from csbridge.webhooks.metrics import Metrics

EPOCH_STAMPS = [
    "99999999999999",  # year 3,170,843 in seconds
    "9999999999999999",  # HubSpot's milliseconds, year 318,857
    "0",
    "-1",
    "-99999999999999",
    "1e20",
    "NaN",
    "inf",
    "1.5",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() says yes
    "9" * 17,
    "18446744073709551616",
]
ISO_STAMPS = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "+275760-09-13T00:00:00Z",
    "99999999999999",
    "NaN",
    "2026-13-45T99:99:99Z",
]


def raw(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as UTF-8 bytes, so non-ASCII stamps go on the wire as they are."""
    return {name: value.encode() for name, value in headers.items()}


def rows(service: Service) -> int:
    with service.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(webhook_inbox)).scalar_one())


def test_out_of_range_timestamps_are_401_for_every_scheme(service: Service) -> None:
    body = signing.standard_event()
    hub_url = f"{service.url}/webhooks/hubspot"
    hub_body = json.dumps([{"eventId": 1, "subscriptionType": "contact.creation"}]).encode()
    for stamp in EPOCH_STAMPS:
        # Signed over the very stamp sent, so only the timestamp can be wrong.
        standard = signing.standard_headers(body, "ts", ts=stamp)  # type: ignore[arg-type]
        response = service.client.post("/webhooks/standard", content=body, headers=raw(standard))
        assert response.status_code == 401, (stamp, response.text)
        hubspot = signing.hubspot_headers(hub_url, hub_body, ts_ms=stamp)  # type: ignore[arg-type]
        response = service.client.post(hub_url, content=hub_body, headers=raw(hubspot))
        assert response.status_code == 401, (stamp, response.text)
    for stamp in ISO_STAMPS:
        zendesk = signing.zendesk_headers(body, stamp=stamp)
        response = service.client.post("/webhooks/zendesk", content=body, headers=raw(zendesk))
        assert response.status_code == 401, (stamp, response.text)
    assert rows(service) == 0


def test_metrics_labels_come_from_a_fixed_set(service: Service) -> None:
    for index in range(1000):
        name = f"{uuid.uuid4().hex}{index}"
        service.client.post(f"/webhooks/{name}", content=b"{}")
    hostile = 'evil"} 1\ncsbridge_fake{a="b'
    service.client.post(
        f"/webhooks/{quote(hostile)}", content=b"x" * 5000
    )  # too large: first check
    families = {
        f.name: f for f in text_string_to_metric_families(service.client.get("/metrics").text)
    }
    requests = families["csbridge_webhook_requests"].samples
    assert {(s.labels["source"], s.labels["outcome"]) for s in requests} == {
        ("unknown", "unknown"),
        ("unknown", "too_large"),
    }
    assert sum(s.value for s in requests) == 1001
    assert "csbridge_fake" not in families


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_label_value_round_trips_through_a_prometheus_parser(value: str) -> None:
    metrics = Metrics()
    metrics.inc("csbridge_webhook_requests_total", source=value, outcome="accepted")
    [family] = [f for f in text_string_to_metric_families(metrics.render()) if f.type == "counter"]
    [sample] = family.samples
    assert sample.labels == {"source": value, "outcome": "accepted"}


@pytest.fixture
def slow_limit_service(database_url: str) -> Iterator[tuple[int, Store]]:
    store = open_store(database_url)
    server, thread, port = serve(create_app(webhook_settings(body_timeout_seconds=1), store.engine))
    yield port, store
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def trickle(port: int, head: bytes, body: bytes) -> bytes:
    """Send `head`, then `body` a byte every 0.3 s (each gap short, the whole slow) until
    the server answers; returns everything it sent before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=0.3) as client:
        client.sendall(head)
        for byte in body:
            try:
                if client.recv(1, socket.MSG_PEEK):  # the server has answered
                    break
            except TimeoutError:
                client.sendall(bytes([byte]))
        client.settimeout(30)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(4096):
                answer += chunk
        return answer


def test_a_trickled_body_is_cut_off_with_408(slow_limit_service: tuple[int, Store]) -> None:
    port, store = slow_limit_service
    body = signing.standard_event()
    signed = signing.standard_headers(body, "slow")
    head = "".join(f"{name}: {value}\r\n" for name, value in signed.items())
    request = (
        f"POST /webhooks/standard HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    answer = trickle(port, request.encode(), body)
    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 408 Request Timeout", answer
    assert answer.endswith(b'{"error":"body not received within 1 s"}'), answer
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'csbridge_webhook_requests_total{outcome="timeout",source="standard"} 1' in metrics
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(webhook_inbox)).scalar() == 0
    # A body that arrives in time is still welcome on the same server.
    fast = signing.standard_headers(body, "fast")
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/standard", content=body, headers=fast)
    assert response.status_code == 200


def test_a_client_hanging_up_mid_body_is_counted_not_a_traceback(
    service: Service, capfd: pytest.CaptureFixture[str]
) -> None:
    body = signing.standard_event()
    port = int(service.url.rsplit(":", 1)[1])
    head = (
        f"POST /webhooks/standard HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head + body[:5])
    expected = 'csbridge_webhook_requests_total{outcome="disconnected",source="standard"} 1'
    while expected not in service.client.get("/metrics").text:  # the server notices the hang-up
        time.sleep(0.01)
    assert rows(service) == 0
    assert "Traceback" not in capfd.readouterr().err
