"""A SOQL subset: tokenizer, recursive-descent parser, schema binding and evaluator.

Every failure, for any input string, is a :class:`SoqlError` carrying Salesforce's error code
and message style; the parser's nesting is bounded, so no input can exhaust the stack.

Example:
    >>> q = parse("SELECT Id, Name FROM Account WHERE Name LIKE 'Acme%' ORDER BY Name LIMIT 5")
    >>> q.sobject, [f.text for f in q.fields], q.limit
    ('Account', ['Id', 'Name'], 5)
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from .schema import (
    NUMBER_TYPES,
    STRING_TYPES,
    ApiErrorResponse,
    FieldDef,
    SObjectDef,
    get_sobject,
    normalize_id,
    parse_datetime,
)

__all__ = ["MAX_DEPTH", "MAX_QUERY_LENGTH", "Query", "SoqlError", "execute", "parse"]

MAX_QUERY_LENGTH = 100_000
MAX_DEPTH = 64
MAX_OFFSET = 2000
Row = Mapping[str, object]
Lookup = Callable[[str, str], Row | None]


class SoqlError(ApiErrorResponse):
    """A query Salesforce would refuse: ``error_code`` and ``message`` as it sends them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(400, error_code, message)


_KEYWORDS = frozenset((
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "TRUE", "FALSE", "LIKE", "IN", "ORDER",
    "BY", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING",
    "INCLUDES", "EXCLUDES", "WITH", "FOR", "USING", "TYPEOF",
))  # fmt: skip
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
      |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
      |(?P<number>[+-]?\d+(?:\.\d+)?)(?![\w.])
      |(?P<ident>[A-Za-z][A-Za-z0-9_]*(?::\d+)?)
      |(?P<string>'(?:[^'\\]|\\.)*')
      |(?P<op><>|!=|<=|>=|=|<|>)
      |(?P<punct>[(),.])""",
    re.VERBOSE | re.DOTALL | re.ASCII,  # ASCII: no exotic digits reach int() or date()
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
_ESCAPES["\\"] = "\\"


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, op, punct, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


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


def _error(text: str, pos: int, code: str, message: str) -> SoqlError:
    """Salesforce's shape: the query line, a caret under the column, the row/column, a message."""
    pos = max(0, min(pos, len(text)))
    row = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    col = pos - start + 1
    if len(line) > 200:  # keep error bodies small for very long queries
        cut = max(0, col - 100)
        line, col = line[cut : cut + 200], col - cut
    return SoqlError(
        code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"
    )


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            what = "unterminated string literal" if ch == "'" else f"unexpected token: '{ch}'"
            raise _error(text, pos, "MALFORMED_QUERY", what)
        kind = m.lastgroup or "ws"
        if kind != "ws":
            if kind == "ident" and m.group().upper() in _KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _unescape(text: str, raw: str, pos: int, *, like: bool) -> str:
    """A string literal's value; with ``like``, a regular expression for LIKE."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1]
            if nxt.lower() in _ESCAPES or nxt in "\\'\"":
                lit = _ESCAPES.get(nxt.lower(), nxt)
                out.append(re.escape(lit) if like else lit)
            elif nxt in "%_":
                out.append(re.escape(nxt) if like else "\\" + nxt)
            else:
                raise _error(text, pos + i + 1, "MALFORMED_QUERY", "Invalid string literal "
                             f"'{raw[:40]}'. Illegal character sequence '\\{nxt}' in string literal.")  # fmt: skip
            i += 2
            continue
        if like:
            out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return _error(self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{tok.text[:80]}'")

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

    def query(self) -> Query:
        self.expect("SELECT")
        fields: list[FieldRef] = []
        count: FieldRef | bool | None = False
        alias = "expr0"
        if self.tok.upper == "COUNT" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            count = True if self.tok.text == ")" else self.field_ref()
            self.expect(")")
            if count is not True and self.tok.kind == "ident":
                alias = self.ident().text
        else:
            fields.append(self.field_ref())
            while self.accept(","):
                fields.append(self.field_ref())
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
        if self.tok.kind != "eof":
            raise self.fail()
        return Query(obj.text, obj.pos, tuple(fields), count, alias, where, tuple(order),
                     limit, offset, self.text)  # fmt: skip

    def condition(self) -> Cond:
        """One level of AND or OR: Salesforce refuses to mix them without parentheses."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, self.tok.pos, "MALFORMED_QUERY", "query is nested too deeply")
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
                raise _error(self.text, self.tok.pos, "MALFORMED_QUERY", "query is nested too deeply")  # fmt: skip
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
            return Literal(
                "string", _unescape(self.text, raw, tok.pos + 1, like=False), tok.pos, raw
            )
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
            if name in _RANGES and bool(n) == takes_n:
                return Literal("range", (name, int(n or 0)), tok.pos, tok.text)
        raise self.fail(tok)


