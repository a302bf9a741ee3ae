"""Query column metadata: what ``GET .../query?q=SOQL&columns=true`` answers.

Salesforce's query resource, given ``columns=true``, describes the columns of a query
instead of its rows: one entry per selected item, relationship paths (``Owner.Name``)
nested under their relationship in ``joinColumns``, aggregates marked ``aggregate``
with their alias (``expr0``) as ``columnName``. The Salesforce CLI's ``sf data query``
asks for it to lay out its table.

Example:
    >>> column_metadata("SELECT Id, Owner.Name FROM Account")["entityName"]
    'Account'
"""

from __future__ import annotations

from typing import Any

from sfbearer.emulator._objects import NUMBER_TYPES, STRING_TYPES, FieldDef, SObjectDef
from sfbearer.emulator._soql_ast import Aggregate, FieldRef, Query
from sfbearer.emulator._soql_parser import parse
from sfbearer.emulator._soql_plan import expand_fields
from sfbearer.emulator.schema import child_relationships, get_sobject

__all__ = ["column_metadata"]

_APEX_TYPES = {
    "id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
    "percent": "Double", "currency": "Decimal", "date": "Date", "datetime": "Datetime",
}  # fmt: skip


def _column(name: str, **overrides: Any) -> dict[str, Any]:
    column: dict[str, Any] = {
        "aggregate": False, "apexType": None, "booleanType": False, "columnName": name,
        "custom": False, "displayName": name, "foreignKeyName": None, "insertable": False,
        "joinColumns": [], "numberType": False, "textType": False, "updatable": False,
    }  # fmt: skip
    column.update(overrides)
    return column


def _field_column(fdef: FieldDef) -> dict[str, Any]:
    return _column(
        fdef.name,
        apexType=_APEX_TYPES.get(fdef.type, "String"),
        booleanType=fdef.type == "boolean",
        numberType=fdef.type in NUMBER_TYPES,
        textType=fdef.type in STRING_TYPES and fdef.type not in ("id", "reference"),
        insertable=fdef.createable,
        updatable=fdef.updateable,
    )


def _add_path(columns: list[dict[str, Any]], obj: SObjectDef, parts: tuple[str, ...]) -> None:
    """Adds one field path; the paths through one relationship share its column."""
    if len(parts) == 1:
        fdef = obj.field(parts[0])
        columns.append(_field_column(fdef) if fdef else _column(parts[0]))
        return
    rel = obj.relationship(parts[0])
    parent = get_sobject(rel.reference_to[0]) if rel is not None and rel.reference_to else None
    if rel is None or parent is None:  # the query was already checked; a safe fallback
        columns.append(_column(".".join(parts)))
        return
    name = rel.relationship_name or parts[0]
    for column in columns:
        if column["columnName"] == name and column["foreignKeyName"] == rel.name:
            break
    else:
        column = _column(name, foreignKeyName=rel.name)
        columns.append(column)
    _add_path(column["joinColumns"], parent, parts[1:])


def _strip_self(obj: SObjectDef, ref: FieldRef) -> tuple[str, ...]:
    parts = ref.parts
    # ``SELECT Account.Name FROM Account`` names the queried object itself.
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and not obj.relationship(parts[0]):
        return parts[1:]
    return parts


def _aggregate_metadata(query: Query, obj: SObjectDef) -> dict[str, Any]:
    """An aggregate query's columns: one flat column per item, named as in its records."""
    columns: list[dict[str, Any]] = []
    unnamed = 0
    for item in query.select:
        if isinstance(item, Aggregate):
            name = item.alias or f"expr{unnamed}"
            unnamed += item.alias is None
            target = _target(obj, _strip_self(obj, item.ref))
            ftype = {"COUNT": "int", "COUNT_DISTINCT": "int", "SUM": "double", "AVG": "double"}
            kind = ftype.get(item.func, target.type if target else "string")
            columns.append(_column(name, aggregate=True, apexType=_APEX_TYPES.get(kind, "String"),
                                   numberType=kind in NUMBER_TYPES, displayName=item.text))  # fmt: skip
        else:
            target = _target(obj, _strip_self(obj, item))
            fallback = _column(item.parts[-1])
            column = _field_column(target) if target is not None else fallback
            column.update(columnName=item.alias or column["columnName"], displayName=item.text,
                          insertable=False, updatable=False)  # fmt: skip
            columns.append(column)
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": bool(query.group_by),
        "idSelected": False,
        "keyPrefix": obj.key_prefix,
    }


def _target(obj: SObjectDef, parts: tuple[str, ...]) -> FieldDef | None:
    """The field a path ends on (the query was already checked)."""
    current: SObjectDef | None = obj
    for part in parts[:-1]:
        rel = current.relationship(part) if current is not None else None
        current = get_sobject(rel.reference_to[0]) if rel is not None else None
    return current.field(parts[-1]) if current is not None else None


def column_metadata(soql: str) -> dict[str, Any]:
    """The ``columns=true`` answer for a query the caller has already checked.

    Args:
        soql: the query text (valid: run it first to get Salesforce's errors).

    Returns:
        ``columnMetadata``, ``entityName``, ``groupBy``, ``idSelected`` and ``keyPrefix``.
    """
    query = parse(soql)
    obj = get_sobject(query.sobject)
    if obj is None:
        raise ValueError("column_metadata needs a checked query")
    columns: list[dict[str, Any]] = []
    if query.aggregate:
        return _aggregate_metadata(query, obj)
    query = expand_fields(query, obj)
    for ref in query.fields:
        _add_path(columns, obj, _strip_self(obj, ref))
    for sub in query.subqueries:
        # As Salesforce describes a parent-to-child subquery: one aggregate column named after
        # the relationship, the child's columns in its joinColumns.
        name, child_type, _ = child_relationships(obj.name).get(sub.sobject.lower(), ("", "", ""))
        child = get_sobject(child_type)
        if child is None:  # the query was already checked; a safe fallback
            continue
        joined: list[dict[str, Any]] = []
        for ref in sub.fields:
            _add_path(joined, child, _strip_self(child, ref))
        columns.append(_column(name, aggregate=True, joinColumns=joined))
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": False,
        "idSelected": any(c["columnName"] == "Id" for c in columns),
        "keyPrefix": obj.key_prefix,
    }
