"""Notifier against a real local HTTP server standing in for Slack and for a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from csbridge.config import HttpSettings, NotificationSettings
from csbridge.errors import CsbridgeError
from csbridge.http.client import CallAccounting
from csbridge.sync.changes import Notification
from csbridge.sync.notify import Notifier
from csbridge.sync.notify_payload import message_id, slack_message
from csbridge.webhooks.verify import verify_standard

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
SLACK_PATH = "/services/T0001/B0002/XoXsEcReTtOkEn42"
NOTE = Notification(
    key="acme.com:churn_risk:2026-11-23:notify",
    account_id="acme.com",
    rule="churn_risk",
    subject="Churn risk: health 55",
    description="Triggered by: health 55 < 60",
    targets=("csm", "cs_manager"),
    owner_id="005U",
)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs from a script of (status, text), then 200 "ok"; records every request.

    The first `stall` requests get no answer until the test ends (the client times out).
    """

    url: str
    script: list[tuple[int, str]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    stall: int = 0
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.seen.append(Seen(self.path, headers, body))
            if state.stall > 0:
                state.stall -= 1
                state.release.wait(10)
                return
            status, text = state.script.pop(0) if state.script else (200, "ok")
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def slack(receiver: Receiver, **http: float) -> Notifier:
    settings = NotificationSettings(slack_webhook_url=SecretStr(receiver.url + SLACK_PATH))
    return Notifier(settings, HttpSettings(**http), CallAccounting(), clock=lambda: NOW)


def webhook(receiver: Receiver, **http: float) -> Notifier:
    settings = NotificationSettings(
        webhook_url=receiver.url + "/hooks/csbridge", webhook_secret=SecretStr(SECRET)
    )
    return Notifier(settings, HttpSettings(**http), CallAccounting(), clock=lambda: NOW)


def test_slack_gets_the_slack_message_once(receiver: Receiver) -> None:
    accounting = CallAccounting()
    settings = NotificationSettings(slack_webhook_url=SecretStr(receiver.url + SLACK_PATH))
    notifier = Notifier(settings, HttpSettings(), accounting)
    result = notifier.send(NOTE)
    assert notifier.configured
    assert result.ok and result.ref == NOTE.key and result.error is None
    [request] = receiver.seen
    assert request.path == SLACK_PATH
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == slack_message(NOTE)
    assert accounting.count("slack", "webhook", 200) == 1


def test_webhook_verifies_with_our_receiver_and_keeps_its_id(receiver: Receiver) -> None:
    notifier = webhook(receiver)
    assert notifier.send(NOTE).ok and notifier.send(NOTE).ok
    first, second = receiver.seen
    for request in (first, second):
        assert request.path == "/hooks/csbridge"
        assert verify_standard(request.body, request.headers, [SECRET], NOW) == message_id(NOTE)
        assert json.loads(request.body)["data"]["key"] == NOTE.key
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert SECRET not in json.dumps(first.headers)


def test_webhook_500_then_200_is_delivered_after_one_retry(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.script = [(500, "boom")]
    result = webhook(receiver).send(NOTE)
    assert result.ok
    assert len(receiver.seen) == 2 and len(sleeps) == 1
    assert receiver.seen[0].headers["webhook-id"] == receiver.seen[1].headers["webhook-id"]


def test_webhook_timeout_is_resent_with_the_same_id(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.stall = 1
    result = webhook(receiver, read_timeout=0.3).send(NOTE)
    assert result.ok
    assert len(receiver.seen) == 2 and len(sleeps) == 1
    assert {s.headers["webhook-id"] for s in receiver.seen} == {message_id(NOTE)}


def test_webhook_410_means_the_receiver_gave_up(receiver: Receiver, sleeps: list[float]) -> None:
    receiver.script = [(410, "gone")]
    result = webhook(receiver).send(NOTE)
    assert not result.ok and result.error is not None
    assert "410" in result.error and "gave up" in result.error
    assert len(receiver.seen) == 1 and sleeps == []


def test_webhook_5xx_storm_fails_after_the_policy_bound(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.script = [(503, "")] * 3
    result = webhook(receiver, max_attempts=3).send(NOTE)
    assert not result.ok and result.error is not None and "HTTP 503" in result.error
    assert len(receiver.seen) == 3 and len(sleeps) == 2


def test_slack_no_service_is_final_and_never_shows_the_url(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.script = [(404, "no_service")]
    with capture_logs() as logs:
        result = slack(receiver).send(NOTE)
    assert not result.ok and result.error is not None
    assert "no_service" in result.error and "slack webhook" in result.error
    assert len(receiver.seen) == 1 and sleeps == []
    text = result.error + json.dumps(logs, default=str)
    assert any(e["event"] == "notify.failed" for e in logs)
    for secret in ("XoXsEcReTtOkEn42", SLACK_PATH, receiver.url):
        assert secret not in text


@pytest.mark.parametrize("code", ["invalid_payload", "channel_not_found"])
def test_slack_refusals_carry_slacks_reason(receiver: Receiver, code: str) -> None:
    receiver.script = [(400 if code == "invalid_payload" else 404, code)]
    result = slack(receiver).send(NOTE)
    assert not result.ok and result.error is not None and code in result.error


@pytest.mark.parametrize("status", [429, 503])
def test_slack_not_processed_answers_are_retried(
    receiver: Receiver, sleeps: list[float], status: int
) -> None:
    receiver.script = [(status, "rate_limited")]
    assert slack(receiver).send(NOTE).ok
    assert len(receiver.seen) == 2 and len(sleeps) == 1


def test_slack_500_is_an_unknown_outcome_not_resent(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.script = [(500, "rollup_error")]
    result = slack(receiver).send(NOTE)
    assert not result.ok and result.error == "slack webhook: unknown outcome"
    assert len(receiver.seen) == 1 and sleeps == []


def test_slack_timeout_is_an_unknown_outcome_not_resent(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.stall = 1
    result = slack(receiver, read_timeout=0.3).send(NOTE)
    assert not result.ok and result.error == "slack webhook: unknown outcome"
    assert len(receiver.seen) == 1 and sleeps == []


def test_both_channels_ok_only_when_both_accept(receiver: Receiver, sleeps: list[float]) -> None:
    settings = NotificationSettings(
        slack_webhook_url=SecretStr(receiver.url + SLACK_PATH),
        webhook_url=receiver.url + "/hooks/csbridge",
        webhook_secret=SecretStr(SECRET),
    )
    notifier = Notifier(settings, HttpSettings(), clock=lambda: NOW)
    assert notifier.send(NOTE).ok
    receiver.script = [(200, "ok"), (410, "")]
    result = notifier.send(NOTE)
    assert not result.ok and result.error is not None
    assert result.error.startswith("webhook notification:") and "slack" not in result.error
    assert [s.path for s in receiver.seen] == [SLACK_PATH, "/hooks/csbridge"] * 2


def test_no_channel_is_not_configured() -> None:
    notifier = Notifier(NotificationSettings(), HttpSettings())
    assert not notifier.configured
    assert not notifier.send(NOTE).ok


@pytest.mark.parametrize(
    ("settings", "field_name"),
    [
        (NotificationSettings(webhook_url="https://example.test/h"), "webhook_secret"),
        (
            NotificationSettings(
                webhook_url="https://example.test/h", webhook_secret=SecretStr("whsec_%%%")
            ),
            "secret",
        ),
        (
            NotificationSettings(slack_webhook_url=SecretStr("hooks.slack.com/services/T/B/tok")),
            "slack_webhook_url",
        ),
    ],
)
def test_bad_settings_name_the_field_without_the_secret(
    settings: NotificationSettings, field_name: str
) -> None:
    with pytest.raises(CsbridgeError) as info:
        Notifier(settings, HttpSettings())
    assert field_name in str(info.value)
    assert "tok" not in str(info.value) and "%%%" not in str(info.value)
