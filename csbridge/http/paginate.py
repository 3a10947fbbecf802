"""Small paginators: each stops on its API's own end marker and raises on a repeated token.

A connector asks its paginator for the next token after every page. The paginator never
guesses from page size (an empty page in the middle of a Zendesk export is legal) and
refuses to loop: a token that was already requested in this run raises
`PaginationLoopError` instead of spinning forever.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PaginationLoopError(RuntimeError):
    """The API handed back a pagination token this run already followed."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of typed records plus the cursor value that covers them.

    `cursor` is what the store should persist, in the same transaction as `records`,
    so a crash after this page re-reads from here and never skips. `None` means the
    page does not move the cursor (e.g. a full-refresh stream). Deletions travel as
    records with `deleted=True`.
    """

    records: list[T]
    cursor: str | None = None


class Paginator(ABC):
    """Tracks the tokens followed so far and decides when the listing is finished."""

    def __init__(self, first_token: str | None = None) -> None:
        self.finished = False
        self.pages = 0
        self.token: str | None = first_token
        self._seen: set[str] = set()
        if first_token is not None:
            self._seen.add(first_token)

    @abstractmethod
    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        """Return (next token, whether the API says this was the last page)."""

    def advance(self, body: Mapping[str, Any]) -> str | None:
        """Record one page's response body; return the token of the next page or None at the end.

        Raises PaginationLoopError when the API asks us to follow a token we already followed.
        """
        self.pages += 1
        token, last = self.next_token(body)
        if last or token is None:
            self.finished = True
            if token is not None:
                self.token = token
            return None
        if token in self._seen:
            raise PaginationLoopError(
                f"pagination token repeated after {self.pages} page(s); the API is looping"
            )
        self._seen.add(token)
        self.token = token
        return token


def _dig(body: Mapping[str, Any], *keys: str) -> Any:
    node: Any = body
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


class EndOfStreamPaginator(Paginator):
    """Zendesk cursor-based incremental export: follow `after_cursor` until `end_of_stream`."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = body.get("after_cursor")
        return (str(token) if token else None), bool(body.get("end_of_stream"))


class EndTimePaginator(Paginator):
    """Zendesk time-based export: the next `start_time` is this page's `end_time`, until
    `end_of_stream`. An `end_time` that does not move (over a page of one timestamp) loops."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        end = body.get("end_time")
        return (str(end) if end is not None else None), bool(body.get("end_of_stream"))


class HasMorePaginator(Paginator):
    """Zendesk cursor pagination: `meta.has_more` with `meta.after_cursor` (and `links.next`)."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = _dig(body, "meta", "after_cursor")
        has_more = bool(_dig(body, "meta", "has_more"))
        return (str(token) if token else None), not has_more


class NextRecordsUrlPaginator(Paginator):
    """Salesforce query: follow `nextRecordsUrl` until `done`."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = body.get("nextRecordsUrl")
        return (str(token) if token else None), bool(body.get("done", True))


class AfterPaginator(Paginator):
    """HubSpot list and search: follow `paging.next.after`; its absence is the end."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = _dig(body, "paging", "next", "after")
        return (str(token) if token not in (None, "") else None), token in (None, "")
