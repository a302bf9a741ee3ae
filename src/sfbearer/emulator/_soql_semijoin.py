"""Semi-joins and anti-joins: ``WHERE Id IN (SELECT AccountId FROM Contact WHERE ...)``.

The left operand is an Id or reference field of the queried object, the inner query selects
one Id or reference field of its own object, and both must point to the same object type.
The inner query's values are read once per run (:meth:`Joined.fill`, called by
:func:`._soql_plan.run` before filtering), then each outer row is one set lookup. The parser
has already enforced Salesforce's placement rules (top level of WHERE, no OR, two at most,
no nesting).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from ._soql_ast import Cond, Query
from ._soql_eval import Lookup, Predicate, Row, _bind, _compile, _Path, resolve_sobject
from ._soql_lexer import error_at
from .schema import SObjectDef, normalize_id

__all__ = ["JoinSet", "Joined", "compile_condition", "compile_semi_join"]


class JoinSet:
    """The ids an inner query selects, read by :meth:`fill` for one run."""

    def __init__(self, sobject: str, path: _Path, predicate: Predicate | None) -> None:
        self.sobject, self.path, self.predicate = sobject, path, predicate
        self.ids: frozenset[str] = frozenset()

    def fill(self, rows_for: Callable[[str], Iterable[Row]], lookup: Lookup) -> None:
        pred, path = self.predicate, self.path
        self.ids = frozenset(
            ident
            for row in rows_for(self.sobject)
            if (pred is None or pred(row)) and (ident := normalize_id(path.value(row, lookup)))
        )


class Joined:
    """A WHERE predicate with semi-joins: call :meth:`fill` before filtering any row."""

    def __init__(self, predicate: Predicate, joins: list[JoinSet]) -> None:
        self.predicate, self.joins = predicate, joins

    def fill(self, rows_for: Callable[[str], Iterable[Row]], lookup: Lookup) -> None:
        for join in self.joins:
            join.fill(rows_for, lookup)

    def __call__(self, row: Row) -> bool:
        return self.predicate(row)


def compile_condition(
    query: Query, obj: SObjectDef, cond: Cond, lookup: Lookup, now: datetime
) -> Predicate:
    """A WHERE clause's predicate; a :class:`Joined` one when it holds semi-joins."""
    joins: list[JoinSet] = []
    predicate = _compile(query, obj, cond, lookup, now, joins)
    return Joined(predicate, joins) if joins else predicate


def _target(obj: SObjectDef, path: _Path) -> str:
    """The object type an Id or reference field points to."""
    return obj.name if path.target.type == "id" else path.target.reference_to[0]


def compile_semi_join(
    query: Query, obj: SObjectDef, cond: Cond, lookup: Lookup, now: datetime,
    joins: list[JoinSet],
) -> Predicate:  # fmt: skip
    """``ref [NOT] IN (SELECT field FROM Type WHERE ...)`` as a predicate over outer rows."""
    sub, ref = cond.sub, cond.ref
    assert sub is not None
    assert ref is not None
    left = _bind(query, obj, ref)
    if left.refs or left.target.type not in ("id", "reference"):
        raise error_at(query.text, ref.pos, "MALFORMED_QUERY", "semi join sub selects can only "
                       f"query id fields, cannot use: '{ref.text}'")  # fmt: skip
    inner_obj = resolve_sobject(sub)
    if inner_obj.name == obj.name:
        raise error_at(query.text, ref.pos, "MALFORMED_QUERY",
                       "The inner and outer selects should not be on the same object type")  # fmt: skip
    inner_ref = sub.fields[0]
    inner = _bind(sub, inner_obj, inner_ref)
    if inner.refs or inner.target.type not in ("id", "reference"):
        raise error_at(query.text, inner_ref.pos, "MALFORMED_QUERY", "semi join sub selects can "
                       f"only query id fields, cannot use: '{inner_ref.text}'")  # fmt: skip
    if _target(obj, left) != _target(inner_obj, inner):
        raise error_at(query.text, inner_ref.pos, "MALFORMED_QUERY",
                       f"The selected field '{inner_ref.text}' in the subquery and the left "
                       "operand field in the where expression in the outer query "
                       f"'{ref.text}' should point to the same object type")  # fmt: skip
    where = _compile(sub, inner_obj, sub.where, lookup, now) if sub.where is not None else None
    join = JoinSet(inner_obj.name, inner, where)
    joins.append(join)
    want = cond.op == "IN"

    def predicate(row: Row) -> bool:
        ident = normalize_id(left.value(row, lookup))
        return want == (ident is not None and ident in join.ids)

    return predicate
