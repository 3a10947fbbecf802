"""Subprocess entry for the worker tests: `drain URL` or `claim-and-die URL`."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime

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
    handled = []
    while (done := worker.run_once(store.engine, slow_react)) is not None:
        handled.append(done[0])
    print(" ".join(str(i) for i in handled), flush=True)


if __name__ == "__main__":
    main()
