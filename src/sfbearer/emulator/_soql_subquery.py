"""Parent-to-child subqueries: ``SELECT Name, (SELECT Id FROM Contacts) FROM Account``.

A subquery's FROM names a child relationship of the outer type
(:func:`.schema.child_relationships`); it is bound like a query on the child type, with its
own fields, WHERE, ORDER BY, LIMIT and OFFSET. Each outer record then carries the
relationship's name as a key: ``None`` when no child matches, else
``{"totalSize": n, "done": true, "records": [...]}``. One level only, and never with an
aggregate (the parser refuses both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ._soql_ast import Query
from ._soql_eval import Lookup, Predicate, Row, _Path, _project, _sort
from ._soql_lexer import error_at
from .schema import SObjectDef, child_relationships, normalize_id

if TYPE_CHECKING:
    from ._soql_plan import Plan

__all__ = ["Child", "attach_children", "child_query", "in_select_order"]


@dataclass(frozen=True)
class Child:
    """A bound subquery: the relationship's name, the child's lookup field, the child's plan."""

    name: str
    link: str
    plan: Plan
    at: int  # how many of the outer fields precede it in SELECT


def child_query(outer: Query, obj: SObjectDef, sub: Query) -> tuple[str, str, Query]:
    """The relationship's name, the lookup field and ``sub`` aimed at the child type.

    Raises:
        SoqlError: ``INVALID_TYPE`` for a name that is no child relationship of ``obj``;
            ``MALFORMED_QUERY`` for an OFFSET without an outer ``LIMIT 1``.
    """
    found = child_relationships(obj.name).get(sub.sobject.lower())
    if found is None:
        raise error_at(outer.text, sub.sobject_pos, "INVALID_TYPE",
                     f"Didn't understand relationship '{sub.sobject}' in FROM part of query "
                     "call. If you are attempting to use a custom relationship, be sure to "
                     "append the '__r' after the custom relationship name. Please reference "
                     "your WSDL or the describe call for the appropriate names.")  # fmt: skip
    if sub.offset is not None and outer.limit != 1:
        # Salesforce allows OFFSET in a subquery only when the outer query has LIMIT 1.
        raise error_at(outer.text, sub.sobject_pos, "MALFORMED_QUERY",
                     "Offset in subqueries is only supported when the outer query has "
                     "LIMIT 1")  # fmt: skip
    name, child_type, link = found
    return name, link, replace(sub, sobject=child_type)


def attach_children(
    records: list[dict[str, object]],
    parents: list[Row],
    children: Iterable[tuple[Child, Predicate | None]],
    rows_for: Callable[[str], Iterable[Row]],
    *,
    lookup: Lookup,
    api_version: str,
) -> None:
    """Add each subquery's block to the projected ``records`` of the outer ``parents`` rows."""
    wanted = {normalize_id(p.get("Id")) for p in parents}
    for child, predicate in children:
        plan = child.plan
        grouped: dict[str | None, list[Row]] = {}
        for row in rows_for(plan.obj.name):
            parent_id = normalize_id(row.get(child.link))
            if parent_id in wanted and (predicate is None or predicate(row)):
                grouped.setdefault(parent_id, []).append(row)
        start = plan.query.offset or 0
        end = None if plan.query.limit is None else start + plan.query.limit
        for record, parent in zip(records, parents, strict=True):
            rows = grouped.get(normalize_id(parent.get("Id")), [])
            rows = (_sort(rows, plan.order, lookup) if plan.order else rows)[start:end]
            record[child.name] = (
                {
                    "totalSize": len(rows),
                    "done": True,
                    "records": [
                        _project(r, plan.obj, plan.paths, lookup, api_version) for r in rows
                    ],
                }
                if rows
                else None
            )


def in_select_order(
    records: list[dict[str, object]], paths: tuple[_Path, ...], children: tuple[Child, ...]
) -> list[dict[str, object]]:
    """The records with each subquery's key where it was written among the fields.

    Salesforce lays a record's keys out in SELECT order; a subquery's block is added after
    the fields were projected, so it moves back among them here.
    """
    if all(child.at >= len(paths) for child in children):
        return records  # every subquery comes last: already in order
    keys: list[str] = []
    for i, path in enumerate(paths):
        keys.extend(child.name for child in children if child.at == i)
        first = path.refs[0] if path.refs else None
        key = (first.relationship_name or first.name) if first is not None else path.target.name
        if key not in keys:
            keys.append(key)
    keys.extend(child.name for child in children if child.at >= len(paths))
    return [
        {"attributes": record["attributes"], **{k: record[k] for k in keys if k in record}}
        for record in records
    ]
