"""`csbridge db upgrade | current`: apply or show the state store's schema migrations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.store.engine import connect_and_migrate, safe_url, sqlite_file
from csbridge.store.migrate import current_revision, head_revision


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="apply or show the state store's migrations")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("upgrade", "apply every pending migration (also done on start)", upgrade),
        ("current", "show the database's revision and the newest one shipped", current),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--config",
            metavar="FILE",
            help="YAML config file (database_url); CSBRIDGE_DATABASE_URL overrides it",
        )
        action.set_defaults(handler=handler)


def _database_url(args: argparse.Namespace) -> str:
    return load_config(args.config).database_url


def upgrade(args: argparse.Namespace) -> int:
    """Bring the schema to the newest revision."""
    url = _database_url(args)
    engine = connect_and_migrate(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    sys.stdout.write(f"{safe_url(url)}: at revision {revision} (head)\n")
    return 0


def current(args: argparse.Namespace) -> int:
    """Print the revision; exit 1 when migrations are pending, 2 when there is no database.

    Only looks: a SQLite file that does not exist is reported, not created empty.
    """
    url = _database_url(args)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise CsbridgeError(
            f"database_url: no database at {path.resolve()}; check the path "
            "(relative paths start in the current directory) or run `csbridge db upgrade`"
        )
    engine = connect_and_migrate(url, apply_migrations=False)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if revision == head else "migrations pending: run `csbridge db upgrade`"
    sys.stdout.write(f"{safe_url(url)}: revision {revision or 'none'}, head {head} ({state})\n")
    return 0 if revision == head else 1
