"""SOQL's syntax: the query tree and a recursive-descent parser with bounded nesting.

The parser checks syntax only; names and types are bound to the schema by
:func:`._soql_plan.prepare`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ._soql_lexer import SoqlError, Token, error_at, tokenize, unescape
from .schema import parse_datetime

__all__ = [
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "RANGES",
    "Cond",
    "FieldRef",
    "Literal",
    "Query",
    "parse",
]

MAX_QUERY_LENGTH = 100_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class FieldRef:
    """A field path as written (``Account.Name``)."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, range
    value: object
    pos: int
    raw: str = ""


@dataclass(frozen=True)
class Cond:
    """A WHERE node: ``op`` is AND/OR/NOT (``items``) or a comparison on ``ref``."""

    op: str
    items: tuple[Cond, ...] = ()
    ref: FieldRef | None = None
    values: tuple[Literal, ...] = ()


@dataclass(frozen=True)
class Query:
    """A parsed, not yet bound, query."""

    sobject: str
    sobject_pos: int
    fields: tuple[FieldRef, ...]
    count: FieldRef | bool | None = False  # False: plain SELECT; True: COUNT(); ref: COUNT(f)
    alias: str = "expr0"
    where: Cond | None = None
    order: tuple[tuple[FieldRef, bool, bool], ...] = ()  # (field, descending, nulls_last)
    limit: int | None = None
    offset: int | None = None
    text: str = field(default="", repr=False)
    subqueries: tuple[Query, ...] = ()  # parent-to-child: ``(SELECT Id FROM Contacts)``
    subquery_at: tuple[int, ...] = ()  # how many fields precede each subquery in SELECT


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return error_at(
            self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{tok.text[:80]}'"
        )

    def take(self) -> Token:
        tok = self.tok
        if tok.kind != "eof":
            self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        if self.tok.upper == word and self.tok.kind in ("keyword", "punct", "op"):
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> Token:
        tok = self.tok
        if not self.accept(word):
            raise self.fail()
        return tok

    def ident(self) -> Token:
        if self.tok.kind != "ident" or ":" in self.tok.text:
            raise self.fail()
        return self.take()

    def field_ref(self) -> FieldRef:
        first = self.ident()
        parts = [first.text]
        while self.accept("."):
            parts.append(self.ident().text)
            if len(parts) > 5:  # Salesforce allows five levels of parent relationships
                raise self.fail()
        return FieldRef(tuple(parts), first.pos)

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit() or len(tok.text) > 9:
            raise self.fail(tok)
        return int(tok.text)

    def query(self, *, inner: bool = False) -> Query:
        """The outer query, or (``inner``) a subquery up to its closing parenthesis."""
        self.expect("SELECT")
        fields: list[FieldRef] = []
        count: FieldRef | bool | None = False
        alias = "expr0"
        subqueries: list[Query] = []
        subquery_at: list[int] = []
        if self.tok.upper == "COUNT" and self.tokens[self.i + 1].text == "(":
            if inner:  # Salesforce allows no aggregate in a parent-to-child subquery
                raise self.fail()
            self.i += 2
            count = True if self.tok.text == ")" else self.field_ref()
            self.expect(")")
            if count is not True and self.tok.kind == "ident":
                alias = self.ident().text
        else:
            while True:
                if self.tok.text == "(" and self.tokens[self.i + 1].upper == "SELECT":
                    if inner:  # one level of subquery only
                        raise self.fail(self.tokens[self.i + 1])
                    self.take()
                    subqueries.append(self.query(inner=True))
                    subquery_at.append(len(fields))
                    self.expect(")")
                else:
                    fields.append(self.field_ref())
                if not self.accept(","):
                    break
        self.expect("FROM")
        obj = self.ident()
        where = self.condition() if self.accept("WHERE") else None
        order: list[tuple[FieldRef, bool, bool]] = []
        if self.accept("ORDER"):
            self.expect("BY")
            while True:
                ref = self.field_ref()
                desc = self.accept("DESC")
                if not desc:
                    self.accept("ASC")
                nulls_last = desc
                if self.accept("NULLS"):
                    nulls_last = not self.accept("FIRST")
                    if nulls_last:
                        self.expect("LAST")
                order.append((ref, desc, nulls_last))
                if not self.accept(","):
                    break
        limit = self.integer() if self.accept("LIMIT") else None
        offset = self.integer() if self.accept("OFFSET") else None
        if self.tok.kind != ("punct" if inner else "eof") or (inner and self.tok.text != ")"):
            raise self.fail()
        return Query(obj.text, obj.pos, tuple(fields), count, alias, where, tuple(order),
                     limit, offset, self.text, tuple(subqueries), tuple(subquery_at))  # fmt: skip

    def condition(self) -> Cond:
        """One level of AND or OR: Salesforce refuses to mix them without parentheses."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise error_at(self.text, self.tok.pos, "MALFORMED_QUERY", "query is nested too deeply")
        items = [self.unary()]
        joiner = ""
        while self.tok.upper in ("AND", "OR") and self.tok.kind == "keyword":
            if joiner and self.tok.upper != joiner:
                raise self.fail()
            joiner = self.take().upper
            items.append(self.unary())
        self.depth -= 1
        return Cond(joiner, tuple(items)) if joiner else items[0]

    def unary(self) -> Cond:
        if self.accept("NOT"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise error_at(self.text, self.tok.pos, "MALFORMED_QUERY", "query is nested too deeply")  # fmt: skip
            inner = self.unary()
            self.depth -= 1
            return Cond("NOT", (inner,))
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        ref = self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.take()
            return Cond("<>" if tok.text == "!=" else tok.text, ref=ref, values=(self.value(),))
        if self.accept("LIKE"):
            return Cond("LIKE", ref=ref, values=(self.value(),))
        negate = self.accept("NOT")
        if not self.accept("IN"):
            raise self.fail()
        self.expect("(")
        values = [self.value()]
        while self.accept(","):
            values.append(self.value())
        self.expect(")")
        return Cond("NOT IN" if negate else "IN", ref=ref, values=tuple(values))

    def value(self) -> Literal:
        tok = self.take()
        if tok.kind == "string":
            raw = tok.text[1:-1]
            return Literal("string", unescape(self.text, raw, tok.pos + 1), tok.pos, raw)
        if tok.kind == "number":
            return Literal("number", float(tok.text), tok.pos)
        if tok.kind == "date":
            try:
                return Literal("date", date.fromisoformat(tok.text), tok.pos)
            except ValueError:
                raise self.fail(tok) from None
        if tok.kind == "datetime":
            moment = parse_datetime(tok.text)
            if moment is None:
                raise self.fail(tok)
            return Literal("datetime", moment, tok.pos)
        if tok.kind == "keyword" and tok.upper in ("TRUE", "FALSE", "NULL"):
            value = None if tok.upper == "NULL" else tok.upper == "TRUE"
            return Literal("null" if value is None else "boolean", value, tok.pos)
        if tok.kind == "ident":
            name, _, n = tok.upper.partition(":")
            takes_n = name.endswith("_N_DAYS") or name.startswith("N_")
            # N is an integer of at most nine digits, like LIMIT's (and int() refuses
            # strings of thousands of digits with a ValueError).
            if name in RANGES and bool(n) == takes_n and len(n) <= 9:
                return Literal("range", (name, int(n or 0)), tok.pos, tok.text)
        raise self.fail(tok)


RANGES = frozenset((
    "TODAY", "YESTERDAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
    "THIS_MONTH", "NEXT_MONTH", "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR", "LAST_90_DAYS",
    "NEXT_90_DAYS", "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO",
))  # fmt: skip


def parse(text: object) -> Query:
    """Parse a SOQL string (syntax only; names are checked by :func:`execute`).

    Raises:
        SoqlError: ``MALFORMED_QUERY`` for anything that is not a query of the subset.
    """
    if not isinstance(text, str) or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'")
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"SOQL statements cannot be longer than {MAX_QUERY_LENGTH:,} characters.",
        )
    return _Parser(text).query()
