"""One csbridge writer at a time per store: a PostgreSQL advisory lock, or a lock file.

`run`, `pull` and the webhook reactions take it. A second one started meanwhile fails
at once with `RunLockedError`, never waits.

PostgreSQL: `pg_try_advisory_lock` on a connection held for the whole run; the server
releases it if the process dies, but also if that connection dies (killed backend,
failover, a proxy's idle timeout) while the process goes on. So the lock yields a
`LockGuard` whose `verify()` asks the lock's own connection whether it still holds the
lock, and raises `LockLostError` (for good) when it does not: writers call it before
each write batch and stop. The key is derived from the database and schema, so two
stores in one PostgreSQL database (two deployments, parallel tests) never block
each other.

SQLite: an exclusive `flock` on `<database>.lock` beside the database file; the kernel
holds it until the process dies, so `verify()` has nothing to check.

Shards (`csbridge run --shard I/N`) run side by side: each holds the store's lock
*shared* (so no whole run, pull or webhook reaction starts meanwhile, and a shard
never starts beside one) and its own shard's lock (`name`) exclusively.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from csbridge.errors import CsbridgeError
from csbridge.store.store import Store

HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid::bigint = :hi AND objid::bigint = :lo"
    " AND objsubid = 1"
)


class RunLockedError(CsbridgeError):
    """Another run holds the store's lock."""


class LockLostError(CsbridgeError):
    """The run no longer holds the store's lock: it must stop writing at once."""

    exit_code = 1  # the run stopped early, like a partial run; nothing to fix before the next


class LockGuard:
    """The "still holding?" check a run calls before each write batch (thread-safe)."""

    def __init__(self, conn: Connection | None = None, key: int = 0, url: str = "") -> None:
        self._conn, self._key, self._url = conn, key, url
        self._mutex = threading.Lock()
        self.lost: str | None = None

    def verify(self) -> None:
        """Raise `LockLostError` unless the lock is still held (always held on SQLite)."""
        if self._conn is None:
            return
        with self._mutex:
            if self.lost is None:
                self.lost = self._check(self._conn)
        if self.lost is not None:
            raise LockLostError(
                f"lost the run lock on {self._url} ({self.lost}); stopped writing. "
                "What landed is recorded and the next run does the rest; if this "
                "repeats, check the database connection (idle timeouts, failovers)"
            )

    def _check(self, conn: Connection) -> str | None:
        params = {"hi": (self._key >> 32) & 0xFFFFFFFF, "lo": self._key & 0xFFFFFFFF}
        try:
            held = conn.execute(HELD, params).scalar_one()
            conn.commit()
        except DBAPIError as exc:
            return f"its database connection failed: {_first_line(exc)}"
        return None if held else "the database no longer lists it"


@contextmanager
def run_lock(store: Store, name: str = "run", *, shared: bool = False) -> Iterator[LockGuard]:
    """Hold the store's lock `name` for the block, or raise `RunLockedError` at once.

    `shared`: any number of holders at once, but none beside an exclusive one.
    """
    if store.engine.dialect.name == "postgresql":
        with _advisory(store, name, shared) as guard:
            yield guard
        return
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield LockGuard()  # a private in-memory database: nobody else can run against it
        return
    path = Path(f"{database}.lock" if name == "run" else f"{database}.{name}.lock")
    with _file_lock(path, store.url, shared):
        yield LockGuard()


def advisory_key(conn: Connection, name: str) -> int:
    """A signed 64-bit key from this store's identity (database, schema) and the lock name."""
    database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
    digest = hashlib.blake2b(f"csbridge/{database}/{schema}/{name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@contextmanager
def _advisory(store: Store, name: str, shared: bool) -> Iterator[LockGuard]:
    conn = store.engine.connect()
    mode = "_shared" if shared else ""
    try:
        key = advisory_key(conn, name)
        got = conn.execute(text(f"SELECT pg_try_advisory_lock{mode}(:k)"), {"k": key}).scalar_one()
        conn.commit()
        if not got:
            raise RunLockedError(
                f"another csbridge {_holder(name)} holds the lock on {store.url}; "
                "wait for it to finish (runs never overlap)"
            )
        guard = LockGuard(conn, key, store.url)
        try:
            yield guard
        finally:
            if guard.lost is None:
                _unlock(conn, key, mode)
    finally:
        with suppress(DBAPIError):
            conn.close()


def _unlock(conn: Connection, key: int, mode: str) -> None:
    """Release the lock, then the connection; a connection that died meanwhile took the
    lock with it, so neither step may fail the run's end."""
    with suppress(DBAPIError):
        conn.execute(text(f"SELECT pg_advisory_unlock{mode}(:k)"), {"k": key})
        conn.commit()


def _holder(name: str) -> str:
    """Who holds lock `name`, for the message: "run (or pull)", or "run of shard 3/8"."""
    if name.startswith("run-shard-"):
        index, _, count = name.removeprefix("run-shard-").partition("-of-")
        return f"run of shard {index}/{count}"
    return "run (or pull)"


def _first_line(exc: DBAPIError) -> str:
    return (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]


@contextmanager
def _file_lock(path: Path, url: str, shared: bool) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunLockedError(
                f"another csbridge run or pull (pid {holder}) holds {path} for {url}; "
                "wait for it to finish (runs never overlap)"
            ) from None
        os.ftruncate(fd, 0)  # shared holders: the last one's pid is shown
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
