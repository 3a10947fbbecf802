"""A made-up source, `fake`, defined only here: what a new vendor's folder holds at its
smallest (a Source with streams and a watermark, and a factory for the registry)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from csbridge.connectors.protocol import Read, SourceContext
from csbridge.http.paginate import Page
from csbridge.models import Account

START = datetime(2026, 11, 1, tzinfo=UTC)
WIDGETS = [
    Account(source="fake", id=f"w{i}", name=f"Widget {i}", updated_at=START + timedelta(days=i))
    for i in range(5)
]


class FakeSource:
    """One stream, `companies`, two accounts a page; its cursor is the last account's day."""

    def __init__(self, context: SourceContext) -> None:
        self.context = context
        self.cursors_seen: list[str | None] = []

    def streams(self) -> Iterator[tuple[str, Read]]:
        yield "companies", self.companies

    def companies(self, cursor: str | None) -> Iterator[Page[Account]]:
        self.cursors_seen.append(cursor)
        since = datetime.fromisoformat(cursor) if cursor else None
        fresh = [w for w in WIDGETS if since is None or (w.updated_at and w.updated_at > since)]
        for i in range(0, len(fresh), 2):
            page = fresh[i : i + 2]
            last = page[-1].updated_at
            yield Page(page, last.isoformat() if last else None)

    def watermark(self, stream: str, token: str) -> datetime | None:
        return datetime.fromisoformat(token)


BUILT: list[FakeSource] = []


def fake_source(context: SourceContext) -> FakeSource:
    """The registry's factory: always configured (it needs no settings)."""
    source = FakeSource(context)
    BUILT.append(source)
    return source
