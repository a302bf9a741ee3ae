"""Running SOQL: a query bound once into a :class:`Plan`, then filtered, sorted and projected.

Parsing and binding depend only on the query text (the schema is fixed), so
:class:`PlanCache` keeps the plans of recent texts; the WHERE clause is compiled on every run
because date literals such as ``TODAY`` follow the clock and relationship paths read live
rows. Errors are never cached: a refused query is parsed and refused again each time.

Example:
    >>> from datetime import UTC, datetime
    >>> rows = {"Account": [{"Id": "001000000000001AAA", "Name": "Acme"}]}
    >>> execute("SELECT Name FROM Account", lambda s: rows.get(s, []),
    ...         lookup=lambda s, i: None, now=datetime.now(UTC))[1][0]["Name"]
    'Acme'
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from ._soql_aggregate import AggregatePlan, prepare_aggregate, run_aggregate
from ._soql_ast import FieldRef, Query
from ._soql_eval import (
    MAX_OFFSET,
    Lookup,
    Predicate,
    Row,
    _bind,
    _Path,
    _project,
    _sort,
    resolve_sobject,
)
from ._soql_lexer import SoqlError, error_at
from ._soql_parser import parse
from ._soql_semijoin import Joined, compile_condition
from ._soql_subquery import Child, attach_children, child_query, in_select_order
from .schema import SObjectDef

__all__ = ["Plan", "PlanCache", "compile_where", "execute", "expand_fields", "prepare", "run"]


@dataclass(frozen=True)
class Plan:
    """A query bound to the schema: everything about it that does not depend on data or time.

    The schema is fixed, so a plan is valid for as long as its query text; the WHERE clause is
    still compiled on every run (date literals such as ``TODAY`` follow the clock).
    """

    query: Query
    obj: SObjectDef
    paths: tuple[_Path, ...]
    order: tuple[tuple[_Path, bool, bool], ...]
    children: tuple[Child, ...] = ()  # parent-to-child subqueries, in the order written
    aggregate: AggregatePlan | None = None  # GROUP BY or aggregate functions


def expand_fields(query: Query, obj: SObjectDef) -> Query:
    """``query`` with each ``FIELDS(...)`` replaced by the fields it names, in describe order.

    A custom field is one whose name ends in ``__c``, as in Salesforce.
    """
    if not query.fields_calls:
        return query
    fields: list[FieldRef] = []
    before: list[int] = []  # before[i]: expanded fields preceding the i-th written field
    for i in range(len(query.fields) + 1):
        for call in query.fields_calls:
            if call.at == i:
                fields.extend(FieldRef((f.name,), call.pos) for f in obj.fields
                              if call.kind == "ALL" or (call.kind == "CUSTOM") == f.name.endswith("__c"))  # fmt: skip
        before.append(len(fields))
        if i < len(query.fields):
            fields.append(query.fields[i])
    return replace(query, fields=tuple(fields), fields_calls=(),
                   subquery_at=tuple(before[at] for at in query.subquery_at))  # fmt: skip


def prepare(query: Query, *, lookup: Lookup, now: datetime) -> tuple[Plan, Predicate | None]:
    """Bind ``query`` and compile its WHERE clause, checking in Salesforce's order.

    Raises:
        SoqlError: any name, type or range error.
    """
    obj = resolve_sobject(query)
    q = expand_fields(query, obj)
    if q.offset is not None and q.offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    if q.aggregate:
        aggregate = prepare_aggregate(q, obj, now)
        predicate = compile_condition(q, obj, q.where, lookup, now) if q.where else None
        return Plan(q, obj, (), (), (), aggregate), predicate
    paths: list[_Path] = []
    seen: set[tuple[str, ...]] = set()
    for ref in q.fields:
        path = _bind(q, obj, ref)
        key = (*(r.name for r in path.refs), path.target.name)
        if key in seen:
            raise error_at(
                q.text, ref.pos, "INVALID_FIELD", f"duplicate field selected: {ref.text}"
            )
        seen.add(key)
        paths.append(path)
    predicate = compile_condition(q, obj, q.where, lookup, now) if q.where is not None else None
    order = []
    for item, desc, nulls_last in q.order:
        assert isinstance(item, FieldRef)  # the parser allows aggregates in aggregate queries only
        ref = item
        path = _bind(q, obj, ref)
        if path.target.type == "textarea":
            raise error_at(
                q.text,
                ref.pos,
                "INVALID_FIELD",
                f"field '{path.target.name}' can not be sorted in a query call",
            )
        order.append((path, desc, nulls_last))
    children: list[Child] = []
    for sub, at in zip(q.subqueries, q.subquery_at, strict=True):
        name, link, child_q = child_query(q, obj, sub)
        if any(c.name == name for c in children):
            raise error_at(q.text, sub.sobject_pos, "INVALID_FIELD",
                         f"duplicate field selected: {name}")  # fmt: skip
        children.append(Child(name, link, prepare(child_q, lookup=lookup, now=now)[0], at))
    return Plan(q, obj, tuple(paths), tuple(order), tuple(children)), predicate


def compile_where(plan: Plan, *, lookup: Lookup, now: datetime) -> Predicate | None:
    """The WHERE predicate of an already prepared plan, for this run's ``lookup`` and ``now``.

    Raises:
        SoqlError: a date literal out of the calendar's range at ``now``.
    """
    where = plan.query.where
    return compile_condition(plan.query, plan.obj, where, lookup, now) if where else None


def run(
    plan: Plan,
    predicate: Predicate | None,
    rows_for: Callable[[str], Iterable[Row]],
    *,
    lookup: Lookup,
    api_version: str = "68.0",
    now: datetime | None = None,
) -> tuple[int, list[dict[str, object]]]:
    """Filter, sort and project the rows of a prepared plan (see :func:`execute`).

    ``now`` is needed only by a subquery with a WHERE clause (its date literals).
    """
    q, obj, order = plan.query, plan.obj, plan.order
    start = q.offset or 0
    end = None if q.limit is None else start + q.limit
    if isinstance(predicate, Joined):  # read the semi-joins' ids once, before any row
        predicate.fill(rows_for, lookup)
    # Without ORDER BY or an aggregate, stop reading rows once LIMIT + OFFSET are met.
    enough = end if not order and plan.aggregate is None else None
    matched: list[Row] = []
    for row in rows_for(obj.name):
        if enough is not None and len(matched) >= enough:
            break
        if predicate is None or predicate(row):
            matched.append(row)
    if plan.aggregate is not None:
        return run_aggregate(plan.aggregate, q, matched, lookup)
    matched = _sort(matched, order, lookup) if order else matched
    matched = matched[start:end]
    if q.count is True:
        return len(matched), []
    records = [_project(r, obj, plan.paths, lookup, api_version) for r in matched]
    if plan.children:
        children = []
        for child in plan.children:
            if child.plan.query.where is not None and now is None:
                raise ValueError("a subquery with a WHERE clause needs the clock's reading")
            where = compile_where(child.plan, lookup=lookup, now=now) if now is not None else None
            children.append((child, where))
        attach_children(
            records, matched, children, rows_for, lookup=lookup, api_version=api_version
        )
        records = in_select_order(records, plan.paths, plan.children)
    return len(matched), records


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
    plan, predicate = prepare(q, lookup=lookup, now=now)
    return run(plan, predicate, rows_for, lookup=lookup, api_version=api_version, now=now)


class PlanCache:
    """The plans of the most recently run query texts, least recently used dropped first.

    Args:
        size: how many plans are kept.
        max_text: longer query texts are not kept (a few huge ones would hold the memory).
    """

    def __init__(self, size: int = 256, max_text: int = 4096) -> None:
        self._size = size
        self._max_text = max_text
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Plan | None:
        """The plan of exactly ``text``, or None."""
        with self._lock:
            plan = self._plans.get(text)
            if plan is not None:
                self._plans.move_to_end(text)
            return plan

    def put(self, text: str, plan: Plan) -> None:
        """Remember the plan of ``text`` (the query the plan was made from)."""
        if len(text) > self._max_text or plan.query.text != text:
            return
        if plan.aggregate is not None and plan.aggregate.volatile:
            return  # its HAVING was compiled with this run's TODAY
        with self._lock:
            self._plans[text] = plan
            self._plans.move_to_end(text)
            while len(self._plans) > self._size:
                self._plans.popitem(last=False)

    def __len__(self) -> int:
        return len(self._plans)
