"""Crash test: SIGKILL between writing a page's facts and committing its cursor.

A child process pulls three overlapping pages (each re-reads the previous page's last
ticket, like a lookback). On the second page it is killed after the facts are written
but before the cursor is, inside the transaction. The store must keep the old cursor
and none of that page's facts; a rerun resumes there and stores every ticket once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

from sqlalchemy import func, select

from csbridge.models import Ticket
from csbridge.store import open_store
from csbridge.store.tables import tickets

STREAM = "zendesk.tickets"

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from csbridge.models import Ticket
    from csbridge.store import Cursor, open_store
    import csbridge.store.store as store_module

    url, mode = sys.argv[1], sys.argv[2]
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    store = open_store(url)

    def page(n):
        first = max(0, n * 10 - 1)  # overlap: re-read the previous page's last ticket
        return [
            Ticket(source="zendesk", id=str(i), account_id="9", status="open",
                   created_at=t0, updated_at=t0 + timedelta(hours=n, minutes=i))
            for i in range(first, n * 10 + 10)
        ]

    def hang(*args, **kwargs):
        print("WRITTEN", flush=True)
        time.sleep(120)

    cursor = store.get_cursor("zendesk.tickets")
    start = 0 if cursor is None else int(cursor.token) + 1
    for n in range(start, 3):
        if mode == "crash" and n == 1:
            store_module.write_cursor = hang
        store.save_page(page(n), Cursor("zendesk.tickets", str(n), t0 + timedelta(hours=n)))
        print(f"PAGE {n}", flush=True)
    print("DONE", flush=True)
    """
)


def run_child(database_url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url, mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_kill_between_facts_and_cursor_loses_nothing_and_duplicates_nothing(
    database_url: str,
) -> None:
    child = run_child(database_url, "crash")
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line.strip())
        if line.strip() == "WRITTEN":
            break
    assert lines == ["PAGE 0", "WRITTEN"]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    store = open_store(database_url)
    try:
        cursor = store.get_cursor(STREAM)
        assert cursor is not None and cursor.token == "0"
        assert sorted(int(t.id) for t in store.load(Ticket)) == list(range(10))

        rerun = run_child(database_url, "normal")
        out, _ = rerun.communicate(timeout=120)
        assert rerun.returncode == 0
        assert out.split() == ["PAGE", "1", "PAGE", "2", "DONE"]

        cursor = store.get_cursor(STREAM)
        assert cursor is not None and cursor.token == "2"
        stored = store.load(Ticket)
        assert sorted(int(t.id) for t in stored) == list(range(30))
        with store.engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(tickets)).scalar_one()
        assert rows == 30
        by_id = {t.id: t for t in stored}
        assert by_id["9"].updated_at == datetime(2026, 3, 1, 1, 9, tzinfo=UTC)  # page 1's version
    finally:
        store.close()
