"""Mixpanel specifics: gzip, split records, `terminated early`, duplicated $insert_id, and flat
memory on a large export streamed from a real local HTTP server."""

from __future__ import annotations

import gzip
import json
import threading
import tracemalloc
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from connector_cases import HTTP, MIXPANEL, MP_EXPORT, NOW
from responses import matchers

from csbridge.connectors.mixpanel.client import mixpanel_client
from csbridge.connectors.mixpanel.streams import MixpanelConnector, MixpanelOptions
from csbridge.http.errors import RetriesExhaustedError

# time.sleep is patched (tests/conftest.py): backoff is instant and the waits recorded.
pytestmark = pytest.mark.usefixtures("sleeps")

DAY = int(datetime(2024, 3, 10, 9, tzinfo=UTC).timestamp())


def event(name: str, t: int, user: str, insert_id: str, domain: str = "acme.com") -> str:
    props = {"time": t, "distinct_id": user, "$insert_id": insert_id, "company_domain": domain}
    return json.dumps({"event": name, "properties": props})


def connector(**options: object) -> MixpanelConnector:
    opts = MixpanelOptions(window_days=1, **options)  # type: ignore[arg-type]
    return MixpanelConnector(MIXPANEL, mixpanel_client(MIXPANEL, HTTP), opts, now=lambda: NOW)


def test_request_params_auth_and_gzip_body(rsps: responses.RequestsMock) -> None:
    body = "\n".join(event("Login", DAY + i, f"u{i % 3}", f"i{i}") for i in range(200)).encode()
    call = rsps.get(
        MP_EXPORT,
        body=gzip.compress(body),
        headers={"Content-Encoding": "gzip"},
        match=[
            matchers.query_param_matcher(
                {"from_date": "2024-03-10", "to_date": "2024-03-10", "project_id": "1000001"}
            ),
            matchers.header_matcher({"Accept-Encoding": "gzip"}, strict_match=False),
        ],
    )
    pages = list(connector().usage_days("2024-03-10"))
    (day,) = pages[0].records
    assert (day.events, day.active_users, day.account_id) == (200, 3, "acme.com")
    assert pages[0].cursor == "2024-03-10"
    assert call.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_duplicates_and_split_records(rsps: responses.RequestsMock) -> None:
    lines = [
        event("Login", DAY, "u1", "a"),
        event("Login", DAY, "u1", "a"),  # same $insert_id, event, user, time: a duplicate
        event("Login", DAY + 5, "u1", "a"),  # same $insert_id, other time: not a duplicate
        '{"event":"Report","properties":{"time":' + str(DAY + 9) + ',"distinct_id":"u2",',
        '"$insert_id":"b","company_domain":"acme.com","note":"two\nlines"}}',
    ]
    rsps.get(MP_EXPORT, body="\n".join(lines) + "\n")
    mp = connector(key_features=("Report",))
    (page,) = list(mp.usage_days("2024-03-10"))
    (day,) = page.records
    assert day.events == 3 and day.feature_events == {"Report": 1}
    assert mp.stats.duplicates == 1


def test_terminated_early_rereads_the_window(rsps: responses.RequestsMock) -> None:
    good = "\n".join(event("Login", DAY + i, "u", f"i{i}") for i in range(5))
    rsps.get(MP_EXPORT, body=good + "\nterminated early\n")
    rsps.get(MP_EXPORT, body=good + "\n")
    (page,) = list(connector().usage_days("2024-03-10"))
    assert page.records[0].events == 5  # the partial first read was thrown away


def test_a_window_that_keeps_breaking_fails_without_a_page(rsps: responses.RequestsMock) -> None:
    for _ in range(2):
        rsps.get(MP_EXPORT, body=event("Login", DAY, "u", "x") + "\nterminated early\n")
    with pytest.raises(RetriesExhaustedError):
        list(connector(window_attempts=2).usage_days("2024-03-10"))


def test_windows_cover_lookback_in_project_timezone() -> None:
    settings = MIXPANEL.model_copy(update={"timezone": "Pacific/Auckland", "lookback_days": 2})
    mp = MixpanelConnector(
        settings,
        mixpanel_client(settings, HTTP),
        MixpanelOptions(window_days=2),
        now=lambda: datetime(2024, 3, 10, 12, 30, tzinfo=UTC),  # already Mar 11 in Auckland
    )
    assert [(a.isoformat(), b.isoformat()) for a, b in mp.windows("2024-03-08")] == [
        ("2024-03-06", "2024-03-07"),
        ("2024-03-08", "2024-03-09"),
        ("2024-03-10", "2024-03-11"),
    ]


# --- flat memory on a large export, streamed by a real HTTP server -------------------------


def _serve(total_bytes: int, gzipped: bool) -> tuple[ThreadingHTTPServer, str]:
    padding = "x" * 600  # real events carry ~1 KB of properties

    class Export(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            packer = zlib.compressobj(6, zlib.DEFLATED, 31) if gzipped else None
            sent, i = 0, 0
            while sent < total_bytes:
                block = "".join(
                    event("Login", DAY + (i + k) % 3600, f"u{(i + k) % 500}", f"{i + k}")[:-2]
                    + f',"pad":"{padding}"}}}}\n'
                    for k in range(500)
                ).encode()
                i += 500
                sent += len(block)
                self._chunk(packer.compress(block) if packer else block)
            if packer:
                self._chunk(packer.flush())
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, data: bytes) -> None:
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Export)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _peak_while_streaming(total_bytes: int, gzipped: bool) -> tuple[int, int]:
    server, url = _serve(total_bytes, gzipped)
    try:
        settings = MIXPANEL.model_copy(update={"export_url": url})
        mp = MixpanelConnector(
            settings, mixpanel_client(settings, HTTP), MixpanelOptions(window_days=1), lambda: NOW
        )
        tracemalloc.start()
        (page,) = list(mp.usage_days("2024-03-10"))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.shutdown()
        server.server_close()
    return peak, page.records[0].events


def test_memory_stays_flat_as_the_export_grows() -> None:
    small_peak, small_events = _peak_while_streaming(4_000_000, gzipped=False)
    big_peak, big_events = _peak_while_streaming(24_000_000, gzipped=True)
    assert big_events > 5 * small_events
    # 6x the bytes: only the 16-byte-per-event dedupe table may grow, never the body
    assert big_peak < small_peak + 16 * 2 * big_events + 2_000_000
    assert big_peak < 24_000_000 / 6
