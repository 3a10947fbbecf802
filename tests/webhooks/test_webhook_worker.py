"""The inbox worker on SQLite and PostgreSQL: every row ends processed, parked or dead-lettered."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import webhook_signing as signing
from conftest import seed_accounts
from sqlalchemy import select

from csbridge.cli import main
from csbridge.models import Account
from csbridge.store.lock import RunLockedError
from csbridge.store.store import Store, open_store
from csbridge.store.tables import dead_letters, webhook_inbox
from csbridge.webhooks import inbox, worker

PROC = str(Path(__file__).with_name("webhook_worker_proc.py"))
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    seed_accounts(opened)
    yield opened
    opened.close()


def put(store: Store, source: str, events: list[tuple[str, bytes]]) -> None:
    with store.engine.begin() as connection:
        inbox.insert_events(connection, source, events, {}, NOW)


def drain(store: Store) -> None:
    react = worker.account_lookup_reaction(store.engine)
    while worker.run_once(store.engine, react, clock=lambda: NOW) is not None:
        pass


def finished(store: Store) -> dict[str, tuple[str, str]]:
    query = select(webhook_inbox.c.event_id, webhook_inbox.c.status, webhook_inbox.c.error)
    with store.engine.connect() as connection:
        return {row.event_id: (row.status, row.error or "") for row in connection.execute(query)}


def hubspot_nps(value: str, contact: int = 777) -> bytes:
    return json.dumps(
        {
            "eventId": 1,
            "subscriptionType": "contact.propertyChange",
            "objectId": contact,
            "occurredAt": 1763892000000,
            "propertyName": "hs_feedback_last_nps_rating",
            "propertyValue": value,
        }
    ).encode()


def zendesk_ticket(priority: str, org: str = "9001") -> bytes:
    detail = {"id": "35436", "organization_id": org, "priority": priority}
    return json.dumps(
        {
            "id": "z",
            "type": "zen:event-type:ticket.created",
            "time": "2026-11-23T09:00:00Z",
            "detail": detail,
        }
    ).encode()


def test_every_row_ends_with_a_reason(store: Store) -> None:
    ev = signing.standard_event
    put(
        store,
        "standard",
        [
            ("ok", ev()),
            ("external-id", ev(account="001A")),
            ("unknown-account", ev(account="nobody.example")),
            (
                "nan",
                b'{"type":"account.score_dropped","timestamp":"2026-11-23T10:00:00Z",'
                b'"data":{"account":"acme.com","score":NaN}}',
            ),
            ("string-score", ev(score="55")),
            ("out-of-range", ev(score=150)),
            ("unknown-type", ev(type="account.renamed")),
            ("bad-json", b"{not json"),
            ("not-utf8", b"\xff\xfe{}"),
            ("nps-11", ev(type="nps.answered", score=11)),
        ],
    )
    put(store, "hubspot", [("hs-nps", hubspot_nps("4")), ("hs-nan", hubspot_nps("NaN"))])
    put(store, "hubspot", [("hs-nobody", hubspot_nps("9", contact=1))])
    put(store, "hubspot", [("hs-batch", b'[{"subscriptionType": "contact.creation"}]')])
    put(
        store,
        "zendesk",
        [("zd-urgent", zendesk_ticket("urgent")), ("zd-low", zendesk_ticket("low"))],
    )
    put(store, "planhat", [("ph-11", signing.platform_event("ph-11", score=11))])
    put(
        store,
        "vitally",
        [("vi-7", signing.platform_event("vi-7", score=7, previous_score=8, threshold=6))],
    )
    drain(store)
    rows = finished(store)
    expect = {
        "ok": ("processed", "no reaction configured yet (account salesforce:001A)"),
        "external-id": ("processed", "no reaction configured yet (account salesforce:001A)"),
        "unknown-account": ("parked", "unknown account: nobody.example"),
        "nan": ("dead_lettered", "invalid_json: NaN is not a JSON number"),
        "string-score": ("dead_lettered", "invalid_payload: data.score: float_type"),
        "out-of-range": ("dead_lettered", "invalid_payload: score: less_than_equal"),
        "unknown-type": ("parked", "unknown_event_type: account.renamed"),
        "nps-11": (
            "dead_lettered",
            "invalid_payload: (body): value_error (Value error, an NPS answer needs",
        ),
        "hs-nps": ("processed", "no reaction configured yet (account hubspot:555)"),
        "hs-nan": ("dead_lettered", "invalid_payload: hs_feedback_last_nps_rating is not"),
        "hs-nobody": ("parked", "unknown account: 1"),
        "hs-batch": ("dead_lettered", "invalid_payload: a batch that could not be split"),
        "zd-urgent": ("processed", "no reaction configured yet (account zendesk:9001)"),
        "zd-low": ("processed", "not an alert: ticket 35436 priority is low"),
        "ph-11": ("dead_lettered", "invalid_payload: score: out of range 0-10"),
        "vi-7": ("processed", "no reaction configured yet"),
    }
    for event_id, (status, reason) in expect.items():
        assert rows[event_id][0] == status, (event_id, rows[event_id])
        assert rows[event_id][1].startswith(reason), (event_id, rows[event_id])
    assert rows["bad-json"][0] == rows["not-utf8"][0] == "dead_lettered"
    assert "not UTF-8" in rows["not-utf8"][1]
    with store.engine.connect() as connection:
        letters = connection.execute(select(dead_letters.c.payload)).scalars().all()
    raw = {item["event_id"]: item["body_base64"] for item in letters}
    import base64

    assert base64.b64decode(raw["not-utf8"]) == b"\xff\xfe{}"
    assert len(raw) == sum(1 for status, _ in rows.values() if status == "dead_lettered")


def test_alert_scores_are_normalised(store: Store) -> None:
    from csbridge.webhooks.adapters import ADAPTERS

    body = signing.platform_event("v", score=7, previous_score=8.5, threshold=6)
    alert = ADAPTERS["vitally"].parse(body, "v")
    assert (alert.score, alert.previous_score, alert.threshold) == (70.0, 85.0, 60.0)
    alert = ADAPTERS["gainsight"].parse(signing.platform_event("g", score=42), "g")
    assert (alert.score, alert.previous_score, alert.threshold) == (42.0, 71.0, 60.0)
    assert alert.kind == "score_drop" and alert.occurred_at.tzinfo is not None


def test_parked_then_replayed_after_the_account_appears(
    store: Store, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(store, "gainsight", [("late", signing.platform_event("late", account="late.example"))])
    drain(store)
    capsys.readouterr()  # the worker's own log lines (structlog defaults print to stdout)
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: '{database_url}'\n")
    assert (
        main(["inbox", "list", "--config", str(config), "--status", "parked", "--format", "json"])
        == 0
    )
    listed = json.loads(capsys.readouterr().out)
    assert [(r["event_id"], r["error"]) for r in listed] == [
        ("late", "unknown account: late.example")
    ]
    store.upsert([Account(source="hubspot", id="42", name="Late", domain="late.example")])
    assert main(["inbox", "replay", "--config", str(config), str(listed[0]["id"])]) == 0
    assert main(["inbox", "replay", "--config", str(config), str(listed[0]["id"])]) == 2
    assert "not finished" in capsys.readouterr().err
    assert main(["worker", "--config", str(config), "--drain"]) == 0
    assert "processed=1" in capsys.readouterr().out
    assert finished(store)["late"] == (
        "processed",
        "no reaction configured yet (account hubspot:42)",
    )
    assert main(["inbox", "replay", "--config", str(config), "999999"]) == 2


def test_killed_worker_leaves_the_row_to_be_claimed_again(store: Store, database_url: str) -> None:
    put(store, "standard", [("held", signing.standard_event())])
    done = subprocess.run(
        [sys.executable, PROC, "claim-and-die", database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9 and done.stdout.strip().isdigit()
    react = worker.account_lookup_reaction(store.engine)
    now = datetime.now(UTC)
    assert worker.run_once(store.engine, react, clock=lambda: now) is None  # lease still held
    later = now + timedelta(seconds=61)
    result = worker.run_once(store.engine, react, clock=lambda: later)
    assert result is not None and result[1] == "processed"
    with store.engine.connect() as connection:
        assert connection.execute(select(webhook_inbox.c.attempts)).scalar_one() == 2


def test_two_worker_processes_never_handle_the_same_row(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    put(store, "standard", [(f"e{i}", signing.standard_event()) for i in range(150)])
    drain = [sys.executable, PROC, "drain", database_url, str(tmp_path), "2"]
    procs = [subprocess.Popen(drain, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    first, second = (set(map(int, out)) for out in outputs)
    assert not first & second
    assert len(first) + len(second) == 150
    assert first and second, "both workers took part"
    assert {status for status, _ in finished(store).values()} == {"processed"}


def test_reaction_error_keeps_the_row_claimed_then_gives_up(store: Store) -> None:
    put(store, "standard", [("boom", signing.standard_event())])

    def broken(alert: object) -> worker.ReactionOutcome:
        raise RuntimeError("crm down")

    clock = NOW
    for attempt in range(worker.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            worker.run_once(store.engine, broken, clock=lambda at=clock: at)
        clock += timedelta(seconds=61)
        assert finished(store)["boom"][0] == "claimed", attempt
    assert worker.run_once(store.engine, broken, clock=lambda: clock) is not None
    assert finished(store)["boom"] == (
        "dead_lettered",
        f"gave up after {worker.MAX_ATTEMPTS} attempts",
    )


def test_a_reaction_refused_by_a_running_job_is_deferred_without_spending_attempts(
    store: Store,
) -> None:
    put(store, "standard", [("later", signing.standard_event())])

    def locked(alert: object) -> worker.ReactionOutcome:
        raise RunLockedError("another csbridge run holds the lock")

    clock = NOW
    for _ in range(worker.MAX_ATTEMPTS + 3):  # a run longer than every attempt allows
        assert worker.run_once(store.engine, locked, clock=lambda at=clock: at) == (1, "deferred")
        # still held by its lease: nothing claimable until it expires
        assert worker.run_once(store.engine, locked, clock=lambda at=clock: at) is None
        clock += timedelta(seconds=61)
    assert finished(store)["later"][0] == "claimed"

    def done(alert: object) -> worker.ReactionOutcome:
        return worker.ReactionOutcome("processed", "reacted")

    assert worker.run_once(store.engine, done, clock=lambda: clock) == (1, "processed")
    assert finished(store)["later"] == ("processed", "reacted")
