"""Items kept on disk a batch at a time, read back in order: memory bounded by a batch.

`csbridge run` scores the portfolio a batch at a time but stores the score history
only after the CRM writes (and not at all when it lost the run lock), so each
account's history entry waited in memory until the end: about 3 KB an account, the
largest thing the run kept. A `Spool` holds them instead in an anonymous temporary
file (pickled, one batch per `add`; the file is gone once closed or the process ends)
and gives them back one batch at a time to `save_history`.

Only the process that wrote the file reads it back, so pickle is safe here.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Spool(Generic[T]):
    """Batches of items appended to a temporary file, iterated back item by item."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `close`
        self._batches = 0

    def add(self, items: Sequence[T]) -> None:
        """Append one batch (its items in order)."""
        self._file.seek(0, 2)
        pickle.dump(list(items), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._batches += 1

    def __iter__(self) -> Iterator[T]:
        """Every item added, in order, reading one batch into memory at a time."""
        self._file.seek(0)
        for _ in range(self._batches):
            batch: list[T] = pickle.load(self._file)  # our own file (see the module doc)
            yield from batch

    def close(self) -> None:
        """Drop the file (and what it held)."""
        self._file.close()
