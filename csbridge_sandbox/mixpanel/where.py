"""A small subset of Mixpanel's segmentation expressions, for `where=` on export and engage.

Supported: `properties["k"]` / `event["k"]` (and `properties.k`), string / number / boolean
literals, lists, `datetime(<epoch>)` and `datetime("YYYY-MM-DD[THH:MM:SS]")`, the comparisons
`== != < <= > >=`, `in` / `not in` (value in list, or string in a list property), `defined`,
`and`, `or`, `not` and parentheses. Anything else is a `WhereError` (Mixpanel answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)
    |(?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)|(?P<word>[A-Za-z_$][A-Za-z0-9_$]*))""",
    re.X,
)


class WhereError(ValueError):
    """The expression is outside the supported subset or malformed."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise WhereError(f"unexpected character at {pos}: {text[pos : pos + 10]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value: Any = match.group(kind)
        if kind == "str":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        elif kind == "num":
            value = float(value) if "." in value else int(value)
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", None)

    def take(self, value: Any = None) -> tuple[str, Any]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise WhereError(f"expected {value!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        pred = self.disjunction()
        if self.peek()[0] != "end":
            raise WhereError(f"unexpected {self.peek()[1]!r}")
        return pred

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("word", "or"):
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.negation()
        while self.peek() == ("word", "and"):
            self.take()
            left = _both(left, self.negation())
        return left

    def negation(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.negation()
            return lambda e: not inner(e)
        return self.comparison()

    def comparison(self) -> Predicate:
        if self.peek() == ("op", "("):
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        left = self.value()
        kind, op = self.peek()
        if kind == "word" and op == "defined":
            self.take()
            return lambda e: left(e) is not None
        negate = False
        if (kind, op) == ("word", "not"):
            self.take()
            negate, (kind, op) = True, self.peek()
            if op != "in":
                raise WhereError("expected 'in' after 'not'")
        if op not in ("==", "!=", "<", "<=", ">", ">=", "in"):
            return lambda e: bool(left(e))
        self.take()
        right = self.value()
        return _compare(op, left, right, negate)

    def value(self) -> Callable[[dict[str, Any]], Any]:
        kind, token = self.take()
        if kind in ("str", "num"):
            return lambda e: token
        if kind == "word" and token in ("true", "false", "True", "False"):
            flag = token.lower() == "true"
            return lambda e: flag
        if kind == "word" and token in ("properties", "event"):
            if self.peek() == ("op", "."):
                self.take()
                name = self.take()[1]
            else:
                self.take("[")
                name = self.take()[1]
                self.take("]")
            return lambda e: e.get(name)
        if kind == "word" and token == "datetime":
            self.take("(")
            arg = self.take()[1]
            self.take(")")
            stamp = _epoch(arg)
            return lambda e: stamp
        if (kind, token) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.take()[1])
                if self.peek() == ("op", ","):
                    self.take()
            self.take("]")
            return lambda e: items
        raise WhereError(f"unsupported term {token!r}")


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda e: a(e) or b(e)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda e: a(e) and b(e)


def _epoch(arg: Any) -> float:
    if isinstance(arg, int | float):
        return float(arg)
    try:
        parsed = datetime.fromisoformat(str(arg))
    except ValueError:
        raise WhereError(f"bad datetime {arg!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _compare(
    op: str,
    left: Callable[[dict[str, Any]], Any],
    right: Callable[[dict[str, Any]], Any],
    negate: bool,
) -> Predicate:
    def check(e: dict[str, Any]) -> bool:
        a, b = left(e), right(e)
        try:
            if op == "==":
                return bool(a == b or (isinstance(a, list) and b in a))
            if op == "!=":
                return bool(a != b)
            if op == "in":
                hit = a in b if isinstance(b, list | str) else False
                return hit != negate
            if a is None or b is None:
                return False
            return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
        except TypeError:
            return False

    return check


def compile_where(text: str) -> Predicate:
    """A predicate over a flat property dict (with `$time` added for `time` comparisons)."""
    return _Parser(text).parse()
