"""Several processes saving pages into one database at once (e.g. a pull and webhook replicas)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from csbridge.models import Ticket
from csbridge.store import open_store

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from csbridge.models import Ticket
    from csbridge.store import Cursor, open_store

    url, worker = sys.argv[1], int(sys.argv[2])
    store = open_store(url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(30):
        facts = [] if n % 3 == 0 else [
            Ticket(source="zendesk", id=f"{worker}-{n}-{i}", account_id="9", status="open",
                   created_at=t0, updated_at=t0 + timedelta(minutes=n))
            for i in range(5)
        ]
        if n % 2:  # every worker also upserts one shared ticket
            facts.append(Ticket(source="zendesk", id="shared", account_id="9", status=f"w{worker}",
                                created_at=t0, updated_at=t0 + timedelta(minutes=n)))
        # some pages carry no facts: the cursor write alone (read, then write) must not deadlock
        store.save_page(facts, Cursor(f"stream-{worker}", str(n), t0 + timedelta(minutes=n)))
    print("OK", flush=True)
    """
)


def test_concurrent_writers_all_commit(database_url: str) -> None:
    store = open_store(database_url)  # migrate once before the writers start
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, database_url, str(n)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(3)
        ]
        results = [w.communicate(timeout=120) for w in workers]
        for worker, (out, err) in zip(workers, results, strict=True):
            assert worker.returncode == 0, err[-2000:]
            assert out.strip() == "OK"
        tickets = store.load(Ticket)
        assert len(tickets) == 3 * 20 * 5 + 1
        for n in range(3):
            cursor = store.get_cursor(f"stream-{n}")
            assert cursor is not None and cursor.token == "29"
    finally:
        store.close()
