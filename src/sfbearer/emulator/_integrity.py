"""Checks of a record against the other rows, as Salesforce makes them on save: lookups must
name live rows of their type, and unique fields must not repeat a value.

A lookup must name a live row of the type it points to:

- an id of another type (or of no known type): 400 ``FIELD_INTEGRITY_EXCEPTION``
  "Account ID: id value of incorrect type: 006...";
- an id of the right type that no row has: 400 ``INVALID_CROSS_REFERENCE_KEY``
  "invalid cross reference id";
- a deleted row: 400 ``ENTITY_IS_DELETED`` "entity is deleted".

Example:
    >>> from sfbearer.emulator.schema import get_sobject, make_id
    >>> contact = get_sobject("Contact")
    >>> stored = {make_id("001", 1): ("Account", False)}
    >>> check_references(contact, {"AccountId": make_id("001", 1)}, stored.get)
    >>> check_references(contact, {"AccountId": make_id("001", 2)}, stored.get)
    Traceback (most recent call last):
    ...
    sfbearer.emulator.schema.ApiErrorResponse: 400 INVALID_CROSS_REFERENCE_KEY: invalid cross reference id
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ._objects import field_label
from .custom_fields import OrgSchema
from .schema import ApiErrorResponse, SObjectDef, get_sobject

__all__ = ["check_references", "check_unique", "lookup_orphans"]

Stored = Callable[[str], "tuple[str, bool] | None"]
"""Looks up an id: the type of its row and whether it is deleted, or None."""


def check_references(obj: SObjectDef, values: Mapping[str, object], stored: Stored) -> None:
    """Raise the error Salesforce gives for the first lookup in ``values`` that names no live
    row of its type (``values`` as :func:`.schema.validate_record` returns them)."""
    for name, value in values.items():
        fdef = obj.field(name)
        if fdef is None or fdef.type != "reference" or value is None:
            continue
        ref = str(value)
        found = stored(ref)
        targets = {get_sobject(t) for t in fdef.reference_to} - {None}
        kind = (
            found[0]
            if found
            else next(
                (t.name for t in targets if t is not None and ref.startswith(t.key_prefix)), None
            )
        )
        if kind is None or kind not in fdef.reference_to:
            raise ApiErrorResponse(
                400, "FIELD_INTEGRITY_EXCEPTION",
                f"{field_label(fdef.name)}: id value of incorrect type: {ref}", [fdef.name],
            )  # fmt: skip
        if found is None:
            raise ApiErrorResponse(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if found[1]:
            raise ApiErrorResponse(400, "ENTITY_IS_DELETED", "entity is deleted")


def check_unique(
    obj: SObjectDef,
    values: Mapping[str, object],
    rows_with: Callable[[str, object], Iterable[Mapping[str, object]]],
    own_id: str | None = None,
) -> None:
    """Raise ``DUPLICATE_VALUE`` when a unique field in ``values`` repeats the value of another
    live row (``rows_with(field, value)``: the live rows holding it, text in any letter case),
    as Salesforce does on save."""
    for name, value in values.items():
        fdef = obj.field(name)
        if fdef is None or not fdef.unique or value is None or value == "":
            continue
        for row in rows_with(fdef.name, value):
            if row.get("Id") != own_id:
                raise ApiErrorResponse(
                    400, "DUPLICATE_VALUE",
                    f"duplicate value found: {fdef.name} duplicates value on record with id: "
                    f"{row.get('Id')}",
                )  # fmt: skip


def lookup_orphans(
    schema: OrgSchema, gone: set[str], rows_of: Callable[[str], Iterable[Mapping[str, object]]]
) -> tuple[list[dict[str, object]], tuple[str, list[str]] | None]:
    """What deleting the rows ``gone`` does to the custom lookups naming them.

    Returns copies of the live rows whose custom lookups named a deleted row, those lookups
    cleared (a lookup's default in Salesforce: "clear the value of this field"); and, when a
    *required* lookup names one (Salesforce then refuses the delete), the plural label of
    those rows' type and their names.
    """
    out: dict[str, dict[str, object]] = {}
    holding: tuple[str, list[str]] | None = None
    for kind in {obj.name for i in gone if (obj := schema.by_prefix(i[:3]))}:
        for child, field in schema.lookups_to(kind):
            child_def = schema.get(child)
            required = bool(child_def and (f := child_def.field(field)) and f.required)
            for row in rows_of(child):
                if row.get(field) not in gone or row["Id"] in gone:
                    continue
                if required and child_def is not None:
                    holding = holding or (child_def.label_plural.lower(), [])
                    holding[1].append(str(row.get("Name") or row["Id"]))
                out.setdefault(str(row["Id"]), dict(row))[field] = None
    return list(out.values()), holding
