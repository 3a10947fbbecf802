"""`csbridge score`'s JSON on every core: chunks of JSON Lines decoded into the model's
columns (`scoring/account_rows.py`), scored and written into the output file by worker
processes, in input order.

The parent only finds where each chunk's lines end (`LineRange`), hands chunks out and
tells each worker where in the file its scored chunk goes: a worker reports its chunk's
size, and once every chunk before it is placed, the parent gives it the offset and the
worker writes it there itself (`os.pwritev`). The results never pass through the
parent, which is what kept its core busy copying. (Stdin and files with carriage
returns are read as text by the parent and sent.) At most `IN_FLIGHT_PER_WORKER` chunks
per worker are out, scored or not, so memory stays flat however long the input. A
chunk's error is raised when its turn comes, so the error reported is the first in the
file, as when scoring in one process. An input of one chunk, one-core machines and
platforms without `fork` are scored and written by this process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from itertools import chain, islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from csbridge.account_files import (
    AccountInput,
    Accounts,
    LineChunk,
    LineRange,
    parse_chunk,
    read_chunks,
)
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoringInputError
from csbridge.scoring.account_rows import RowDecoder
from csbridge.scoring.engine import Batch

IN_FLIGHT_PER_WORKER = 3
MAX_WORKERS = 8  # a container may see more cores than its CPU quota lets it use
FIRST, NEXT = b"\n", b",\n"  # what goes before the first chunk's accounts, and the others'

Chunk = LineChunk | LineRange | list[AccountInput]
Outcome = tuple[bytes, str | None]  # the chunk's JSON rows, or the error message


def write_chunks(engine: Engine, path: str, size: int, fd: int, offset: int) -> int:
    """Write the input's accounts as `score` prints them into the file `fd` from
    `offset` on ("\\n" before the first, ",\\n" between them); the end offset."""
    workers = _cores() if "fork" in multiprocessing.get_all_start_methods() else 1
    decoder = RowDecoder(engine)
    chunks = read_chunks(path, size, ranges=True)
    placed = _Placed(fd, offset)
    ahead: list[Chunk] = []  # one chunk needs no workers
    try:
        for chunk in islice(chunks, 2):
            ahead.append(chunk)
    except CsbridgeError:  # a reading error: the chunk read before it comes first
        for chunk in ahead:
            placed.put(_unwrap(score_chunk(decoder, chunk)))
        raise
    if len(ahead) > 1 and workers > 1:
        with _Workers(decoder, fd, workers) as pool:
            pool.run(chain(ahead, chunks), placed)
    else:
        for chunk in chain(ahead, chunks):
            placed.put(_unwrap(score_chunk(decoder, chunk)))
    return placed.offset


def score_chunk(decoder: RowDecoder, chunk: Chunk) -> Outcome:
    """Parse (JSON Lines) and score one chunk; a bad account is returned as its message."""
    try:
        batch, where = _batch(decoder, chunk)
        text = decoder.engine.score_json(batch)
    except ScoringInputError as exc:
        return b"", f"{where(exc.row)}: {exc}"
    except CsbridgeError as exc:
        return b"", str(exc)
    return text, None


def _batch(decoder: RowDecoder, chunk: Chunk) -> tuple[Batch, Callable[[int], str]]:
    """The chunk as the engine takes it, and where each of its accounts came from: lines
    decoded straight into the model's columns, else read and checked line by line."""
    if isinstance(chunk, list):
        accounts = Accounts.of(chunk)
    else:
        data = chunk.raw() if isinstance(chunk, LineRange) else chunk.text.encode()
        batch = decoder.decode(data, chunk.count)
        if batch is not None:
            path, first = chunk.path, chunk.first  # no blank line: a row is a line
            return batch, lambda row: f"{path} line {first + row}"
        accounts = parse_chunk(chunk)
    batch = decoder.engine.batch(
        accounts.ids, accounts.signals, accounts.indicator_scores, accounts.attributes
    )
    return batch, accounts.wheres.__getitem__


