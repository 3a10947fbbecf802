"""Reading accounts to score from JSON (`{"accounts": [...]}`) or JSON Lines, streamed."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from csbridge.errors import CsbridgeError

ACCOUNT_KEYS = frozenset({"id", "signals", "indicator_scores", "attributes"})


@dataclass(frozen=True, slots=True)
class AccountInput:
    id: str
    signals: dict[str, Any]
    indicator_scores: dict[str, Any]
    attributes: dict[str, Any]
    where: str  # "FILE line N" or "FILE accounts[N]", for error messages


def read_accounts(path: str) -> Iterator[AccountInput]:
    """Yield accounts one at a time; JSON Lines is streamed and never held in memory."""
    with _open(path) as stream:
        first = stream.readline()
        while first and not first.strip():
            first = stream.readline()
        if not first:
            return
        try:
            head = loads_json(first)
        except json.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "accounts" not in head:
            yield parse_account(head, f"{path} line 1")
            yield from _lines(stream, path)
            return
        text = first + stream.read()
        yield from _document(text, path)


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


def _lines(stream: IO[str], path: str) -> Iterator[AccountInput]:
    for lineno, line in enumerate(stream, start=2):
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
    unknown = data.keys() - ACCOUNT_KEYS
    if unknown:
        raise CsbridgeError(
            f"{where}: unknown key {sorted(unknown)[0]!r}: an account has "
            "id, signals, indicator_scores, attributes"
        )
    account_id = data.get("id")
    if not isinstance(account_id, str) or not account_id:
        raise CsbridgeError(f"{where}: id must be a non-empty string, got {account_id!r}")
    sections = []
    for key in ("signals", "indicator_scores", "attributes"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise CsbridgeError(f"{where}: account {account_id!r}: {key} must be an object")
        sections.append(value)
    return AccountInput(account_id, sections[0], sections[1], sections[2], where)
