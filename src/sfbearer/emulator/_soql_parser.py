"""SOQL's syntax: the query tree and a recursive-descent parser with bounded nesting.

The parser checks syntax, and the rules Salesforce states about where a construct may
appear (semi-joins at the top level of WHERE, FIELDS() with a LIMIT, aliases only in
aggregate queries); names and types are bound to the schema by :func:`._soql_plan.prepare`.
"""

from __future__ import annotations

from datetime import date

from ._soql_ast import (
    AGGREGATES,
    RANGES,
    Aggregate,
    Cond,
    FieldRef,
    FieldsCall,
    Literal,
    OrderKey,
    Query,
)
from ._soql_lexer import SoqlError, Token, error_at, tokenize, unescape
from .schema import parse_datetime

__all__ = [
    "AGGREGATES",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "RANGES",
    "Aggregate",
    "Cond",
    "FieldRef",
    "FieldsCall",
    "Literal",
    "Query",
    "parse",
]

MAX_QUERY_LENGTH = 100_000
MAX_DEPTH = 64
MAX_SEMI_JOINS = 2
FIELDS_LIMIT = 200  # FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most this


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.in_having = False
        self.semi_allowed = True  # semi-joins only in the outer query's WHERE
        self.nested_semi = False  # inside a semi-join's own query

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.tokens[min(self.i + n, len(self.tokens) - 1)]

    def fail(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return error_at(
            self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{tok.text[:80]}'"
        )

    def refuse(self, pos: int, message: str, code: str = "MALFORMED_QUERY") -> SoqlError:
        return error_at(self.text, pos, code, message)

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

    def accept_word(self, word: str) -> bool:
        """A word that is no reserved keyword (``SECURITY_ENFORCED``, ``VIEW``)."""
        if self.tok.kind in ("ident", "keyword") and self.tok.upper == word:
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

    def is_call(self, names: frozenset[str] | tuple[str, ...]) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in names and self.peek().text == "("

    def aggregate(self) -> Aggregate:
        func = self.take()
        self.expect("(")
        ref = self.field_ref()
        self.expect(")")
        return Aggregate(func.upper, ref, func.pos)

    def alias(self) -> str | None:
        after = self.peek()  # an alias ends its item: a comma or FROM follows
        if self.tok.kind == "ident" and ":" not in self.tok.text and after.upper in (",", "FROM"):
            return self.take().text
        return None

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit() or len(tok.text) > 9:
            raise self.fail(tok)
        return int(tok.text)

    def select_list(self, kind: str) -> tuple[list[FieldRef | Aggregate], list[FieldsCall],
                                              list[Query], list[int], list[Token]]:  # fmt: skip
        """The items of SELECT; ``kind`` is ``outer``, ``child`` or ``semi``."""
        select: list[FieldRef | Aggregate] = []
        calls: list[FieldsCall] = []
        subqueries: list[Query] = []
        subquery_at: list[int] = []
        aliases: list[Token] = []
        while True:
            if self.tok.text == "(" and self.peek().upper == "SELECT":
                if kind != "outer":  # one level of subquery only
                    raise self.fail(self.peek())
                self.take()
                outer_semi, self.nested_semi = self.nested_semi, True  # none in a subquery
                subqueries.append(self.query("child"))
                self.nested_semi = outer_semi
                subquery_at.append(sum(isinstance(i, FieldRef) for i in select))
                self.expect(")")
            elif self.is_call(("FIELDS",)) and self.peek(2).upper in ("ALL", "STANDARD", "CUSTOM"):
                start = self.take()
                self.expect("(")
                word = self.take().upper
                self.expect(")")
                at = sum(isinstance(i, FieldRef) for i in select)
                calls.append(FieldsCall(word, start.pos, at))
            else:
                if self.is_call(AGGREGATES):
                    if kind != "outer":  # Salesforce allows no aggregate in a subquery
                        raise self.fail()
                    item: FieldRef | Aggregate = self.aggregate()
                else:
                    item = self.field_ref()
                alias_tok = self.tok
                name = self.alias()
                if name is not None:
                    aliases.append(alias_tok)
                    kw = {"alias": name}
                    item = (Aggregate(item.func, item.ref, item.pos, **kw)
                            if isinstance(item, Aggregate) else FieldRef(item.parts, item.pos, **kw))  # fmt: skip
                select.append(item)
            if not self.accept(","):
                break
        return select, calls, subqueries, subquery_at, aliases

    def query(self, kind: str = "outer") -> Query:
        """The outer query, or (``child``/``semi``) a subquery up to its closing parenthesis."""
        select_tok = self.expect("SELECT")
        count = False
        select: list[FieldRef | Aggregate] = []
        calls: list[FieldsCall] = []
        subqueries: list[Query] = []
        subquery_at: list[int] = []
        aliases: list[Token] = []
        if self.tok.upper == "COUNT" and self.peek().text == "(" and self.peek(2).text == ")":
            if kind != "outer":  # Salesforce allows no aggregate in a subquery
                raise self.fail()
            self.i += 3
            count = True
        else:
            select, calls, subqueries, subquery_at, aliases = self.select_list(kind)
        self.expect("FROM")
        obj = self.ident()
        where = None
        if self.accept("WHERE"):
            where = self.condition()
            if kind == "outer":
                self.check_semi_joins(where)
        if kind == "outer" and self.accept("WITH") and not self.accept_word("SECURITY_ENFORCED"):
            raise self.fail()
        group_by: list[FieldRef] = []
        having = None
        if kind == "outer" and self.accept("GROUP"):
            self.expect("BY")
            group_by.append(self.field_ref())
            while self.accept(","):
                group_by.append(self.field_ref())
            if self.accept("HAVING"):
                self.in_having, self.semi_allowed = True, False
                having = self.condition()
                self.in_having = False
        order = self.order_by() if kind != "semi" and self.accept("ORDER") else []
        limit = self.integer() if kind != "semi" and self.accept("LIMIT") else None
        offset = self.integer() if kind != "semi" and self.accept("OFFSET") else None
        locking = ("VIEW", "REFERENCE", "UPDATE")  # accepted, and ignored
        if kind == "outer" and self.accept("FOR") and not any(map(self.accept_word, locking)):
            raise self.fail()
        if self.tok.kind != ("eof" if kind == "outer" else "punct") or (
            kind != "outer" and self.tok.text != ")"
        ):
            raise self.fail()
        fields = tuple(i for i in select if isinstance(i, FieldRef))
        q = Query(obj.text, obj.pos, fields, count, where, tuple(order), limit, offset, self.text,
                  tuple(subqueries), tuple(subquery_at), tuple(select), tuple(calls),
                  tuple(group_by), having)  # fmt: skip
        self.check_select(q, kind, select_tok, aliases)
        return q

    def check_select(self, q: Query, kind: str, select_tok: Token, aliases: list[Token]) -> None:
        if aliases and not q.aggregate:  # an alias names a column of an AggregateResult
            raise self.fail(aliases[0])
        if q.aggregate and (q.subqueries or q.fields_calls or q.count):
            raise self.fail(select_tok)
        for key, _, _ in q.order:
            if isinstance(key, Aggregate) and not q.aggregate:
                raise self.refuse(key.pos, f"unexpected token: '{key.func}'")
        if kind == "semi" and (len(q.select) != 1 or q.fields_calls):
            # A semi-join's query selects exactly one field: an Id or a reference.
            raise self.fail(select_tok)
        unbounded = [c for c in q.fields_calls if c.kind in ("ALL", "CUSTOM")]
        if unbounded and (q.limit is None or q.limit > FIELDS_LIMIT):
            raise self.refuse(unbounded[0].pos, "The SOQL FIELDS function must have a LIMIT of "
                              f"at most {FIELDS_LIMIT}")  # fmt: skip

    def order_by(self) -> list[tuple[OrderKey, bool, bool]]:
        self.expect("BY")
        order: list[tuple[OrderKey, bool, bool]] = []
        while True:
            key: OrderKey = self.aggregate() if self.is_call(AGGREGATES) else self.field_ref()
            desc = self.accept("DESC")
            if not desc:
                self.accept("ASC")
            nulls_last = desc
            if self.accept("NULLS"):
                nulls_last = not self.accept("FIRST")
                if nulls_last:
                    self.expect("LAST")
            order.append((key, desc, nulls_last))
            if not self.accept(","):
                return order

    def check_semi_joins(self, where: Cond) -> None:
        """Semi-joins only as the whole WHERE or a term of its top-level AND; two at most."""
        found: list[Cond] = []

        def walk(cond: Cond, depth: int, parent: str) -> None:
            if cond.sub is not None:
                if parent == "OR" and depth == 1:
                    raise self.refuse(cond.sub.sobject_pos, "Semi join sub-selects are not "
                                      "allowed with the 'OR' operator")  # fmt: skip
                if depth > 1 or parent == "NOT":
                    raise self.refuse(cond.sub.sobject_pos, "Semi join sub-selects are only "
                                      "allowed at the top level WHERE expressions.")  # fmt: skip
                found.append(cond)
                if len(found) > MAX_SEMI_JOINS:
                    raise self.refuse(cond.sub.sobject_pos, f"Maximum {MAX_SEMI_JOINS} semi "
                                      "join sub-selects are allowed")  # fmt: skip
            for item in cond.items:
                walk(item, depth + 1, cond.op)

        walk(where, 0, "")

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise error_at(self.text, self.tok.pos, "MALFORMED_QUERY", "query is nested too deeply")

    def condition(self) -> Cond:
        """One level of AND or OR: Salesforce refuses to mix them without parentheses."""
        self.nested()
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
            self.nested()
            inner = self.unary()
            self.depth -= 1
            return Cond("NOT", (inner,))
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        agg = self.aggregate() if self.in_having and self.is_call(AGGREGATES) else None
        ref = agg.ref if agg is not None else self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.take()
            op = "<>" if tok.text == "!=" else tok.text
            return Cond(op, ref=ref, values=(self.value(),), agg=agg)
        if self.accept("LIKE"):
            return Cond("LIKE", ref=ref, values=(self.value(),), agg=agg)
        negate = self.accept("NOT")
        if not self.accept("IN"):
            raise self.fail()
        op = "NOT IN" if negate else "IN"
        self.expect("(")
        if self.tok.upper == "SELECT" and self.tok.kind == "keyword":
            return Cond(op, ref=ref, sub=self.semi_join())
        values = [self.value()]
        while self.accept(","):
            values.append(self.value())
        self.expect(")")
        return Cond(op, ref=ref, values=tuple(values), agg=agg)

    def semi_join(self) -> Query:
        """``(SELECT AccountId FROM Contact WHERE ...)`` after ``IN``, up to its parenthesis."""
        if self.nested_semi:
            raise self.refuse(self.tok.pos, "Nesting of semi join sub-selects is not supported")
        if not self.semi_allowed:
            raise self.fail()
        self.nested_semi = True
        sub = self.query("semi")
        self.nested_semi = False
        self.expect(")")
        return sub

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
            takes_n = "_N_" in name or name.startswith("N_")
            # N is an integer of at most nine digits, like LIMIT's (and int() refuses
            # strings of thousands of digits with a ValueError).
            if name in RANGES and bool(n) == takes_n and len(n) <= 9:
                return Literal("range", (name, int(n or 0)), tok.pos, tok.text)
        raise self.fail(tok)


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
