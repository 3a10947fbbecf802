"""`csbridge pull` end to end against the sandbox: a full run, then an incremental one with
far fewer calls; stored counts equal the sandbox's; every page committed with its cursor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.models import Account, Contact, SurveyResponse, Ticket, UsageDay
from csbridge.store.store import open_store
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import run_sandbox


def test_pull_twice_full_then_incremental(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    with run_sandbox(port_base=0, accounts=30, seed=11, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        settings = load_config(config).model_copy(
            update={"database_url": f"sqlite:///{tmp_path / 'state.db'}"}
        )
        store = open_store(settings.database_url)
        first = pull(settings, store)
        assert first.ok, first.stopped
        world = sandbox.world

        def stored(kind: type, source: str) -> int:
            return len(store.load(kind, source=source, include_deleted=True))

        assert stored(Account, "salesforce") == len(world.accounts)
        assert stored(Account, "hubspot") == len(world.accounts)
        assert stored(Account, "zendesk") == len(world.zendesk_orgs)
        assert stored(Contact, "salesforce") == len(world.contacts)
        assert stored(Ticket, "zendesk") == len(world.tickets)
        nps = [r for r in store.load(SurveyResponse, source="salesforce") if r.kind == "nps"]
        assert len(nps) == len(world.nps_answers)
        assert stored(UsageDay, "mixpanel") > 0
        assert first.extra["mixpanel_events"]["unattributed"] == 0
        assert first.extra["mixpanel_events"]["events"] > 0
        used, limit = first.extra["salesforce_api_usage"]
        assert 0 < used < limit
        tickets_cursor = store.get_cursor("zendesk.tickets")
        assert tickets_cursor is not None and tickets_cursor.token

        second = pull(settings, store)
        assert second.ok, second.stopped
        calls_first = first.accounting.count()
        calls_second = second.accounting.count()
        # the second run reads one page per stream: only the lookback and full listings
        assert calls_second < calls_first
        one_page = {name: 2 if name == "hubspot.owners" else 1 for name in second.pages}
        assert second.pages == one_page  # owners: one listing of active, one of archived
        assert sum(second.records.values()) < sum(first.records.values()) / 4
        assert stored(Account, "salesforce") == len(world.accounts)  # upserts, no duplicates
        assert stored(Ticket, "zendesk") == len(world.tickets)
        store.close()

        # the command's handler: JSON report of the chosen source, exit 0
        code = main(["pull", "--config", str(config), "--source", "zendesk", "--json"])
        out = capsys.readouterr().out
        report = json.loads(out[out.index("{\n") :])  # structlog's default also writes here
        assert code == 0 and set(report["records"]) == {
            "zendesk.organizations",
            "zendesk.tickets",
            "zendesk.satisfaction_ratings",
        }
