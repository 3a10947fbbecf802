"""Crash test: a pull killed between fetching a page and committing it, then rerun, leaves
no fact missing and none duplicated (the cursor only moved with committed pages)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from csbridge.config import load_config
from csbridge.models import Account, Contact, Ticket
from csbridge.store.store import open_store
from csbridge.sync.pull import pull
from csbridge_sandbox.runner import run_sandbox

CRASHING_RUN = """
import os, sys
from csbridge.config import load_config
from csbridge.store.store import Store, open_store
from csbridge.sync.pull import pull

settings = load_config(sys.argv[1]).model_copy(update={"database_url": sys.argv[2]})
kill_at = int(sys.argv[3])
calls = {"n": 0}
real = Store.save_page

def save_page(self, *args, **kwargs):
    calls["n"] += 1
    if calls["n"] == kill_at:
        os._exit(9)  # the page was fetched; the process dies before its commit
    return real(self, *args, **kwargs)

Store.save_page = save_page
pull(settings, open_store(settings.database_url))
"""


def test_killed_mid_run_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with run_sandbox(port_base=0, accounts=30, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        for kill_at in (4, 12):  # during Salesforce, then during HubSpot/Zendesk
            done = subprocess.run(
                [sys.executable, "-c", CRASHING_RUN, str(config), url, str(kill_at)],
                capture_output=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 9, done.stderr.decode()[-2000:]
        store = open_store(url)
        assert store.get_cursor("mixpanel.usage_days") is None  # no run got that far
        settings = load_config(config).model_copy(update={"database_url": url})
        report = pull(settings, store)
        assert report.ok, report.stopped
        world = sandbox.world
        for kind, source, expected in (
            (Account, "salesforce", {a.salesforce_id for a in world.accounts}),
            (Account, "hubspot", {a.hubspot_id for a in world.accounts}),
            (Contact, "salesforce", {c.salesforce_id for c in world.contacts}),
            (Ticket, "zendesk", {str(t.id) for t in world.tickets}),
        ):
            ids = [r.id for r in store.load(kind, source=source, include_deleted=True)]
            assert len(ids) == len(set(ids)) and set(ids) == expected, (kind, source)
        store.close()
