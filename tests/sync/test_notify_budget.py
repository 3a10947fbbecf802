"""A dead notification endpoint cannot hold a run: short timeouts, a time budget for all
notifications of a run, and a channel not tried again after failures in a row. What was
not delivered is reported, not recorded, and goes out on the next run.

Against a real local HTTP server that accepts and stalls; the assertions count attempts
and budget (a fake clock that only `time.sleep` advances), never wall time."""

# ruff: noqa: F811  (the `receiver` and `store` fixtures are imported from their modules)
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr
from test_apply import OPTIONS, FakeCrm, changes_for, store  # noqa: F401
from test_notify import NOTE, SECRET, Receiver, receiver  # noqa: F401

from csbridge.config import HttpSettings, NotificationSettings
from csbridge.http.client import CallAccounting
from csbridge.store.store import Store
from csbridge.sync.apply import apply_changes
from csbridge.sync.changes import DesiredState, Notification
from csbridge.sync.notify import Notifier

NOTES = [replace(NOTE, key=f"acme.com:churn_risk:{i}:notify") for i in range(10)]


def notifier(receiver: Receiver, http: dict[str, Any], **settings: Any) -> Notifier:
    config = NotificationSettings(
        webhook_url=receiver.url + "/hooks/csbridge",
        webhook_secret=SecretStr(SECRET),
        timeout_seconds=0.2,
        **settings,
    )
    return Notifier(config, HttpSettings(**http), CallAccounting())


def test_a_stalling_endpoint_is_not_tried_again_after_failures_in_a_row(
    receiver: Receiver, sleeps: list[float]
) -> None:
    receiver.stall = 1000
    dead = notifier(receiver, {"max_attempts": 2}, max_failures=2)
    results = [dead.send(note) for note in NOTES]
    assert not any(r.ok for r in results)
    assert len(receiver.seen) == 4  # 2 notifications x 2 attempts; 8 not tried
    assert [r.error for r in results[2:]] == [
        "webhook notification: not tried: failed 2 times in a row"
    ] * 8


def test_all_notifications_of_a_run_share_one_time_budget(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr("time.sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    receiver.script = [(503, "")] * 1000
    config = NotificationSettings(
        webhook_url=receiver.url + "/hooks/csbridge",
        webhook_secret=SecretStr(SECRET),
        budget_seconds=30,
        max_failures=100,
    )
    http = HttpSettings(max_attempts=20)
    busy = Notifier(config, http, CallAccounting(), monotonic=lambda: clock[0])
    results = [busy.send(note) for note in NOTES]
    tried = [r for r in results if "not tried" not in (r.error or "")]
    assert 1 <= len(tried) < len(NOTES) and not any(r.ok for r in results)
    assert results[-1].error == "webhook notification: not tried: 30 s budget spent"
    assert clock[0] <= 30  # every backoff of every retry fits in the one budget


def test_undelivered_notifications_go_out_on_the_next_run(
    receiver: Receiver, store: Store, sleeps: list[float]
) -> None:
    states = {
        f"A{i}": DesiredState(
            f"A{i}", f"R{i}", notifications=(Notification(f"A{i}:x:notify", f"A{i}", "x", "s"),)
        )
        for i in range(6)
    }
    receiver.stall = 1000
    first = apply_changes(
        changes_for(store, states),
        FakeCrm(),
        store,
        OPTIONS,
        notifier=notifier(receiver, {"max_attempts": 1}, max_failures=2),
    )
    assert [f.kind for f in first.failed] == ["notification"] * 6
    assert first.notifications_sent == 0 and len(receiver.seen) == 2

    receiver.stall = 0  # the endpoint is back
    second = apply_changes(
        changes_for(store, states), FakeCrm(), store, OPTIONS, notifier=notifier(receiver, {})
    )
    assert second.notifications_sent == 6 and second.failed == []
    assert changes_for(store, states).is_empty
