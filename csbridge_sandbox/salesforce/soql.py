"""SOQL subset parser for the Salesforce emulator: text -> tokens -> `Query` AST.

Covers what csbridge needs (field lists, relationship paths such as `Owner.Email`,
WHERE with AND/OR/NOT/parentheses, comparison, LIKE, IN, NOT IN, INCLUDES, EXCLUDES,
null/boolean/number/string/date/datetime literals, relative date literals such as
`LAST_N_DAYS:30`, ORDER BY with NULLS FIRST/LAST, LIMIT, OFFSET and `COUNT()`).
Anything else raises `SoqlError("MALFORMED_QUERY", ...)` with a message shaped like
Salesforce's ("ERROR at Row:1:Column:N\\nunexpected token: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES",
    "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL",
    "TRUE", "FALSE", "COUNT",
}  # fmt: skip
UNSUPPORTED = {"GROUP", "HAVING", "TYPEOF", "WITH", "FOR", "USING", "FIELDS", "UPDATE"}
RELATIVE_DATES = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"}
COMPARISON_OPS = {"=", "!=", "<>", "<", "<=", ">", ">="}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<reldate>[A-Za-z_]+:\d+)
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    """A query Salesforce would refuse; `code` is the errorCode (e.g. MALFORMED_QUERY)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # datetime date reldate number string ident op punct eof
    text: str
    col: int  # 1-based column

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class RelativeDate:
    """A SOQL date literal such as TODAY or LAST_N_DAYS:30 (resolved at evaluation)."""

    name: str
    n: int = 0


Literal = str | int | float | bool | None | date | datetime | RelativeDate


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str  # = != < <= > >=
    value: Literal


@dataclass(frozen=True)
class InList:
    path: tuple[str, ...]
    values: tuple[Literal, ...]
    negate: bool


@dataclass(frozen=True)
class Like:
    path: tuple[str, ...]
    pattern: str


@dataclass(frozen=True)
class Includes:
    path: tuple[str, ...]
    values: tuple[str, ...]
    negate: bool  # True for EXCLUDES


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Like | Includes | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    path: tuple[str, ...]
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    text: str
    sobject: str
    fields: tuple[tuple[str, ...], ...]  # empty when count_only
    count_only: bool
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def tokenize(text: str) -> list[Token]:
    """Split SOQL text into tokens; an unknown character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise _malformed(text, pos + 1, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos + 1))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text) + 1))
    return tokens


def _malformed(text: str, col: int, detail: str) -> SoqlError:
    pointer = " " * max(col - 1, 0) + "^"
    return SoqlError(
        "MALFORMED_QUERY", f"\n{text}\n{pointer}\nERROR at Row:1:Column:{col}\n{detail}"
    )


def parse_datetime(text: str) -> datetime:
    """Parse a SOQL datetime literal (`Z` or `+hh:mm`) into an aware UTC datetime."""
    normalised = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalised):
        normalised = normalised[:-2] + ":" + normalised[-2:]
    return datetime.fromisoformat(normalised).astimezone(UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, token: Token | None = None) -> SoqlError:
        token = token or self.tok
        return _malformed(self.text, token.col, f"unexpected token: '{token.text}'")

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.error()
        return self.advance()

    def expect_punct(self, char: str) -> None:
        if not (self.tok.kind == "punct" and self.tok.text == char):
            raise self.error()
        self.advance()

    def advance(self) -> Token:
        token = self.tok
        self.i += 1
        return token

    def path(self) -> tuple[str, ...]:
        token = self.tok
        if token.kind != "ident" or token.upper in KEYWORDS or token.upper in UNSUPPORTED:
            raise self.error()
        self.advance()
        return tuple(token.text.split("."))

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields: list[tuple[str, ...]] = []
        count_only = False
        if self.is_kw("COUNT"):
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            fields.append(self.path())
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                fields.append(self.path())
        self.expect_kw("FROM")
        sobject_token = self.tok
        sobject = self.path()
        if len(sobject) != 1:
            raise self.error(sobject_token)
        where = None
        if self.is_kw("WHERE"):
            self.advance()
            where = self.condition()
        order: list[OrderItem] = []
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            order.append(self.order_item())
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                order.append(self.order_item())
        limit = self.int_clause("LIMIT")
        offset = self.int_clause("OFFSET")
        if self.tok.kind != "eof":
            raise self.error()
        return Query(
            self.text, sobject[0], tuple(fields), count_only, where, tuple(order), limit, offset
        )

    def int_clause(self, word: str) -> int | None:
        if not self.is_kw(word):
            return None
        self.advance()
        token = self.tok
        if token.kind != "number" or not token.text.isdigit():
            raise self.error()
        self.advance()
        return int(token.text)

    def order_item(self) -> OrderItem:
        path = self.path()
        descending = False
        if self.is_kw("ASC", "DESC"):
            descending = self.advance().upper == "DESC"
        nulls_first = not descending
        if self.is_kw("NULLS"):
            self.advance()
            if not self.is_kw("FIRST", "LAST"):
                raise self.error()
            nulls_first = self.advance().upper == "FIRST"
        return OrderItem(path, descending, nulls_first)

    def condition(self) -> Condition:
        # SOQL refuses `a AND b OR c` without parentheses, so one level holds one operator.
        first = self.unary()
        if not self.is_kw("AND", "OR"):
            return first
        op = self.tok.upper
        items = [first]
        while self.is_kw("AND", "OR"):
            if self.tok.upper != op:
                raise self.error()
            self.advance()
            items.append(self.unary())
        return BoolOp(op, tuple(items))

    def unary(self) -> Condition:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        path = self.path()
        token = self.tok
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, self.literal())
        if self.is_kw("LIKE"):
            self.advance()
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise self.error(self.tokens[self.i - 1])
            return Like(path, pattern)
        negate = False
        if self.is_kw("NOT"):
            self.advance()
            negate = True
            if not self.is_kw("IN"):
                raise self.error()
        if self.is_kw("IN"):
            self.advance()
            return InList(path, self.literal_list(), negate)
        if self.is_kw("INCLUDES", "EXCLUDES"):
            excludes = self.advance().upper == "EXCLUDES"
            values = self.literal_list()
            if not all(isinstance(v, str) for v in values):
                raise self.error(token)
            return Includes(path, tuple(str(v) for v in values), excludes)
        raise self.error()

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        if self.is_kw("SELECT"):
            raise _malformed(self.text, self.tok.col, "semi-join sub-selects are not supported")
        values = [self.literal()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "datetime":
            return parse_datetime(token.text)
        if token.kind == "date":
            try:
                return date.fromisoformat(token.text)
            except ValueError as exc:
                raise self.error(token) from exc
        if token.kind == "reldate":
            name, _, n = token.text.partition(":")
            if name.upper() not in RELATIVE_DATES:
                raise self.error(token)
            return RelativeDate(name.upper(), int(n))
        if token.kind == "ident" and token.upper in {"NULL", "TRUE", "FALSE"}:
            return {"NULL": None, "TRUE": True, "FALSE": False}[token.upper]
        if token.kind == "ident" and token.upper in {"TODAY", "YESTERDAY", "TOMORROW"}:
            return RelativeDate(token.upper)
        raise self.error(token)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse(text: str) -> Query:
    """Parse a SOQL statement of the supported subset; raise SoqlError otherwise."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
    for token in tokenize(text):
        if token.kind == "ident" and token.upper in UNSUPPORTED:
            raise _malformed(text, token.col, f"unexpected token: '{token.text}'")
    return _Parser(text).parse()


def literal_repr(value: Any) -> str:
    """How a literal is quoted back in error messages."""
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
