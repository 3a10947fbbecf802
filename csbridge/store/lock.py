"""One `csbridge run` at a time per store: a PostgreSQL advisory lock, or a lock file.

PostgreSQL: `pg_try_advisory_lock` on a connection held for the whole run; the server
releases it if the process dies. SQLite: an exclusive `flock` on `<database>.lock`
beside the database file; the kernel releases it if the process dies. Either way a
second run started meanwhile fails at once with `RunLockedError`, never waits.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from csbridge.errors import CsbridgeError
from csbridge.store.store import Store

ADVISORY_KEY = 0x637362726964  # "csbrid": a fixed key every csbridge run agrees on


class RunLockedError(CsbridgeError):
    """Another run holds the store's lock."""


@contextmanager
def run_lock(store: Store, name: str = "run") -> Iterator[None]:
    """Hold the store's run lock for the block, or raise `RunLockedError` at once."""
    if store.engine.dialect.name == "postgresql":
        with _advisory(store, name):
            yield
        return
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory database: nobody else can run against it
        return
    with _file_lock(Path(f"{database}.lock"), store.url):
        yield


@contextmanager
def _advisory(store: Store, name: str) -> Iterator[None]:
    key = ADVISORY_KEY + sum(name.encode())
    with store.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        conn.commit()
        if not got:
            raise RunLockedError(
                f"another csbridge {name} holds the lock on {store.url}; "
                "wait for it to finish (runs never overlap)"
            )
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@contextmanager
def _file_lock(path: Path, url: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunLockedError(
                f"another csbridge run (pid {holder}) holds {path} for {url}; "
                "wait for it to finish (runs never overlap)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
