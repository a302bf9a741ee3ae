"""Records by external id: ``/sobjects/{type}/{field}/{value}`` (GET, PATCH upsert, DELETE),
``POST /sobjects/{type}/Id`` and the collections upsert ``PATCH /composite/sobjects/{type}/{field}``.

The key field is ``Id`` or a custom field marked as an external id. Text values match in any
letter case, numbers by value. One match: that record; none: 404 (an upsert creates the
record, with the key field set from the URL); several: 300 with the matching records' URLs,
and nothing changes.

Example (the matching rule):
    >>> from sfbearer.emulator.custom_fields import custom_field
    >>> _, key = custom_field("Account", "Ext__c", "string", external_id=True)
    >>> rows = [{"Id": "001A", "Ext__c": "ab-1"}, {"Id": "001B", "Ext__c": "AB-2"}]
    >>> matching_ids(rows, key, "AB-1")
    ['001A']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sfbearer.emulator._batch import (
    MAX_RECORDS,
    all_or_none_of,
    error_entry,
    finish,
    records_of,
    request_error,
    savepoint,
    too_many,
)
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import (
    ApiErrorResponse,
    FieldDef,
    SObjectDef,
    coerce_value,
    get_sobject,
    normalize_id,
)
from sfbearer.emulator.sessions import Session

__all__ = [
    "UPSERT_CREATED_SINCE",
    "MultipleMatches",
    "delete_by",
    "get_by",
    "matching_ids",
    "upsert",
    "upsert_collection",
    "upsert_in_batch",
]

UPSERT_CREATED_SINCE = 46
"""The first version whose upsert answers say ``created`` (and answer an update with 200)."""


class MultipleMatches(Exception):
    """More than one record has the value: answered 300 with their URLs."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(f"{len(urls)} records match")
        self.urls = urls


def _not_found() -> ApiErrorResponse:
    return ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")


def key_field(obj: SObjectDef, name: str) -> FieldDef:
    """The field records are looked up by: ``Id`` or an external id field.

    Raises:
        ApiErrorResponse: 404 ``NOT_FOUND`` for any other field.
    """
    fdef = obj.field(name)
    if fdef is None or not (fdef.name == "Id" or fdef.external_id):
        raise ApiErrorResponse(
            404, "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name[:80]}",
        )  # fmt: skip
    return fdef


def _same(stored: object, wanted: object) -> bool:
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.lower() == wanted.lower()
    return stored is not None and stored == wanted


def matching_ids(rows: Iterable[dict[str, Any]], key: FieldDef, value: object) -> list[str]:
    """The ids of the rows whose ``key`` field holds ``value`` (text in any letter case)."""
    wanted = coerce_value(key, value) if key.name != "Id" else normalize_id(str(value))
    if wanted is None:
        return []
    return [str(r["Id"]) for r in rows if _same(r.get(key.name), wanted)]


def _matches(ctx: Context, obj: SObjectDef, key: FieldDef, value: object) -> list[str]:
    wanted = coerce_value(key, value) if key.name != "Id" else normalize_id(str(value))
    if wanted is None:
        return []
    return [str(r["Id"]) for r in ctx.records.rows_with(obj.name, key.name, wanted)]


def _resolve(ctx: Context, sobject: str, field: str, value: str, version: str) -> str | None:
    """The one record's id, None when there is none; MultipleMatches for several."""
    obj = get_sobject(sobject)
    if obj is None:
        raise _not_found()
    found = _matches(ctx, obj, key_field(obj, field), value)
    if len(found) > 1:
        raise MultipleMatches([f"/services/data/v{version}/sobjects/{obj.name}/{i}" for i in found])
    return found[0] if found else None


def get_by(
    ctx: Context, sobject: str, field: str, value: str, fields: list[str] | None, version: str
) -> dict[str, object]:
    """``GET /sobjects/{type}/{field}/{value}``: the record, as a GET by id answers it."""
    with ctx.db.lock:
        record_id = _resolve(ctx, sobject, field, value, version)
        if record_id is None:
            raise _not_found()
        result: dict[str, object] = ctx.records.get(sobject, record_id, fields, api_version=version)
        return result


def delete_by(
    ctx: Context, session: Session, sobject: str, field: str, value: str, version: str
) -> None:
    """``DELETE /sobjects/{type}/{field}/{value}``."""
    with ctx.db.lock:
        record_id = _resolve(ctx, sobject, field, value, version)
        if record_id is None:
            raise _not_found()
        ctx.records.delete(sobject, record_id, user_id=session.user_id)


