"""Durable state: facts upserted by natural key, cursors, runs, ledgers, inbox (SQLAlchemy Core).

SQLite file by default, any PostgreSQL URL through `database_url` or
`CSBRIDGE_DATABASE_URL`; migrations (Alembic) ship inside the package.
"""

from csbridge.store.facts import FactRef
from csbridge.store.store import Cursor, CursorRegressionError, Store, open_store

__all__ = ["Cursor", "CursorRegressionError", "FactRef", "Store", "open_store"]