class _Placed:
    """Where the next chunk goes: the chunks are laid end to end from `offset`."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd, self.offset, self.sep = fd, offset, FIRST

    def claim(self, size: int) -> tuple[int, bytes]:
        """The offset and separator of a chunk of `size` bytes (none for an empty one)."""
        if not size:
            return self.offset, b""
        at, sep = self.offset, self.sep
        self.offset += len(sep) + size
        self.sep = NEXT
        return at, sep

    def put(self, rows: bytes) -> None:
        at, sep = self.claim(len(rows))
        if rows:
            try:
                os.pwritev(self.fd, [sep, rows], at)
            except OSError as exc:
                raise unwritable(exc.strerror) from None


class _Workers:
    """Forked processes that score chunks and write them where the parent says.

    Messages: to a worker ("score", k, chunk), ("write", k, offset, separator), None to
    stop; from it ("scored", k, size, error), ("written", k), ("unwritten", reason) when
    the output cannot be written (a full disk), ("failed", traceback).
    """

    def __init__(self, decoder: RowDecoder, fd: int, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.procs: list[BaseProcess] = []
        self.conns: list[Connection] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            proc = context.Process(target=_work, args=(decoder, fd, theirs), daemon=True)
            proc.start()
            theirs.close()
            self.procs.append(proc)
            self.conns.append(ours)
        self.load = [0] * count  # chunks out at each worker, until written
        self.scored: dict[int, tuple[int, int, str | None]] = {}  # k: worker, size, error
        self.placing = 0  # the next chunk to place

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=5 if exc[0] is None else 0)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self.conns:
            conn.close()

    def run(self, chunks: Iterator[Chunk], placed: _Placed) -> None:
        """Hand out and place every chunk; the first chunk's error, in file order."""
        given = 0
        while True:
            try:
                chunk = next(chunks, None)
            except CsbridgeError:  # a reading error: the chunks read before it come first
                self._drain(placed)
                raise
            if chunk is None:
                break
            while min(self.load) >= IN_FLIGHT_PER_WORKER:
                self._receive(placed)
            worker = self.load.index(min(self.load))
            self.conns[worker].send(("score", given, chunk))
            self.load[worker] += 1
            given += 1
        self._drain(placed)

    def _drain(self, placed: _Placed) -> None:
        while any(self.load):
            self._receive(placed)

    def _receive(self, placed: _Placed) -> None:
        for conn in wait(self.conns):
            assert isinstance(conn, Connection)
            worker = self.conns.index(conn)
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the worker died (a socket pair: reset, or EOF)
                self.procs[worker].join(timeout=5)
                code = self.procs[worker].exitcode
                raise CsbridgeError(
                    f"a scoring worker stopped unexpectedly (exit code {code}): "
                    "is the machine out of memory?"
                ) from None
            if message[0] == "unwritten":
                raise unwritable(message[1])
            if message[0] == "failed":
                raise RuntimeError(f"a scoring worker failed:\n{message[1]}")
            if message[0] == "written":
                self.load[worker] -= 1
                continue
            _, k, size, error = message
            self.scored[k] = (worker, size, error)
        self._place(placed)

    def _place(self, placed: _Placed) -> None:
        while self.placing in self.scored:
            worker, size, error = self.scored.pop(self.placing)
            if error is not None:
                raise CsbridgeError(error)
            at, sep = placed.claim(size)
            self.conns[worker].send(("write", self.placing, at, sep))
            self.placing += 1


def _work(decoder: RowDecoder, fd: int, conn: Connection) -> None:
    """A worker's loop: score what it is given, keep it until told where to write it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers
    held: dict[int, bytes] = {}
    try:
        while (message := conn.recv()) is not None:
            if message[0] == "score":
                _, k, chunk = message
                rows, error = score_chunk(decoder, chunk)
                held[k] = rows
                conn.send(("scored", k, len(rows), error))
            else:
                _, k, at, sep = message
                rows = held.pop(k)
                if rows:
                    try:
                        os.pwritev(fd, [sep, rows], at)
                    except OSError as exc:
                        conn.send(("unwritten", exc.strerror))
                        return
                conn.send(("written", k))
    except EOFError:
        return  # the parent has gone
    except BaseException:
        conn.send(("failed", traceback.format_exc()))


def unwritable(reason: str | None) -> CsbridgeError:
    """The error for output that cannot be written (a full disk, a closed pipe)."""
    return CsbridgeError(f"cannot write the output ({reason or 'an OS error'})")


def _unwrap(outcome: Outcome) -> bytes:
    rows, error = outcome
    if error is not None:
        raise CsbridgeError(error)
    return rows


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return min(cores, MAX_WORKERS)
