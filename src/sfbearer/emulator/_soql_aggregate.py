"""Aggregate queries: ``SELECT Industry, COUNT(Id) total FROM Account GROUP BY Industry``.

A query with an aggregate function or a GROUP BY answers ``AggregateResult`` records (no
``url``): each grouped field under its own name (for ``Account.Name``, ``Name``), each
aggregate under its alias or ``expr0``, ``expr1``... in SELECT order. Rows are grouped the
way Salesforce compares values (text case-insensitively), nulls forming a group of their
own; HAVING filters the groups, ORDER BY sorts them, OFFSET and LIMIT cut them. Salesforce
never pages aggregate results: more than :data:`MAX_AGGREGATE_ROWS` of them is refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ._soql_ast import Aggregate, Cond, FieldRef, Query
from ._soql_eval import Lookup, Row, _bind, _compare, _key, _literal_key, _Path
from ._soql_lexer import SoqlError, compile_like, error_at
from .schema import NUMBER_TYPES, STRING_TYPES, FieldDef, SObjectDef

__all__ = ["MAX_AGGREGATE_ROWS", "AggregatePlan", "prepare_aggregate", "run_aggregate"]

MAX_AGGREGATE_ROWS = 2000
# Salesforce's describe marks these types not groupable (a datetime is grouped through a
# date function such as DAY_ONLY, which the emulator does not offer).
_NOT_GROUPABLE = frozenset({"textarea", "double", "currency", "percent", "datetime"})
_RESULT_TYPES = {"COUNT": "int", "COUNT_DISTINCT": "int", "SUM": "double", "AVG": "double"}

Values = list[object]  # one group: its grouped values, then its measures
GroupFilter = Callable[[Values], bool]


def _supports(func: str, ftype: str) -> bool:
    if ftype == "textarea":
        return False
    if func in ("SUM", "AVG"):
        return ftype in NUMBER_TYPES
    return ftype != "boolean"


def _path_key(path: _Path) -> tuple[tuple[str, ...], str]:
    return tuple(r.name for r in path.refs), path.target.name


class _Binder:
    """Binds grouped fields and aggregates to their place in a group's values."""

    def __init__(self, query: Query, obj: SObjectDef) -> None:
        self.query, self.obj = query, obj
        self.groups: list[_Path] = []
        self.measures: list[tuple[str, _Path]] = []
        for ref in query.group_by:
            path = _bind(query, obj, ref)
            if path.target.type in _NOT_GROUPABLE:
                raise error_at(query.text, ref.pos, "INVALID_FIELD",
                               f"field '{path.target.name}' can not be grouped in a query call")  # fmt: skip
            if _path_key(path) not in [_path_key(p) for p in self.groups]:
                self.groups.append(path)

    def measure(self, agg: Aggregate) -> tuple[int, FieldDef]:
        """The index of an aggregate's value (added when first seen) and its result type."""
        path = _bind(self.query, self.obj, agg.ref)
        if not _supports(agg.func, path.target.type):
            raise error_at(self.query.text, agg.ref.pos, "INVALID_FIELD",
                           f"field {path.target.name} does not support aggregate operator "
                           f"{agg.func}")  # fmt: skip
        keys = [(func, _path_key(p)) for func, p in self.measures]
        key = (agg.func, _path_key(path))
        if key not in keys:
            self.measures.append((agg.func, path))
            keys.append(key)
        ftype = _RESULT_TYPES.get(agg.func, path.target.type)
        return len(self.groups) + keys.index(key), FieldDef(agg.text, ftype)

    def grouped(self, ref: FieldRef, message: str) -> tuple[int, FieldDef]:
        path = _bind(self.query, self.obj, ref)
        keys = [_path_key(p) for p in self.groups]
        if _path_key(path) not in keys:
            raise error_at(self.query.text, ref.pos, "MALFORMED_QUERY", f"{message}: {ref.text}")
        return keys.index(_path_key(path)), path.target

    def having(self, cond: Cond, now: datetime) -> GroupFilter:
        q = self.query
        if cond.op in ("AND", "OR", "NOT"):
            parts = [self.having(item, now) for item in cond.items]
            if cond.op == "NOT":
                return lambda vals: not parts[0](vals)
            combine = all if cond.op == "AND" else any
            return lambda vals: combine(p(vals) for p in parts)
        assert cond.ref is not None
        if cond.agg is not None:
            index, target = self.measure(cond.agg)
        else:
            index, target = self.grouped(cond.ref, "Field must be grouped or aggregated")
        ftype, ref = target.type, cond.agg.ref if cond.agg is not None else cond.ref
        if cond.op == "LIKE":
            lit = cond.values[0]
            if ftype not in STRING_TYPES or ftype in ("id", "reference") or lit.kind != "string":
                raise error_at(q.text, ref.pos, "INVALID_QUERY_FILTER_OPERATOR",
                               f"invalid operator on {ftype} field")  # fmt: skip
            like = compile_like(q.text, lit.raw, lit.pos + 1)
            return lambda vals: vals[index] is not None and like(str(vals[index]))
        path = _Path((), target)
        keys = [_literal_key(q, path, ref, lit, now) for lit in cond.values]
        if cond.op in ("IN", "NOT IN"):
            want = cond.op == "IN"
            return lambda vals: want == any(
                _compare("=", _key(ftype, vals[index]), k) for k in keys)  # fmt: skip
        op, right = cond.op, keys[0]
        return lambda vals: _compare(op, _key(ftype, vals[index]), right)


