"""Sending rule notifications: a Slack incoming webhook and/or a signed Standard Webhook.

`Notifier.send(note)` posts one notification to every configured channel and returns a
`WriteResult` (ref = the notification key) that is ok only when every channel accepted
it. It only sends: "once per key" is apply's job, which records the key in the ledger
(target `notify`) as `sent` after an ok result. When no channel is configured,
`configured` is False and apply records the key as `skipped` instead of calling `send`,
so a run without notifications neither fails nor retries them forever.

Both posts go through `ApiClient` (one retry policy, accounting, safe logs):

- Standard Webhooks: idempotent (the receiver de-duplicates on `webhook-id`, derived
  from the key), so 429, 5xx and timeouts are retried. One signature per `send`; the
  client's total retry time is capped at `SIGNATURE_FRESH_SECONDS` so the last attempt
  still falls inside a receiver's usual 5-minute timestamp tolerance. 2xx is ok; 410
  means the receiver gave up on us; any other 4xx is final too.
- Slack: NOT idempotent (Slack does not de-duplicate), so the policy retries only 429 and
  503 (not processed); a timeout, a dropped connection or another 5xx may have posted
  the message and is reported as "unknown outcome", not resent in this run. Slack's
  4xx answers (`invalid_payload`, `no_service`, `channel_not_found`, ...) are final and
  their code is the reason.

A dead endpoint must not hold a run (and its lock) for minutes: each post has its own
short timeout (`notifications.timeout_seconds`), and a `Notifier` spends at most
`budget_seconds` on posts, retries included, per `BUDGET_WINDOW_SECONDS` (a CLI run
is one window). A channel that failed `max_failures` times in a row, or a spent budget,
makes the next notifications fail at once ("not tried"): they are reported, not
recorded as sent, so the next run sends them.

The Slack URL and the signing secret authorise posting: they never appear in a log or
an error, where the channels are named "slack webhook" and "webhook notification".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import requests
import structlog

from csbridge.config import HttpSettings, NotificationSettings
from csbridge.connectors.http_settings import policy_from, timeouts_from
from csbridge.connectors.protocol import WriteResult
from csbridge.errors import CsbridgeError
from csbridge.http.client import ApiClient, CallAccounting, Timeouts
from csbridge.http.errors import (
    HttpError,
    Ok,
    ResponseLike,
    UnknownOutcomeError,
    Verdict,
    default_classify,
)
from csbridge.sync.changes import Notification
from csbridge.sync.notify_payload import sign, signed_webhook, slack_message

SIGNATURE_FRESH_SECONDS = 240.0
BUDGET_WINDOW_SECONDS = 600.0
SLACK, WEBHOOK = "slack", "webhook"
SLACK_ENDPOINT, WEBHOOK_ENDPOINT = "webhook", "notification"
ENDPOINTS = {SLACK: SLACK_ENDPOINT, WEBHOOK: WEBHOOK_ENDPOINT}
_SLACK_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
log = structlog.get_logger("csbridge.notify")


def classify_notification(response: ResponseLike) -> Verdict:
    """`default_classify`, except that a 4xx (other than 408/429) is returned to the sender,
    which reads the receiver's reason (Slack's error code, a 410) from it."""
    status = response.status_code
    if 400 <= status < 500 and status not in (408, 429):
        return Ok()
    return default_classify(response)


def notification_client(
    system: str,
    url: str,
    http: HttpSettings,
    settings: NotificationSettings,
    accounting: CallAccounting | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> ApiClient:
    """An `ApiClient` for one notification channel: the notifications' short timeout, and
    retries that end within the budget (and in time for a fresh signature)."""
    policy, timeouts = policy_from(http), timeouts_from(http)
    bound = min(policy.max_seconds, SIGNATURE_FRESH_SECONDS)
    return ApiClient(
        system,
        url,
        timeouts=Timeouts(
            connect=min(timeouts.connect, settings.timeout_seconds),
            read=min(timeouts.read, settings.timeout_seconds),
        ),
        policy=replace(policy, max_seconds=bound),
        classify=classify_notification,
        accounting=accounting,
        clock=monotonic,
    )


class Notifier:
    """Posts notifications to the channels of the `notifications:` config section."""

    def __init__(
        self,
        settings: NotificationSettings,
        http: HttpSettings,
        accounting: CallAccounting | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock, self._monotonic = clock, monotonic
        self._budget, self._max_failures = settings.budget_seconds, settings.max_failures
        self._timeout = settings.timeout_seconds
        self._window_start, self._spent = monotonic(), 0.0
        self._failures: dict[str, int] = {}
        self._bound = min(policy_from(http).max_seconds, SIGNATURE_FRESH_SECONDS)
        slack = settings.slack_webhook_url
        self._slack_url = _checked_url(
            slack.get_secret_value() if slack else "", "notifications.slack_webhook_url"
        )
        self._webhook_url = _checked_url(settings.webhook_url or "", "notifications.webhook_url")
        self._secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        if self._webhook_url:
            if not self._secret:
                raise CsbridgeError(
                    "notifications.webhook_secret: required with webhook_url; "
                    "set the receiver's whsec_... secret"
                )
            sign(self._secret, "msg_check", "0", b"")  # a bad secret fails now, not per send
        self._slack = (
            notification_client(SLACK, self._slack_url, http, settings, accounting, monotonic)
            if self._slack_url
            else None
        )
        self._webhook = (
            notification_client(WEBHOOK, self._webhook_url, http, settings, accounting, monotonic)
            if self._webhook_url
            else None
        )

    @property
    def configured(self) -> bool:
        """True when at least one channel is set up."""
        return self._slack is not None or self._webhook is not None

    def has(self, channel: str) -> bool:
        """Whether `channel` (`slack` or `webhook`) is set up."""
        return (self._slack if channel == SLACK else self._webhook) is not None

    def send(self, note: Notification, channels: tuple[str, ...] = (SLACK, WEBHOOK)) -> WriteResult:
        """Post `note` to every configured channel of `channels` (both by default; the
        outbound events choose); ok only when all of them accepted it."""
        if not any(self.has(c) for c in channels):
            return WriteResult(note.key, ok=False, error="notifications: no channel configured")
        errors = []
        if self._slack is not None and SLACK in channels:
            errors.append(self._budgeted(self._slack, note, self._send_slack))
        if self._webhook is not None and WEBHOOK in channels:
            errors.append(self._budgeted(self._webhook, note, self._send_webhook))
        failed = [e for e in errors if e is not None]
        if failed:
            return WriteResult(note.key, ok=False, error="; ".join(failed))
        return WriteResult(note.key, ok=True)

    def close(self) -> None:
        """Close the channels' pooled connections."""
        for client in (self._slack, self._webhook):
            if client is not None:
                client.close()

    def _budgeted(
        self,
        client: ApiClient,
        note: Notification,
        post: Callable[[ApiClient, Notification], str | None],
    ) -> str | None:
        """`post(client, note)` unless the channel failed too often in a row or the budget
        is spent; its retries may use what is left of the budget, and no more."""
        now = self._monotonic()
        if now - self._window_start >= BUDGET_WINDOW_SECONDS:
            self._window_start, self._spent, self._failures = now, 0.0, {}
        channel = f"{client.system} {ENDPOINTS[client.system]}"
        failures = self._failures.get(channel, 0)
        if failures >= self._max_failures:
            return _failed(note, channel, f"not tried: failed {failures} times in a row")
        if self._budget - self._spent < self._timeout:  # no time left for one more attempt
            return _failed(note, channel, f"not tried: {self._budget:g} s budget spent")
        bound = min(self._bound, self._budget - self._spent)
        client.policy = replace(client.policy, max_seconds=bound)
        error = post(client, note)
        self._spent += self._monotonic() - now
        self._failures[channel] = failures + 1 if error else 0
        return error

    def _send_slack(self, client: ApiClient, note: Notification) -> str | None:
        name = f"{SLACK} {SLACK_ENDPOINT}"
        try:
            response = client.post(
                self._slack_url, endpoint=SLACK_ENDPOINT, json=slack_message(note)
            )
        except UnknownOutcomeError:
            return _failed(note, name, "unknown outcome")
        except HttpError as exc:
            return _failed(note, name, _detail(exc))
        except requests.RequestException as exc:
            return _failed(note, name, type(exc).__name__)
        if response.ok:
            log.info("notify.sent", key=note.key, channel=name)
            return None
        code = response.text.strip()
        reason = code if _SLACK_CODE.fullmatch(code) else "refused"
        return _failed(note, name, f"{reason} (HTTP {response.status_code})")

    def _send_webhook(self, client: ApiClient, note: Notification) -> str | None:
        name = f"{WEBHOOK} {WEBHOOK_ENDPOINT}"
        body, headers = signed_webhook(note, self._secret, self._clock())
        try:
            response = client.post(
                self._webhook_url,
                endpoint=WEBHOOK_ENDPOINT,
                idempotent=True,
                data=body,
                headers=headers,
            )
        except HttpError as exc:
            return _failed(note, name, _detail(exc))
        except requests.RequestException as exc:
            return _failed(note, name, type(exc).__name__)
        if response.ok:
            log.info("notify.sent", key=note.key, channel=name)
            return None
        if response.status_code == 410:
            return _failed(note, name, "receiver gave up on us (HTTP 410)")
        return _failed(note, name, f"refused (HTTP {response.status_code})")


def _checked_url(url: str, field: str) -> str:
    """A channel's URL ("" when unset), checked without ever echoing it (it may be secret)."""
    if url and not url.startswith(("https://", "http://")):
        raise CsbridgeError(f"{field}: not an http(s) URL; set the full https://... address")
    return url


def _detail(exc: HttpError) -> str:
    """The error's message without the "system endpoint: " prefix it starts with."""
    return str(exc).removeprefix(f"{exc.system} {exc.endpoint}: ")


def _failed(note: Notification, channel: str, reason: str) -> str:
    log.warning("notify.failed", key=note.key, channel=channel, reason=reason)
    return f"{channel}: {reason}"
