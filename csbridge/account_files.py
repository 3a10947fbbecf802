"""Reading accounts to score from JSON (`{"accounts": [...]}`) or JSON Lines, streamed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from csbridge.errors import CsbridgeError

ACCOUNT_KEYS = frozenset({"id", "signals", "indicator_scores", "attributes"})
SECTIONS = ("signals", "indicator_scores", "attributes")
BLOCK = 1 << 20  # bytes read at a time when finding where line ranges end


class AccountInput(NamedTuple):
    """An account as read; `self[:4]` is what `Engine.score_many` takes. A tuple, not a
    dataclass: it is made once per account on the hot path of `score`."""

    id: str
    signals: dict[str, Any]
    indicator_scores: dict[str, Any]
    attributes: dict[str, Any]
    where: str  # "FILE line N" or "FILE accounts[N]", for error messages


@dataclass(frozen=True)
class LineChunk:
    """Consecutive lines of a JSON Lines file, not parsed yet: one text, cheap to send to
    another process, which parses and scores it."""

    path: str
    first: int  # the line number of the chunk's first line
    text: str
    count: int  # how many lines (blank ones too)


@dataclass(frozen=True)
class LineRange:
    """Consecutive lines of a JSON Lines file as a byte range, not read yet: what the
    parent sends a worker, which reads the bytes itself (`read`), parses and scores them."""

    path: str
    first: int  # the line number of the range's first line
    start: int
    end: int
    count: int  # how many lines (blank ones too)

    def raw(self) -> bytes:
        """The range's bytes."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return os.pread(fd, self.end - self.start, self.start)
        finally:
            os.close(fd)

    def read(self) -> LineChunk:
        """The range's text; invalid UTF-8 is an error once the lines before it pass."""
        raw = self.raw()
        try:
            return LineChunk(self.path, self.first, raw.decode("utf-8"), self.count)
        except UnicodeDecodeError as exc:
            before = raw[: raw.rfind(b"\n", 0, exc.start) + 1].decode("utf-8")
            earlier = LineChunk(self.path, self.first, before, before.count("\n"))
            _parse_lines(earlier)  # an error on a line before it comes first
            raise CsbridgeError(f"{self.path}: not UTF-8 text: save the file as UTF-8") from None


def read_accounts(path: str) -> Iterator[AccountInput]:
    """Yield accounts one at a time; JSON Lines is streamed and never held in memory."""
    for chunk in read_chunks(path):
        if isinstance(chunk, list):
            yield from chunk
        else:
            yield from _parse_lines(chunk.read() if isinstance(chunk, LineRange) else chunk)


def read_chunks(
    path: str, size: int = 2048, *, ranges: bool = False
) -> Iterator[LineChunk | LineRange | list[AccountInput]]:
    """The input in chunks: JSON Lines as raw `LineChunk`s of `size` lines, read as a
    stream (the file is never held in memory); a JSON document as lists of `size`
    parsed accounts. With `ranges`, a regular JSON Lines file without carriage
    returns comes as `LineRange`s instead, which cost only a scan for line ends."""
    with _open(path) as stream:
        first, skipped = stream.readline(), 0
        while first and not first.strip():
            first, skipped = stream.readline(), skipped + 1
        if not first:
            return
        try:
            head = loads_json(first)
        except json.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "accounts" not in head:
            regular = path != "-" and Path(path).is_file()
            if ranges and regular and (found := _ranges(path, size)) is not None:
                yield from found  # a regular file: a pipe cannot be read twice
                return
            yield from _chunks(stream, path, first, 1 + skipped, size)
            return
        text = first + stream.read()
        accounts = _document(text, path)
        while batch := list(islice(accounts, size)):
            yield batch


@dataclass(frozen=True)
class Accounts:
    """A chunk's accounts as columns (sections are dicts, empty where an account has
    none) and where each came from ("FILE line N" or "FILE accounts[N]")."""

    ids: list[str]
    signals: list[dict[str, Any]]
    indicator_scores: list[dict[str, Any]]
    attributes: list[dict[str, Any]]
    wheres: list[str]

    @classmethod
    def of(cls, accounts: Sequence[AccountInput]) -> Accounts:
        return cls(
            [a.id for a in accounts],
            [a.signals for a in accounts],
            [a.indicator_scores for a in accounts],
            [a.attributes for a in accounts],
            [a.where for a in accounts],
        )