@dataclass(frozen=True)
class AggregatePlan:
    """An aggregate query bound to the schema."""

    groups: tuple[_Path, ...]
    measures: tuple[tuple[str, _Path], ...]
    columns: tuple[tuple[str, int], ...]  # (name in the record, index in a group's values)
    order: tuple[tuple[int, str, bool, bool], ...]  # (index, type, descending, nulls_last)
    having: GroupFilter | None
    volatile: bool  # HAVING compares with a date literal such as TODAY: not to be cached


def _has_range(cond: Cond | None) -> bool:
    if cond is None:
        return False
    return any(v.kind == "range" for v in cond.values) or any(map(_has_range, cond.items))


def prepare_aggregate(query: Query, obj: SObjectDef, now: datetime) -> AggregatePlan:
    """Bind an aggregate query's SELECT, GROUP BY, HAVING and ORDER BY, in that order.

    Raises:
        SoqlError: a field neither grouped nor aggregated, a type that cannot be grouped or
            aggregated, a duplicate column name, or any error of the fields named.
    """
    binder = _Binder(query, obj)
    columns: list[tuple[str, int]] = []
    names: set[str] = set()
    unnamed = 0
    for item in query.select:
        if isinstance(item, Aggregate):
            index, _ = binder.measure(item)
            name = item.alias or f"expr{unnamed}"
            unnamed += item.alias is None
        else:
            index, target = binder.grouped(item, "Field must be grouped or aggregated")
            name = item.alias or target.name
        if name.lower() in names:
            raise error_at(query.text, item.pos, "MALFORMED_QUERY", f"duplicate alias: {name}")
        names.add(name.lower())
        columns.append((name, index))
    having = binder.having(query.having, now) if query.having is not None else None
    order = []
    for key, desc, nulls_last in query.order:
        if isinstance(key, Aggregate):
            index, target = binder.measure(key)
        else:
            index, target = binder.grouped(key, "Ordered field must be grouped or aggregated")
        order.append((index, target.type, desc, nulls_last))
    return AggregatePlan(tuple(binder.groups), tuple(binder.measures), tuple(columns),
                         tuple(order), having, _has_range(query.having))  # fmt: skip


def _measure(func: str, path: _Path, rows: Sequence[Row], lookup: Lookup) -> object:
    ftype = path.target.type
    present = [v for r in rows if (v := path.value(r, lookup)) is not None]
    if func == "COUNT":
        return len(present)
    if func == "COUNT_DISTINCT":
        return len({_key(ftype, v) for v in present})
    if func in ("SUM", "AVG"):
        numbers = [float(v) for v in present if isinstance(v, int | float)]
        if not numbers:
            return None
        total = sum(numbers)
        if func == "AVG":
            return total / len(numbers)
        return int(total) if ftype == "int" else total
    keyed = [(k, v) for v in present if (k := _key(ftype, v)) is not None]
    if not keyed:
        return None
    if ftype == "picklist" and path.target.picklist:  # picklists sort in their defined order
        order = {value.lower(): n for n, value in enumerate(path.target.picklist)}
        keyed = [(order.get(str(v).lower(), len(order)), v) for _, v in keyed]
    with contextlib.suppress(TypeError):  # mixed types cannot come from validated rows
        keyed.sort(key=lambda kv: kv[0])  # type: ignore[arg-type,return-value]
    return keyed[0][1] if func == "MIN" else keyed[-1][1]


def run_aggregate(
    plan: AggregatePlan, query: Query, rows: Sequence[Row], lookup: Lookup
) -> tuple[int, list[dict[str, object]]]:
    """Group the matched ``rows`` and answer ``(totalSize, records)``.

    Raises:
        SoqlError: ``EXCEEDED_ID_LIMIT`` for more rows than one batch holds.
    """
    grouped: dict[tuple[object, ...], tuple[Values, list[Row]]] = {}
    for row in rows:
        raw = [path.value(row, lookup) for path in plan.groups]
        key = tuple(_key(p.target.type, v) for p, v in zip(plan.groups, raw, strict=True))
        grouped.setdefault(key, (raw, []))[1].append(row)
    if not plan.groups and not grouped:
        grouped[()] = ([], [])  # without GROUP BY, one row even over no rows
    results: list[Values] = []
    for raw, members in grouped.values():
        vals = raw + [_measure(func, path, members, lookup) for func, path in plan.measures]
        if plan.having is None or plan.having(vals):
            results.append(vals)
    for index, ftype, desc, nulls_last in reversed(plan.order):
        keyed = [(_key(ftype, vals[index]), vals) for vals in results]
        present = [kv for kv in keyed if kv[0] is not None]
        with contextlib.suppress(TypeError):
            present.sort(key=lambda kv: kv[0], reverse=desc)  # type: ignore[arg-type,return-value]
        nulls = [kv for kv in keyed if kv[0] is None]
        results = [vals for _, vals in (present + nulls if nulls_last else nulls + present)]
    start = query.offset or 0
    results = results[start : None if query.limit is None else start + query.limit]
    if len(results) > MAX_AGGREGATE_ROWS:
        raise SoqlError("EXCEEDED_ID_LIMIT", "Aggregate query does not support queryMore(), "
                        "use LIMIT to restrict the results to a single batch")  # fmt: skip
    records = [
        {"attributes": {"type": "AggregateResult"}, **{name: vals[i] for name, i in plan.columns}}
        for vals in results
    ]
    return len(records), records
