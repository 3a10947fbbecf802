"""Subprocess entry for the worker tests: `drain URL [BARRIER_DIR N]` or `claim-and-die URL`.

With a barrier, a drain starts only once N drains are ready (each leaves a file in
BARRIER_DIR): on a loaded machine one process could otherwise drain every row before
the other has even imported csbridge.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from csbridge.store.store import open_store
from csbridge.webhooks import inbox, worker
from csbridge.webhooks.alert import Alert, ReactionOutcome


def slow_react(alert: Alert) -> ReactionOutcome:
    time.sleep(0.002)
    return ReactionOutcome("processed", f"handled by {os.getpid()}")


def main() -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    mode, url = sys.argv[1], sys.argv[2]
    store = open_store(url, apply_migrations=False)
    if mode == "claim-and-die":
        row = inbox.claim(store.engine, datetime.now(UTC), 60)
        print(row.id if row else "none", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    if len(sys.argv) > 3:
        wait_for_the_others(sys.argv[3], int(sys.argv[4]))
    handled = []
    while (done := worker.run_once(store.engine, slow_react)) is not None:
        handled.append(done[0])
    print(" ".join(str(i) for i in handled), flush=True)


def wait_for_the_others(barrier: str, count: int) -> None:
    folder = Path(barrier)
    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.01)


if __name__ == "__main__":
    main()
