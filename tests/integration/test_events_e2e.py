"""End to end: outbound events of `csbridge run` on the sandbox, received by a real local
Standard Webhooks receiver that verifies every signature, and by a Slack stand-in.

Day 0: churn-risk episodes open (one event each) and the run finishes; a rerun sends no
account event again, only its own run event. Day 1, with another model (other band
names) and a lenient churn-risk rule: every band changes and the episodes close; one
HubSpot record is refused, so the run fails and says so on Slack too.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from crm_readback import planned

from csbridge.cli import main
from csbridge.webhooks.verify import verify_standard
from csbridge_sandbox.runner import Sandbox, run_sandbox

SECRET = "whsec_" + "ZXZlbnRzLXNlY3JldC1mb3ItdGhlLWUyZS10ZXN0IQ=="
SLACK_PATH = "/services/T1/B2/events"
COLOURS = {"at_risk": "red", "attention": "amber", "healthy": "green", "champion": "blue"}
EVENTS = [
    "band_changed",
    "segment_changed",
    "churn_risk_opened",
    "churn_risk_closed",
    "run_finished",
    "run_failed",
    "run_stopped",
]


@dataclass
class Received:
    url: str = ""
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (msg id, event)
    slack: list[str] = field(default_factory=list)

    def runs_on_slack(self) -> list[str]:
        """Slack messages about runs (the rules' notifications go to Slack too)."""
        return [text for text in self.slack if text.startswith("*csbridge run ")]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.events if e["type"] == f"csbridge.{kind}"]


@pytest.fixture(scope="module")
def received() -> Iterator[Received]:
    state = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == SLACK_PATH:
                state.slack.append(json.loads(body)["text"])
            else:
                headers = {k.lower(): v for k, v in self.headers.items()}
                msg_id = verify_standard(body, headers, [SECRET], datetime.now(UTC))
                state.events.append((msg_id, json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory, received: Received
) -> Iterator[tuple[Sandbox, Path, Path]]:
    tmp = tmp_path_factory.mktemp("events")
    with run_sandbox(port_base=0, accounts=30, seed=5, rate_limits="off") as sandbox:
        rules = tmp / "rules.yaml"
        rules.write_text("")
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
        data["rules"] = str(rules)
        data["notifications"] = {
            "webhook_url": received.url + "/hooks/csbridge",
            "webhook_secret": SECRET,
            "slack_webhook_url": received.url + SLACK_PATH,
            "events": EVENTS,
        }
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, rules


def run(config: Path, now: datetime, report: Path) -> tuple[int, dict[str, Any]]:
    code = main(["run", "--config", str(config), "--now", now.isoformat(), "--report", str(report)])
    return code, json.loads(report.read_text())


def test_events_once_each_across_reruns_and_a_failed_run_on_slack(
    prepared: tuple[Sandbox, Path, Path],
    received: Received,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox, config, rules = prepared
    start, report = sandbox.world.now, tmp_path / "report.json"

    code, first = run(config, start, report)
    assert code == 0 and first["ok"]
    opened = {e["data"]["account_id"] for e in received.of("churn_risk_opened")}
    assert opened and first["events"] == {"sent": len(opened), "failed": 0}
    sent = Counter(e["type"].removeprefix("csbridge.") for _, e in received.events)
    assert {k: n for k, n in sent.items() if k in EVENTS} == {
        "churn_risk_opened": len(opened),
        "run_finished": 1,
    }  # the rule notifications go to the same receiver, under the rules' names
    [finished] = received.of("run_finished")
    assert finished["data"]["details"]["accounts_scored"] == first["accounts_scored"]
    assert finished["data"]["details"]["crm"]["hubspot"]["tasks_created"] > 0
    assert received.runs_on_slack() == []  # a finished run is not news for Slack

    code, again = run(config, start, report)
    assert code == 0 and "events" not in again  # no account event twice
    assert len(received.of("churn_risk_opened")) == len(opened)
    assert len(received.of("run_finished")) == 2  # one per run: each run is its own event

    # Day 1: other band names, a churn-risk rule nobody meets, one HubSpot record refused
    rules.write_text(yaml.safe_dump({"rules": {"churn_risk": {"below": 1, "drop": 100}}}))
    model = config.with_name("colours.yaml")
    preset = resources.files("csbridge.scoring.presets").joinpath("seed-5d.yaml").read_text()
    for old, new in COLOURS.items():
        preset = preset.replace(f"name: {old},", f"name: {new},").replace(
            f"name: {old}}}", f"name: {new}}}"
        )
    model.write_text(preset)
    data = yaml.safe_load(config.read_text())
    data["model"] = str(model)
    config.write_text(yaml.safe_dump(data))
    assert main(["init-crm", "--config", str(config)]) == 0  # the new band names
    assert main(["pull", "--config", str(config)]) == 0
    plan = planned(config, (start + timedelta(days=1)).isoformat(), "hubspot", capsys)
    refused = plan["accounts"][0]["record_id"]
    sandbox.control("hubspot").arm(
        kind="reject_record", object="companies", id=refused, message="locked"
    )
    try:
        code, failed = run(config, start + timedelta(days=1), report)
    finally:
        sandbox.control("hubspot").clear()
    assert code == 1 and not failed["ok"]
    changed = received.of("band_changed")
    assert len(changed) == failed["accounts_scored"]  # every band has a new name
    assert {e["data"]["details"]["after"] for e in changed} <= set(COLOURS.values())
    assert {e["data"]["details"]["before"] for e in changed} <= set(COLOURS)
    closed = {e["data"]["account_id"] for e in received.of("churn_risk_closed")}
    assert closed and closed <= opened
    [failure] = received.of("run_failed")
    assert failure["data"]["details"]["crm"]["hubspot"]["failed_records"] == 1
    [on_slack] = received.runs_on_slack()
    assert "failed" in on_slack and failed["run_id"] in on_slack
    ids = Counter(msg for msg, _ in received.events)
    assert max(ids.values()) == 1  # every event was received exactly once
