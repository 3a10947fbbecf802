"""`csbridge score`'s JSON on every core: chunks of JSON Lines parsed and scored by
worker processes, the results written in input order.

The parent only finds where each chunk's lines end (`LineRange`) and writes bytes;
each worker (forked, so it shares the compiled model) reads its chunk's bytes from the
file, parses them, scores them with `Engine.score_json` and sends back its JSON.
(Stdin and files with carriage returns are read as text by the parent and sent.) At
most two chunks per worker are in flight, so memory stays flat however long the input.
Results are taken in input order and a chunk's error is raised when its turn comes,
so the error reported is the first in the file, as when scoring in one process. Inputs
of one chunk, JSON documents, one-core machines and platforms without `fork` are
scored in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool

from csbridge.account_files import AccountInput, LineChunk, LineRange, parse_chunk, read_chunks
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoringInputError

IN_FLIGHT_PER_WORKER = 2
MAX_WORKERS = 8  # a container may see more cores than its CPU quota lets it use
_engine: Engine | None = None  # the workers' engine, inherited through fork

Outcome = tuple[bytes, str | None]  # the chunk's JSON rows, or the error message


def json_chunks(engine: Engine, path: str, size: int) -> Iterator[bytes]:
    """The input's accounts as `score` prints them, `size` at a time (",\n"-joined)."""
    workers = _cores() if "fork" in multiprocessing.get_all_start_methods() else 1
    pending: deque[AsyncResult[Outcome]] = deque()
    pool: Pool | None = None
    chunks = 0
    try:
        try:
            for chunk in read_chunks(path, size, ranges=True):
                chunks += 1
                if pool is None and workers > 1 and chunks == 2:
                    pool = _start(engine, workers)  # not for an input of one chunk
                if pool is None or isinstance(chunk, list):
                    yield _unwrap(score_chunk(engine, chunk))
                    continue
                pending.append(pool.apply_async(_score_in_worker, (chunk,)))
                while len(pending) > workers * IN_FLIGHT_PER_WORKER:
                    yield _unwrap(pending.popleft().get())
        except CsbridgeError:  # a reading error: the chunks read before it come first
            while pending:
                yield _unwrap(pending.popleft().get())
            raise
        while pending:
            yield _unwrap(pending.popleft().get())
    finally:
        if pool is not None:
            pool.terminate()


def score_chunk(engine: Engine, chunk: LineChunk | LineRange | list[AccountInput]) -> Outcome:
    """Parse (JSON Lines) and score one chunk; a bad account is returned as its message."""
    try:
        batch = chunk if isinstance(chunk, list) else parse_chunk(chunk)
        text = engine.score_json([account[:4] for account in batch])
    except ScoringInputError as exc:
        return b"", f"{batch[exc.row].where}: {exc}"
    except CsbridgeError as exc:
        return b"", str(exc)
    return text, None


def _score_in_worker(chunk: LineChunk | LineRange) -> Outcome:
    assert _engine is not None, "set before the pool forks"
    return score_chunk(_engine, chunk)


def _unwrap(outcome: Outcome) -> bytes:
    rows, error = outcome
    if error is not None:
        raise CsbridgeError(error)
    return rows


def _start(engine: Engine, workers: int) -> Pool:
    global _engine
    _engine = engine
    return multiprocessing.get_context("fork").Pool(workers)


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return min(cores, MAX_WORKERS)
