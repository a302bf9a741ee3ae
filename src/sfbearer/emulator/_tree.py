"""sObject Tree: ``POST /composite/tree/{type}`` creates record trees, all or nothing.

A request holds up to 200 records in trees up to five levels deep, of up to five types; each
record names its ``type`` and a ``referenceId`` in ``attributes``, and carries its children
under a child relationship name (``"Contacts": {"records": [...]}``). Records are created
level by level (all roots, then the second level type by type, ...), each child pointing at
its new parent, through the record store's own create. The first level with a failing record
undoes everything: 400 ``{"hasErrors": true, "results": [{"referenceId", "errors"}]}`` naming
only the failing records. Success: 201 ``{"hasErrors": false, "results": [{"referenceId",
"id"}]}`` in creation order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfbearer.emulator._batch import MAX_RECORDS, error_entry, request_error, savepoint, too_many
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, child_relationships, get_sobject
from sfbearer.emulator.sessions import Session

__all__ = ["TREE_SINCE", "create_tree"]

TREE_SINCE = 34
"""The first API version with sObject Tree."""
# Salesforce's documented limits; the built-in objects nest three levels and four types deep
# at most, so these guard objects added later.
MAX_DEPTH = 5
MAX_TYPES = 5


@dataclass
class _Node:
    reference_id: str
    sobject: str  # as the request spells it
    values: dict[str, Any]
    depth: int
    expected: str  # the type this position requires
    parent: _Node | None = None
    parent_field: str | None = None
    id: str | None = None


def _invalid_input(message: str) -> ApiErrorResponse:
    return request_error(400, "INVALID_INPUT", message)


def _parse_error(message: str) -> ApiErrorResponse:
    return request_error(400, "JSON_PARSER_ERROR", message)


def _record_list(container: object, where: str) -> list[Any]:
    records = container.get("records") if isinstance(container, dict) else None
    if not isinstance(records, list):
        raise _parse_error(f"Cannot deserialize {where}: a 'records' list is expected")
    return records


def _parse(
    records: list[Any],
    expected: str,
    depth: int,
    parent: _Node | None,
    parent_field: str | None,
    nodes: list[_Node],
) -> None:
    """Flatten ``records`` (and their children, depth first) into ``nodes``, checking shape."""
    if depth > MAX_DEPTH:
        raise _invalid_input(f"sObject trees can be at most {MAX_DEPTH} levels deep")
    for record in records:
        if not isinstance(record, dict):
            raise _parse_error("Cannot deserialize instance of sObject from a non-object")
        attributes = record.get("attributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        reference_id = attributes.get("referenceId")
        sobject = attributes.get("type")
        if not isinstance(reference_id, str) or not reference_id.strip():
            raise _invalid_input("Include a reference ID for each record in the request.")
        if not isinstance(sobject, str) or not sobject:
            raise _invalid_input(f"Include an sObject type for the record {reference_id[:80]}.")
        obj = get_sobject(sobject)
        relationships = child_relationships(obj.name) if obj is not None else {}
        values: dict[str, Any] = {}
        node = _Node(reference_id, sobject, values, depth, expected, parent, parent_field)
        nodes.append(node)
        if len(nodes) > MAX_RECORDS:
            raise too_many()
        for key, value in record.items():
            # A child block under a known relationship; anything else stays a field value,
            # so an unknown name is refused by the store's own field check (INVALID_FIELD).
            child = relationships.get(str(key).lower()) if isinstance(value, dict) else None
            if child is None:
                values[key] = value
                continue
            _, child_type, lookup = child
            _parse(_record_list(value, str(key)), child_type, depth + 1, node, lookup, nodes)


def _pre_errors(nodes: list[_Node]) -> list[dict[str, Any]]:
    """Records refused before anything is created: bad types and duplicate reference ids."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.reference_id] = counts.get(node.reference_id, 0) + 1
    out = []
    for node in nodes:
        obj = get_sobject(node.sobject)
        if obj is None or not obj.createable or obj.name != node.expected:
            message = f"Invalid entity type provided in the request: {node.sobject[:80]}"
        elif counts[node.reference_id] > 1:
            message = "Duplicate ReferenceId provided in the request."
        else:
            continue
        entry = error_entry(ApiErrorResponse(400, "INVALID_INPUT", message))
        out.append({"referenceId": node.reference_id, "errors": [entry]})
    return out


def _groups(nodes: list[_Node]) -> list[list[_Node]]:
    """Creation batches: level by level, and within a level one batch per type."""
    groups: dict[tuple[int, str], list[_Node]] = {}
    for node in sorted(nodes, key=lambda n: n.depth):  # stable: request order within a level
        groups.setdefault((node.depth, node.expected), []).append(node)
    return list(groups.values())


def create_tree(
    ctx: Context, session: Session, sobject: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Create every tree of ``body`` with roots of type ``sobject``: (HTTP status, answer).

    Raises:
        ApiErrorResponse: the request as a whole is malformed (404 for an unknown type).
    """
    root = get_sobject(sobject)
    if root is None:
        raise request_error(404, "NOT_FOUND", "The requested resource does not exist")
    nodes: list[_Node] = []
    _parse(_record_list(body, "the request body"), root.name, 1, None, None, nodes)
    if not nodes:
        raise _invalid_input("Include at least one record in the request.")
    if len({node.expected for node in nodes}) > MAX_TYPES:
        raise _invalid_input(f"An sObject tree request can hold at most {MAX_TYPES} types")
    refused = _pre_errors(nodes)
    if refused:
        return 400, {"hasErrors": True, "results": refused}
    created: list[dict[str, Any]] = []
    with savepoint(ctx) as point:
        for group in _groups(nodes):
            failures = []
            for node in group:
                values = dict(node.values)
                if node.parent is not None and node.parent_field is not None:
                    lookup = node.parent_field.lower()
                    values = {k: v for k, v in values.items() if str(k).lower() != lookup}
                    values[node.parent_field] = node.parent.id
                try:
                    node.id = ctx.records.create(node.expected, values, user_id=session.user_id)
                except ApiErrorResponse as exc:
                    failures.append(
                        {"referenceId": node.reference_id, "errors": [error_entry(exc)]}
                    )
                    continue
                created.append({"referenceId": node.reference_id, "id": node.id})
            if failures:
                point.rollback()
                return 400, {"hasErrors": True, "results": failures}
    return 201, {"hasErrors": False, "results": created}
