"""`csbridge score`: score accounts from a JSON or JSON Lines file with a scoring model."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, Any, NoReturn

from csbridge.account_files import read_accounts
from csbridge.commands.score_pool import unwritable, write_chunks
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, ScoreResult, ScoringInputError, load_model
from csbridge.tables import format_table

BATCH_SIZE = 2048


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score accounts from a JSON or JSON Lines file",
        description="Score accounts with a model (a preset or a YAML file) and print the result.",
    )
    parser.add_argument("--model", default="seed-5d", help="seed-5d, seed-6d or a YAML path")
    parser.add_argument(
        "--input", required=True, help='JSON {"accounts": [...]} or JSON Lines; - for stdin'
    )
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.add_argument(
        "--output", help="write here instead of stdout (replaced only when every account scored)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = Engine(load_model(args.model))
    with _output(args.output) as out:
        if args.format == "json":
            write_json(engine, args.input, out)
        else:
            table = table_text(engine, score_file(engine, args.input)).encode()
            _write(lambda: out.write(table))
    return 0


def _write(step: Callable[[], object]) -> None:
    """Run one step of writing the output; a full disk or a closed file is one line."""
    try:
        step()
    except BrokenPipeError:
        raise  # the reader of stdout stopped: see `_reader_gone`
    except OSError as exc:
        raise unwritable(exc.strerror) from None


def _reader_gone() -> NoReturn:
    """The program reading stdout stopped early (`csbridge score ... | head`): stop
    quietly, with the status of a process a broken pipe ends (128 + SIGPIPE), as other
    command-line tools do; stdout goes to /dev/null so that nothing tries it again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(128 + signal.SIGPIPE)


def score_file(engine: Engine, path: str) -> Iterator[ScoreResult]:
    """Score the file's accounts a batch at a time (memory is bounded by one batch,
    whatever the file's size); errors name the file and line."""
    accounts = read_accounts(path)
    while batch := list(islice(accounts, BATCH_SIZE)):
        try:
            yield from engine.score_many([account[:4] for account in batch])
        except ScoringInputError as exc:
            raise CsbridgeError(f"{batch[exc.row].where}: {exc}") from None


def write_json(engine: Engine, path: str, out: IO[bytes]) -> None:
    """Write `{"model": ..., "accounts": [...]}`, one account per line, as UTF-8 bytes;
    the accounts are written into `out`'s file a chunk at a time, by worker processes
    on a machine with several cores (`score_pool.py`)."""
    model = json.dumps({"name": engine.model.name, "hash": engine.model_hash})
    head = f'{{"model": {model}, "accounts": ['.encode()
    _write(lambda: (out.write(head), out.flush()))
    end = write_chunks(engine, path, BATCH_SIZE, out.fileno(), len(head))
    _write(lambda: (out.seek(end), out.write(b"\n]}\n"), out.truncate()))


def table_text(engine: Engine, results: Iterable[ScoreResult]) -> str:
    """A table sized to the data: score, status, segment, coverage, each dimension, top driver.

    Sizing columns needs every row first: the table is for people; JSON streams.
    """
    dims = engine.dimension_names
    header = ["account", "score", "status", "segment", "coverage", *dims, "weakest"]
    rows = []
    for r in results:
        dim_cells = [_num(d.score) for d in r.dimensions]
        weakest = next((d.indicator for d in r.drivers if d.impact < 0), "")
        cells = [r.account_id, _num(r.score), r.status, r.segment, f"{r.coverage:.0%}"]
        rows.append([*cells, *dim_cells, weakest])
    numbers = [1, 4, *range(5, 5 + len(dims))]  # score, coverage, the dimensions
    return format_table(header, rows, right=numbers)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


@contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    """Where results go: nothing is written unless every account scored.

    To a file: a temporary file beside it, renamed at the end. To stdout: an unnamed
    temporary file (workers write into it at offsets, so it is a real file) copied out
    at the end.
    """
    if path is None:
        with tempfile.TemporaryFile() as buffer:
            yield buffer
            buffer.seek(0)
            try:
                _write(sys.stdout.flush)
                _write(lambda: shutil.copyfileobj(buffer, sys.stdout.buffer))
                _write(sys.stdout.buffer.flush)
            except BrokenPipeError:
                _reader_gone()
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        stream = tmp.open("wb")
    except OSError as exc:
        raise CsbridgeError(f"{path}: cannot write the output ({exc.strerror})") from None
    try:
        with stream:
            yield stream
        _write(lambda: os.replace(tmp, target))
    finally:
        tmp.unlink(missing_ok=True)