def parse_chunk(chunk: LineChunk | LineRange) -> Accounts:
    """The chunk's accounts, each line checked by `parse_account`; CsbridgeError names
    the file and line of the first bad one. (`csbridge score` decodes most chunks
    straight into a model's columns, `scoring/account_rows.py`, and reads a chunk this
    way when that cannot take it as it is.)"""
    if isinstance(chunk, LineRange):
        chunk = chunk.read()
    return Accounts.of(_parse_lines(chunk))


def _parse_lines(chunk: LineChunk) -> list[AccountInput]:
    return list(_lines(chunk.text.split("\n"), chunk.path, chunk.first))


def _chunks(stream: IO[str], path: str, first: str, start: int, size: int) -> Iterator[LineChunk]:
    """The lines `size` at a time (blank ones count); `first` is line number `start`."""
    lines = [first, *islice(stream, size - 1)]
    while lines:
        yield LineChunk(path, start, "".join(lines), len(lines))
        start += len(lines)
        lines = list(islice(stream, size))


def _ranges(path: str, size: int) -> Iterator[LineRange] | None:
    """The file's lines `size` at a time as byte ranges (blank ones count, the first is
    numbered 1), or None when it has a carriage return: text mode reads a lone one as a
    line end, so such a file is read as text to number its lines the same."""
    with Path(path).open("rb") as f:
        while block := f.read(BLOCK):
            if b"\r" in block:
                return None
    return _range_scan(path, size)


def _range_scan(path: str, size: int) -> Iterator[LineRange]:
    """Read in blocks (not mapped: the pages would count in this process's memory)."""
    start, first, lines, offset = 0, 1, 0, 0  # offset: the file position of `block`
    last = b"\n"  # the file's last byte so far
    with Path(path).open("rb") as f:
        while block := f.read(BLOCK):
            last = block[-1:]
            at = block.find(b"\n")
            while at != -1:
                lines += 1
                if lines == size:  # a range ends after its size-th newline
                    yield LineRange(path, first, start, offset + at + 1, size)
                    start, first, lines = offset + at + 1, first + size, 0
                at = block.find(b"\n", at + 1)
            offset += len(block)
    if start < offset:
        yield LineRange(path, first, start, offset, lines + (last != b"\n"))


@contextmanager
def _open(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin
        return
    try:
        stream = Path(path).open(encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CsbridgeError(f"{path}: cannot read the input file ({exc.strerror})") from None
    try:
        yield stream
    except UnicodeDecodeError:
        raise CsbridgeError(f"{path}: not UTF-8 text: save the file as UTF-8") from None
    finally:
        stream.close()


def _lines(stream: Iterable[str], path: str, start: int) -> Iterator[AccountInput]:
    for lineno, line in enumerate(stream, start=start):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            data = loads_json(line)
        except json.JSONDecodeError as exc:
            raise CsbridgeError(
                f"{where}: invalid JSON ({exc.msg}): one account per line"
            ) from None
        yield parse_account(data, where)


def loads_json(text: str) -> Any:
    """orjson's speed; the standard library's reading of NaN and its error positions."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _document(text: str, path: str) -> Iterator[AccountInput]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CsbridgeError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        raise CsbridgeError(
            f'{path}: expected {{"accounts": [...]}} or JSON Lines with one account per line'
        )
    for i, item in enumerate(accounts):
        yield parse_account(item, f"{path} accounts[{i}]")


def parse_account(data: Any, where: str) -> AccountInput:
    """One account object checked like `score` checks it; errors name `where`."""
    if not isinstance(data, dict):
        raise CsbridgeError(f"{where}: an account is a JSON object with an id")
    if not data.keys() <= ACCOUNT_KEYS:
        raise CsbridgeError(
            f"{where}: unknown key {sorted(data.keys() - ACCOUNT_KEYS)[0]!r}: an account has "
            "id, signals, indicator_scores, attributes"
        )
    account_id = data.get("id")
    if not isinstance(account_id, str) or not account_id:
        raise CsbridgeError(f"{where}: id must be a non-empty string, got {account_id!r}")
    signals, scores, attributes = [data.get(key) or {} for key in SECTIONS]
    for key, value in zip(SECTIONS, (signals, scores, attributes), strict=True):
        if not isinstance(value, dict):
            raise CsbridgeError(f"{where}: account {account_id!r}: {key} must be an object")
    return AccountInput(account_id, signals, scores, attributes, where)
