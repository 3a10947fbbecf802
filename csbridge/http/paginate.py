"""Pages of records, the paginator base and the one page loop every connector uses.

A vendor's paginator (in its connector folder) says, from one page's body, which token
comes next and whether the API marked the end. It never guesses from page size (an
empty page in the middle of an export is legal) and refuses to loop: a token that was
already requested in this run raises `PaginationLoopError` instead of spinning forever.
`follow` is the loop: fetch a page, let the paginator read it, go on until the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
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


def follow(
    pager: Paginator, fetch: Callable[[str | None], Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    """Every page body of one listing: `fetch(None)` (or the pager's first token) first,
    then `fetch(next token)` until the pager says the listing ended.

    The pager reads each body before it is yielded, so `pager.token` is the token after
    the page in hand and a looping API raises before its repeated page is used.
    """
    token = pager.token
    while True:
        body = fetch(token)
        token = pager.advance(body)
        yield body
        if token is None:
            return


def dig(body: Mapping[str, Any], *keys: str) -> Any:
    """The value at `keys` in nested mappings, or None when a level is missing."""
    node: Any = body
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node
