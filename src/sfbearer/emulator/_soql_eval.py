"""SOQL's semantics: binding a parsed query to the schema, then filtering, sorting, projecting.

Names are matched case-insensitively and every answer uses the canonical spelling; values
compare and sort the way Salesforce does (text case-insensitively, ids in 18 characters,
dates as instants).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from ._soql_ast import Cond, FieldRef, Literal, Query
from ._soql_lexer import compile_like, error_at
from .schema import (
    NUMBER_TYPES,
    STRING_TYPES,
    FieldDef,
    SObjectDef,
    get_sobject,
    no_such_column,
    normalize_id,
    parse_datetime,
)

if TYPE_CHECKING:
    from ._soql_semijoin import JoinSet

__all__ = ["MAX_OFFSET", "Lookup", "Predicate", "Row", "date_range", "resolve_sobject"]

MAX_OFFSET = 2000
Row = Mapping[str, object]
Lookup = Callable[[str, str], Row | None]


def date_range(name: str, n: int, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) instants (UTC days) a date literal such as ``LAST_N_DAYS:7`` covers."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    day = timedelta(days=1)
    week = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday

    here = today.year * 12 + today.month - 1  # this month, counted from year 0

    def months(first: int, count: int = 1) -> tuple[datetime, datetime]:
        """``count`` months from the month ``first`` months from this one."""
        start = min(max(here + first, 12), 9998 * 12)  # kept within years 1 to 9999
        end = min(max(here + first + count, 12), 9998 * 12)
        return (datetime(start // 12, start % 12 + 1, 1, tzinfo=UTC),
                datetime(end // 12, end % 12 + 1, 1, tzinfo=UTC))  # fmt: skip

    quarter = -(here % 3)  # months back to the start of this quarter

    def month(offset: int) -> tuple[datetime, datetime]:
        return months(offset)

    def year(offset: int) -> tuple[datetime, datetime]:
        return months(offset * 12 - today.month + 1, 12)

    n = min(n, 36500)  # a century of days either way keeps datetime arithmetic in range
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
        "LAST_N_WEEKS": lambda: (week - 7 * n * day, week),
        "NEXT_N_WEEKS": lambda: (week + 7 * day, week + 7 * (n + 1) * day),
        "N_WEEKS_AGO": lambda: (week - 7 * n * day, week - 7 * (n - 1) * day),
        "LAST_N_MONTHS": lambda: months(-n, n),
        "NEXT_N_MONTHS": lambda: months(1, n),
        "N_MONTHS_AGO": lambda: months(-n),
        "THIS_QUARTER": lambda: months(quarter, 3),
        "LAST_QUARTER": lambda: months(quarter - 3, 3),
        "NEXT_QUARTER": lambda: months(quarter + 3, 3),
        "LAST_N_QUARTERS": lambda: months(quarter - 3 * n, 3 * n),
        "NEXT_N_QUARTERS": lambda: months(quarter + 3, 3 * n),
        "N_QUARTERS_AGO": lambda: months(quarter - 3 * n, 3),
        "LAST_N_YEARS": lambda: months(-12 * n - today.month + 1, 12 * n),
        "NEXT_N_YEARS": lambda: months(13 - today.month, 12 * n),
        "N_YEARS_AGO": lambda: year(-n),
    }
    # The emulated org's fiscal year is the calendar year (Salesforce's default: it starts
    # in January), so each fiscal literal covers what its calendar namesake does.
    return table[name.replace("_FISCAL", "")]()


# --- binding and evaluation ------------------------------------------------------------------


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
        raise error_at(query.text, query.sobject_pos, "INVALID_TYPE",
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
            raise error_at(query.text, ref.pos, "INVALID_FIELD",
                         f"Didn't understand relationship '{part}' in field path. If you are "
                         "attempting to use a custom relationship, be sure to append the '__r' "
                         "after the custom relationship name. Please reference your WSDL or the "
                         "describe call for the appropriate names.")  # fmt: skip
        refs.append(rel)
        current = parent
    target = current.field(parts[-1])
    if target is None:
        raise error_at(
            query.text,
            ref.pos,
            "INVALID_FIELD",
            no_such_column(parts[-1], current.name).message,
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
        raise error_at(query.text, lit.pos, "INVALID_FIELD",
                     f"value of filter criterion for field '{ref.text}' must be of type {word} "
                     f"and should {quoted}be enclosed in quotes")  # fmt: skip
    if lit.kind == "range" and isinstance(lit.value, tuple):
        try:
            return date_range(str(lit.value[0]), int(lit.value[1]), now)
        except (ValueError, OverflowError):  # a clock moved to the edge of the calendar
            raise error_at(
                query.text, lit.pos, "MALFORMED_QUERY", f"invalid date: {lit.raw}"
            ) from None
    if lit.kind == "datetime":
        return lit.value
    if lit.kind == "date" and isinstance(lit.value, date):
        return datetime(lit.value.year, lit.value.month, lit.value.day, tzinfo=UTC)
    if ftype in ("id", "reference"):
        ident = normalize_id(lit.value)
        if ident is None and lit.value != "":
            raise error_at(query.text, lit.pos, "INVALID_QUERY_FILTER_OPERATOR",
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


def _compile(
    query: Query, obj: SObjectDef, cond: Cond, lookup: Lookup, now: datetime,
    joins: list[JoinSet] | None = None,
) -> Predicate:  # fmt: skip
    """A WHERE clause's predicate; each semi-join's :class:`JoinSet` is added to ``joins``."""
    if cond.op in ("AND", "OR", "NOT"):
        parts = [_compile(query, obj, item, lookup, now, joins) for item in cond.items]
        if cond.op == "NOT":
            return lambda row: not parts[0](row)
        combine = all if cond.op == "AND" else any
        return lambda row: combine(p(row) for p in parts)
    if cond.sub is not None:
        from ._soql_semijoin import compile_semi_join  # it builds on this module

        assert joins is not None, "semi-joins are compiled through compile_condition"
        return compile_semi_join(query, obj, cond, lookup, now, joins)
    assert cond.ref is not None
    ref = cond.ref
    path = _bind(query, obj, ref)
    ftype = path.target.type
    if ftype == "textarea":
        raise error_at(
            query.text,
            ref.pos,
            "INVALID_FIELD",
            f"field '{path.target.name}' can not be filtered in a query call",
        )
    if cond.op == "LIKE":
        lit = cond.values[0]
        if ftype not in STRING_TYPES or ftype in ("id", "reference") or lit.kind != "string":
            raise error_at(
                query.text,
                ref.pos,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {_TYPE_WORDS.get(ftype, ftype)} field",
            )
        like = compile_like(query.text, lit.raw, lit.pos + 1)
        return lambda row: (v := path.value(row, lookup)) is not None and like(str(v))
    if ftype == "boolean" and cond.op in ("<", "<=", ">", ">="):
        raise error_at(
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
    row: Row, obj: SObjectDef, paths: tuple[_Path, ...], lookup: Lookup, version: str
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


def _sort(
    rows: list[Row], order: tuple[tuple[_Path, bool, bool], ...], lookup: Lookup
) -> list[Row]:
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