def _body_values(key: FieldDef, value: object, data: object) -> dict[str, Any]:
    """The body's fields; the key field may repeat the URL's value, not contradict it."""
    if not isinstance(data, dict):
        raise ApiErrorResponse(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object"
        )
    values = {}
    for name, given in data.items():
        if str(name).lower() != key.name.lower():
            values[name] = given
            continue
        if str(given) == str(value):
            continue
        held = normalize_id(str(given)) if key.name == "Id" else coerce_value(key, given)
        if matching_ids([{"Id": "", key.name: held}], key, value) == []:
            raise ApiErrorResponse(
                400, "INVALID_FIELD",
                f"The value of {key.name} in the body ({json.dumps(given)[:40]}) differs from "
                f"the one in the URL ({str(value)[:40]})", [key.name],
            )  # fmt: skip
    return values


def upsert(
    ctx: Context, session: Session, sobject: str, field: str, value: str, data: object,
    *, update_only: bool = False, version: str = "68.0",
) -> tuple[str, bool]:  # fmt: skip
    """``PATCH /sobjects/{type}/{field}/{value}``: update the one match or create the record.

    Returns:
        The record's id and whether it was created.
    """
    obj = get_sobject(sobject)
    if obj is None:
        raise _not_found()
    key = key_field(obj, field)
    with ctx.db.lock:  # the lookup and the write are one step for concurrent upserts
        values = _body_values(key, value, data)
        record_id = _resolve(ctx, obj.name, field, value, version)
        if record_id is not None:
            ctx.records.update(obj.name, record_id, values, user_id=session.user_id)
            return record_id, False
        if update_only or key.name == "Id":
            raise _not_found()  # an Id that no record has cannot be given to a new one
        values[key.name] = value
        return ctx.records.create(obj.name, values, user_id=session.user_id), True


def upsert_in_batch(
    ctx: Context, session: Session, sobject: str, key: FieldDef, value: object,
    data: dict[str, Any], seen: Mapping[str, int], *, version: str = "68.0",
) -> tuple[str, bool]:  # fmt: skip
    """One record of a batch upsert (collections, Bulk API): its id and whether it was made.

    ``seen`` counts each key value (lower-cased) in the whole batch: a value given twice
    fails both records, as one held by several records does.

    Raises:
        ApiErrorResponse: ``MISSING_ARGUMENT`` without a key value, ``DUPLICATE_EXTERNAL_ID``,
            or whatever the save refuses.
    """
    if value is None or value == "":
        raise ApiErrorResponse(
            400, "MISSING_ARGUMENT", f"{key.name} not specified in an upsert call"
        )
    if seen.get(str(value).lower(), 0) > 1:
        raise ApiErrorResponse(
            400, "DUPLICATE_EXTERNAL_ID",
            f"Duplicate external id specified: {str(value)[:80]}", [key.name],
        )  # fmt: skip
    try:
        return upsert(ctx, session, sobject, key.name, str(value), data, version=version)
    except MultipleMatches:
        raise ApiErrorResponse(
            400, "DUPLICATE_EXTERNAL_ID",
            f"{key.name}: more than one record found for external id field: {str(value)[:80]}",
            [key.name],
        ) from None  # fmt: skip


def upsert_collection(
    ctx: Context, session: Session, sobject: str, field: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """``PATCH /composite/sobjects/{type}/{field}``: upsert up to 200 records of one type, each
    carrying its key value; one UpsertResult (with ``created``) per record."""
    obj = get_sobject(sobject)
    if obj is None:
        raise _not_found()
    key = key_field(obj, field)
    records = records_of(body)
    if len(records) > MAX_RECORDS:
        raise too_many()
    all_or_none = all_or_none_of(body)
    for record in records:
        if str(record["attributes"]["type"]).lower() != obj.name.lower():
            raise request_error(
                400, "INVALID_TYPE", f"Every record must be of type {obj.name} in this request"
            )
    values = [record.get(key.name, next((v for k, v in record.items()
                                         if k.lower() == key.name.lower()), None))
              for record in records]  # fmt: skip
    seen: dict[str, int] = {}
    for value in values:
        if value is not None:
            seen[str(value).lower()] = seen.get(str(value).lower(), 0) + 1
    results: list[dict[str, Any]] = []
    failed = False
    with ctx.db.lock, savepoint(ctx) as point:
        for record, value in zip(records, values, strict=True):
            data = {k: v for k, v in record.items() if k != "attributes"}
            try:
                record_id, created = upsert_in_batch(ctx, session, obj.name, key, value, data,
                                                     seen)  # fmt: skip
            except ApiErrorResponse as exc:
                failed = True
                results.append({"success": False, "errors": [error_entry(exc)]})
                continue
            results.append({"id": record_id, "success": True, "errors": [], "created": created})
        return finish(results, failed, all_or_none, point)
