"""Opening the database: URL normalisation, SQLite pragmas, migrations on start.

`open_store(url)` is what commands call: it connects (SQLite file by default, any
PostgreSQL URL), applies the packaged migrations, and returns a `Store`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, OperationalError

from csbridge.errors import CsbridgeError
from csbridge.store import migrate


def normalise_url(url: str) -> URL:
    """Parse a database URL; plain `postgresql://` / `postgres://` use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CsbridgeError(
            "database_url: not a database URL; use sqlite:///./csbridge.db or "
            "postgresql://user:pass@host/db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise CsbridgeError(
            f"database_url: {parsed.drivername} is not supported; use sqlite or postgresql"
        )
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL, in-memory or `file:` URI databases."""
    parsed = normalise_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite files get WAL, a busy timeout and their parent folder."""
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def connect_and_migrate(url: str, *, apply_migrations: bool = True) -> Engine:
    """Connect and (by default) bring the schema to the newest revision."""
    engine = make_engine(url)
    try:
        if apply_migrations:
            migrate.upgrade(engine)
        else:
            with engine.connect():
                pass
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "connection failed"
        raise CsbridgeError(
            f"database_url: cannot use {safe_url(engine.url)} ({reason}); "
            "check the URL in the config or CSBRIDGE_DATABASE_URL"
        ) from None
    return engine