_RANGES = frozenset((
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


def date_range(name: str, n: int, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) instants (UTC days) a date literal such as ``LAST_N_DAYS:7`` covers."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    day = timedelta(days=1)
    week = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday

    def month(offset: int) -> tuple[datetime, datetime]:
        index = today.year * 12 + today.month - 1 + offset
        start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        nxt = index + 1
        return start, datetime(nxt // 12, nxt % 12 + 1, 1, tzinfo=UTC)

    def year(offset: int) -> tuple[datetime, datetime]:
        y = today.year + offset
        return datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC)

    n = min(n, 36500)  # a century either way keeps datetime arithmetic in range
    table: dict[str, Callable[[], tuple[datetime, datetime]]] = {
        "TODAY": lambda: (today, today + day),
        "YESTERDAY": lambda: (today - day, today),
        "TOMORROW": lambda: (today + day, today + 2 * day),
        "LAST_WEEK": lambda: (week - 7 * day, week),
        "THIS_WEEK": lambda: (week, week + 7 * day),
        "NEXT_WEEK": lambda: (week + 7 * day, week + 14 * day),
        "LAST_MONTH": lambda: month(-1),
        "THIS_MONTH": lambda: month(0),
        "NEXT_MONTH": lambda: month(1),
        "LAST_YEAR": lambda: year(-1),
        "THIS_YEAR": lambda: year(0),
        "NEXT_YEAR": lambda: year(1),
        "LAST_90_DAYS": lambda: (today - 90 * day, today + day),
        "NEXT_90_DAYS": lambda: (today + day, today + 91 * day),
        "LAST_N_DAYS": lambda: (today - n * day, today + day),
        "NEXT_N_DAYS": lambda: (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": lambda: (today - n * day, today - (n - 1) * day),
    }
    return table[name]()


# --- binding and evaluation ------------------------------------------------------------------

_HINT_COLUMN = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)


@dataclass(frozen=True)
class _Path:
    """A field path bound to the schema: the references walked, then the final field."""

    refs: tuple[FieldDef, ...]
    target: FieldDef

    def value(self, row: Row, lookup: Lookup) -> object:
        current: Row | None = row
        for ref in self.refs:
            parent_id = current.get(ref.name) if current is not None else None
            if not isinstance(parent_id, str):
                return None
            current = lookup(ref.reference_to[0], parent_id)
        return current.get(self.target.name) if current is not None else None


def resolve_sobject(query: Query) -> SObjectDef:
    """The queried type, or ``INVALID_TYPE`` as Salesforce words it."""
    obj = get_sobject(query.sobject)
    if obj is None:
        raise _error(query.text, query.sobject_pos, "INVALID_TYPE",
                     f"sObject type '{query.sobject}' is not supported. If you are attempting "
                     "to use a custom object, be sure to append the '__c' after the entity "
                     "name. Please reference your WSDL or the describe call for the "
                     "appropriate names.")  # fmt: skip
    return obj


def _bind(query: Query, obj: SObjectDef, ref: FieldRef) -> _Path:
    parts = ref.parts
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and not obj.relationship(parts[0]):
        parts = parts[1:]  # ``SELECT Account.Name FROM Account`` names the object itself
    current, refs = obj, []
    for part in parts[:-1]:
        rel = current.relationship(part)
        parent = get_sobject(rel.reference_to[0]) if rel is not None else None
        if rel is None or parent is None:
            raise _error(query.text, ref.pos, "INVALID_FIELD",
                         f"Didn't understand relationship '{part}' in field path. If you are "
                         "attempting to use a custom relationship, be sure to append the '__r' "
                         "after the custom relationship name. Please reference your WSDL or the "
                         "describe call for the appropriate names.")  # fmt: skip
        refs.append(rel)
        current = parent
    target = current.field(parts[-1])
    if target is None:
        raise _error(
            query.text,
            ref.pos,
            "INVALID_FIELD",
            f"No such column '{parts[-1]}' on entity '{current.name}'. {_HINT_COLUMN}",
        )
    return _Path(tuple(refs), target)


def _key(ftype: str, value: object) -> object:
    """A stored value in a form that compares and sorts the way Salesforce does."""
    if value is None:
        return None
    if ftype in ("date", "datetime"):
        text = str(value)
        return parse_datetime(text if "T" in text else text + "T00:00:00Z")
    if ftype in NUMBER_TYPES:
        return float(value) if isinstance(value, int | float) else None
    if ftype == "boolean":
        return bool(value)
    if ftype in ("id", "reference"):
        return normalize_id(value) or str(value)
    return str(value).casefold()


_TYPE_WORDS = {"boolean": "boolean", "date": "date", "datetime": "dateTime", "id": "id",
               "reference": "id", "int": "integer"}  # fmt: skip
_ACCEPTS = {"boolean": ("boolean",), "date": ("date", "range"), "datetime": ("datetime", "range")}
_ACCEPTS.update(dict.fromkeys(NUMBER_TYPES, ("number",)))


def _literal_key(query: Query, path: _Path, ref: FieldRef, lit: Literal, now: datetime) -> object:
    ftype = path.target.type
    if lit.kind == "null":
        return None
    if lit.kind not in _ACCEPTS.get(ftype, ("string",)):
        word = _TYPE_WORDS.get(ftype, "double" if ftype in NUMBER_TYPES else "string")
        quoted = "" if ftype in STRING_TYPES else "not "
        raise _error(query.text, lit.pos, "INVALID_FIELD",
                     f"value of filter criterion for field '{ref.text}' must be of type {word} "
                     f"and should {quoted}be enclosed in quotes")  # fmt: skip
    if lit.kind == "range" and isinstance(lit.value, tuple):
        try:
            return date_range(str(lit.value[0]), int(lit.value[1]), now)
        except (ValueError, OverflowError):  # a clock moved to the edge of the calendar
            raise _error(
                query.text, lit.pos, "MALFORMED_QUERY", f"invalid date: {lit.raw}"
            ) from None
    if lit.kind == "datetime":
        return lit.value
    if lit.kind == "date" and isinstance(lit.value, date):
        return datetime(lit.value.year, lit.value.month, lit.value.day, tzinfo=UTC)
    if ftype in ("id", "reference"):
        ident = normalize_id(lit.value)
        if ident is None and lit.value != "":
            raise _error(query.text, lit.pos, "INVALID_QUERY_FILTER_OPERATOR",
                         f"invalid ID field: {str(lit.value)[:40]}")  # fmt: skip
        return ident or ""
    return _key(ftype, lit.value)


def _compare(op: str, left: object, right: object) -> bool:
    if isinstance(right, tuple):  # a date literal: [start, end) instants
        if not isinstance(left, datetime):
            return op == "<>"
        start, end = cast("tuple[datetime, datetime]", right)
        inside = start <= left < end
        return {"=": inside, "<>": not inside, "<": left < start, "<=": left < end,
                ">": left >= end, ">=": left >= start}[op]  # fmt: skip
    if right is None or left is None:
        same = left is right
        return same if op == "=" else (not same if op == "<>" else False)
    try:
        return bool(_OPERATORS[op](left, right))
    except TypeError:
        return False


_OPERATORS: dict[str, Callable[[Any, Any], object]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


Predicate = Callable[[Row], bool]


def _compile(query: Query, obj: SObjectDef, cond: Cond, lookup: Lookup, now: datetime) -> Predicate:
    if cond.op in ("AND", "OR", "NOT"):
        parts = [_compile(query, obj, item, lookup, now) for item in cond.items]
        if cond.op == "NOT":
            return lambda row: not parts[0](row)
        combine = all if cond.op == "AND" else any
        return lambda row: combine(p(row) for p in parts)
    assert cond.ref is not None
    ref = cond.ref
    path = _bind(query, obj, ref)
    ftype = path.target.type
    if ftype == "textarea":
        raise _error(
            query.text,
            ref.pos,
            "INVALID_FIELD",
            f"field '{path.target.name}' can not be filtered in a query call",
        )
    if cond.op == "LIKE":
        lit = cond.values[0]
        if ftype not in STRING_TYPES or ftype in ("id", "reference") or lit.kind != "string":
            raise _error(
                query.text,
                ref.pos,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {_TYPE_WORDS.get(ftype, ftype)} field",
            )
        pattern = re.compile(_unescape(query.text, lit.raw, lit.pos + 1, like=True),
                             re.IGNORECASE | re.DOTALL)  # fmt: skip
        return lambda row: (v := path.value(row, lookup)) is not None and bool(
            pattern.fullmatch(str(v)))  # fmt: skip
    if ftype == "boolean" and cond.op in ("<", "<=", ">", ">="):
        raise _error(
            query.text,
            ref.pos,
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator on boolean field",
        )
    keys = [_literal_key(query, path, ref, lit, now) for lit in cond.values]
    if cond.op in ("IN", "NOT IN"):
        want = cond.op == "IN"
        return lambda row: want == any(
            _compare("=", _key(ftype, path.value(row, lookup)), k) for k in keys)  # fmt: skip
    op, right = cond.op, keys[0]
    return lambda row: _compare(op, _key(ftype, path.value(row, lookup)), right)


def _project(
    row: Row, obj: SObjectDef, paths: list[_Path], lookup: Lookup, version: str
) -> dict[str, object]:
    def attributes(sobject: SObjectDef, ident: object) -> dict[str, object]:
        return {
            "type": sobject.name,
            "url": f"/services/data/v{version}/sobjects/{sobject.name}/{ident}",
        }

    out: dict[str, object] = {"attributes": attributes(obj, row.get("Id"))}
    for path in paths:
        target: dict[str, object] | None = out
        current: Row | None = row
        for ref in path.refs:
            assert target is not None
            assert current is not None
            name = ref.relationship_name or ref.name
            parent_id = current.get(ref.name)
            parent = lookup(ref.reference_to[0], parent_id) if isinstance(parent_id, str) else None
            if parent is None:
                target.setdefault(name, None)
                target = current = None
                break
            existing = target.get(name)
            if not isinstance(existing, dict):
                parent_type = get_sobject(ref.reference_to[0]) or obj
                existing = {"attributes": attributes(parent_type, parent.get("Id"))}
                target[name] = existing
            target, current = cast("dict[str, object]", existing), parent
        if target is not None and current is not None:
            target[path.target.name] = current.get(path.target.name)
    return out


def _sort(rows: list[Row], order: list[tuple[_Path, bool, bool]], lookup: Lookup) -> list[Row]:
    for path, desc, nulls_last in reversed(order):  # stable sorts, least significant first
        ftype = path.target.type
        keyed = [(_key(ftype, path.value(r, lookup)), r) for r in rows]
        present = [kr for kr in keyed if kr[0] is not None]
        # Mixed types cannot come from validated rows; should they, keep the stored order.
        with contextlib.suppress(TypeError):
            present.sort(key=lambda kr: kr[0], reverse=desc)  # type: ignore[arg-type,return-value]
        nulls = [kr for kr in keyed if kr[0] is None]
        rows = [r for _, r in (present + nulls if nulls_last else nulls + present)]
    return rows


def execute(
    query: Query | str,
    rows_for: Callable[[str], Iterable[Row]],
    *,
    lookup: Lookup,
    now: datetime,
    api_version: str = "68.0",
) -> tuple[int, list[dict[str, object]]]:
    """Run a query and return ``(totalSize, records)`` in Salesforce's JSON shape.

    Args:
        query: a parsed :class:`Query` or SOQL text.
        rows_for: gives the stored rows of one sObject type (canonical field names).
        lookup: ``(sobject, id) -> row | None`` used for relationship paths such as
            ``Account.Name``.
        now: the clock's reading, for date literals such as ``TODAY``.
        api_version: the version in each record's ``attributes.url``.

    Raises:
        SoqlError: any syntax, name, type or range error.
    """
    q = query if isinstance(query, Query) else parse(query)
    obj = resolve_sobject(q)
    paths: list[_Path] = []
    seen: set[tuple[str, ...]] = set()
    for ref in q.fields:
        path = _bind(q, obj, ref)
        key = (*(r.name for r in path.refs), path.target.name)
        if key in seen:
            raise _error(q.text, ref.pos, "INVALID_FIELD", f"duplicate field selected: {ref.text}")
        seen.add(key)
        paths.append(path)
    count_path = _bind(q, obj, q.count) if isinstance(q.count, FieldRef) else None
    predicate = _compile(q, obj, q.where, lookup, now) if q.where is not None else None
    order = []
    for ref, desc, nulls_last in q.order:
        path = _bind(q, obj, ref)
        if path.target.type == "textarea":
            raise _error(
                q.text,
                ref.pos,
                "INVALID_FIELD",
                f"field '{path.target.name}' can not be sorted in a query call",
            )
        order.append((path, desc, nulls_last))
    if q.offset is not None and q.offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    start = q.offset or 0
    end = None if q.limit is None else start + q.limit
    # Without ORDER BY or an aggregate, stop reading rows once LIMIT + OFFSET are met.
    enough = end if not order and count_path is None else None
    matched: list[Row] = []
    for row in rows_for(obj.name):
        if enough is not None and len(matched) >= enough:
            break
        if predicate is None or predicate(row):
            matched.append(row)
    if count_path is not None:
        n = sum(1 for r in matched if count_path.value(r, lookup) is not None)
        return 1, [{"attributes": {"type": "AggregateResult"}, q.alias: n}]
    matched = _sort(matched, order, lookup) if order else matched
    matched = matched[start:end]
    if q.count is True:
        return len(matched), []
    return len(matched), [_project(r, obj, paths, lookup, api_version) for r in matched]
