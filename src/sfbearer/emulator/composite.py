"""Many records in one API call: sObject Collections and sObject Tree under ``/composite/``.

sObject Collections (REST API v42.0 and later):

- ``POST /composite/sobjects`` creates up to 200 records (types may be mixed),
- ``PATCH /composite/sobjects`` updates up to 200 records, each naming its ``id``,
- ``DELETE /composite/sobjects?ids=...&allOrNone=...`` deletes up to 200 records,
- ``GET /composite/sobjects/{type}?ids=...&fields=...``, or ``POST`` with
  ``{"ids": [...], "fields": [...]}``, reads records of one type: ``null`` for an id not found.

Every record goes through the record store's own create, update and delete, so it meets
exactly the checks of ``/sobjects/{type}``; a refusal becomes that record's
``{"success": false, "errors": [{"statusCode", "message", "fields"}]}``. With ``allOrNone``
one failure undoes the whole request and every other record answers
``ALL_OR_NONE_OPERATION_ROLLED_BACK``. sObject Tree (``POST /composite/tree/{type}``) is in
:mod:`._tree`, the Composite resource (``POST /composite``) in :mod:`._composite_request`. A
request counts as one API call, as in Salesforce.

Example:
    ``POST /services/data/v68.0/composite/sobjects`` with
    ``{"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "Name": "Acme"}]}``
    answers ``[{"id": "001...", "success": true, "errors": []}]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sfbearer.emulator._batch import (
    MAX_RECORDS,
    all_or_none_of,
    error_entry,
    finish,
    records_of,
    request_error,
    savepoint,
    sobject_of_id,
    too_many,
)
from sfbearer.emulator._composite_request import COMPOSITE_SINCE, SubrequestRunner, run_composite
from sfbearer.emulator._external_ids import UPSERT_CREATED_SINCE, upsert_collection
from sfbearer.emulator._tree import TREE_SINCE, create_tree
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, get_sobject, no_such_column, normalize_id
from sfbearer.emulator.sessions import Session
from sfbearer.emulator.wire import JsonResponse

__all__ = ["COLLECTIONS_SINCE", "dispatch"]

COLLECTIONS_SINCE = 42
"""The first API version with sObject Collections."""
MAX_RETRIEVE = 2000  # ids one retrieve may name (Salesforce documents 2,000 for the POST form)

BodyReader = Callable[[], Awaitable[dict[str, Any]]]


def _not_found() -> ApiErrorResponse:
    return request_error(404, "NOT_FOUND", "The requested resource does not exist")


def _not_allowed(method: str, allowed: str) -> ApiErrorResponse:
    return request_error(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )


async def dispatch(
    request: Request,
    ctx: Context,
    session: Session,
    rest: list[str],
    version: str,
    read_body: BodyReader,
    subrequest: SubrequestRunner | None = None,
) -> Response:
    """Answer ``/services/data/v{version}/composite/{rest...}`` for an authenticated caller.

    Raises:
        ApiErrorResponse: the request as a whole is refused (the caller serialises it).
    """
    method = request.method
    major = int(float(version))
    if not rest and method == "POST" and major >= COMPOSITE_SINCE and subrequest is not None:
        # The Composite resource itself (:mod:`._composite_request`).
        return JsonResponse(await run_composite(ctx, await read_body(), subrequest))
    if not rest and method == "GET":
        # The composite resources this version has (Batch and Graph are not emulated, so
        # they are not offered; Composite itself is this URL, not an entry).
        base = f"/services/data/v{version}/composite"
        names = [n for n, since in (("tree", TREE_SINCE), ("sobjects", COLLECTIONS_SINCE))
                 if major >= since]  # fmt: skip
        return JsonResponse({name: f"{base}/{name}" for name in names})
    if len(rest) == 2 and rest[0] == "tree" and major >= TREE_SINCE:
        if method != "POST":
            raise _not_allowed(method, "POST")
        status, body = create_tree(ctx, session, rest[1], await read_body())
        return JsonResponse(body, status_code=status)
    if len(rest) == 3 and rest[0] == "sobjects" and major >= UPSERT_CREATED_SINCE:
        if method != "PATCH":
            raise _not_allowed(method, "PATCH")
        return JsonResponse(upsert_collection(ctx, session, rest[1], rest[2], await read_body()))
    if not rest or rest[0] != "sobjects" or major < COLLECTIONS_SINCE or len(rest) > 2:
        raise _not_found()
    if len(rest) == 2:
        if method == "GET":
            params = request.query_params
            ids = _split(params.get("ids"), "ids")
            fields = _split(params.get("fields"), "fields")
        elif method == "POST":
            body = await read_body()
            ids = _strings(body.get("ids"), "ids")
            fields = _strings(body.get("fields"), "fields")
        else:
            raise _not_allowed(method, "GET,POST")
        return JsonResponse(retrieve(ctx, rest[1], ids, fields, version))
    if method == "POST":
        body = await read_body()
        return JsonResponse(create(ctx, session, records_of(body), all_or_none_of(body)))
    if method == "PATCH":
        body = await read_body()
        return JsonResponse(update(ctx, session, records_of(body), all_or_none_of(body)))
    if method == "DELETE":
        params = request.query_params
        ids = _split(params.get("ids"), "ids")
        # As Java's Boolean.parseBoolean reads it: anything but "true" is false.
        all_or_none = params.get("allOrNone", "").lower() == "true"
        return JsonResponse(delete(ctx, session, ids, all_or_none))
    raise _not_allowed(method, "DELETE,PATCH,POST")


# --- request shape ---------------------------------------------------------------------------


def _parse_error(message: str) -> ApiErrorResponse:
    return request_error(400, "JSON_PARSER_ERROR", message)


def _missing(name: str) -> ApiErrorResponse:
    return request_error(400, "MISSING_ARGUMENT", f"{name} parameter is required")


def _split(value: str | None, name: str) -> list[str]:
    items = [item.strip() for item in (value or "").split(",")]
    if not any(items):
        raise _missing(name)
    return items


def _strings(value: object, name: str) -> list[str]:
    if value is None:
        raise _missing(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _parse_error(f"Cannot deserialize '{name}': a list of strings is expected")
    if not value:
        raise _missing(name)
    return [v.strip() for v in value]


# --- the operations --------------------------------------------------------------------------


def _failure(exc: ApiErrorResponse, record_id: str | None = None) -> dict[str, Any]:
    """A failed SaveResult; it names the record when its id was valid (as Salesforce does
    for an update or delete that fails on the record, not on the id itself)."""
    named = {"id": record_id} if record_id else {}
    return {**named, "success": False, "errors": [error_entry(exc)]}


def create(
    ctx: Context, session: Session, records: list[dict[str, Any]], all_or_none: bool
) -> list[dict[str, Any]]:
    """Insert each record in order; one SaveResult per record, in the same order."""
    results: list[dict[str, Any]] = []
    failed = False
    with savepoint(ctx) as point:
        for record in records:
            try:
                new_id = ctx.records.create(
                    record["attributes"]["type"], record, user_id=session.user_id
                )
            except ApiErrorResponse as exc:
                failed = True
                results.append(_failure(exc))
                continue
            results.append({"id": new_id, "success": True, "errors": []})
        return finish(results, failed, all_or_none, point, inserted=True)


def _record_id(record: dict[str, Any]) -> object:
    for key, value in record.items():
        if key.lower() == "id":
            return value
    return None


def update(
    ctx: Context, session: Session, records: list[dict[str, Any]], all_or_none: bool
) -> list[dict[str, Any]]:
    """Update each record (found by its ``id``) in order; one SaveResult per record."""
    results: list[dict[str, Any]] = []
    failed = False
    with savepoint(ctx) as point:
        for record in records:
            obj = get_sobject(record["attributes"]["type"])
            assert obj is not None  # _records checked every type
            raw_id = _record_id(record)
            values = {k: v for k, v in record.items() if k.lower() != "id"}
            full = None
            try:
                if raw_id is None or raw_id == "":
                    raise ApiErrorResponse(
                        400, "MISSING_ARGUMENT", "Id not specified in an update call"
                    )
                full = normalize_id(raw_id)
                if full is None or full[:3] != obj.key_prefix:
                    raise ApiErrorResponse(
                        400, "MALFORMED_ID",
                        f"{obj.label} ID: id value of incorrect type: {str(raw_id)[:40]}", ["Id"],
                    )  # fmt: skip
                ctx.records.update(obj.name, full, values, user_id=session.user_id)
            except ApiErrorResponse as exc:
                failed = True
                valid = full is not None and exc.error_code not in ("MALFORMED_ID", "NOT_FOUND")
                results.append(_failure(exc, full if valid else None))
                continue
            results.append({"id": full, "success": True, "errors": []})
        return finish(results, failed, all_or_none, point)


def delete(
    ctx: Context, session: Session, ids: list[str], all_or_none: bool
) -> list[dict[str, Any]]:
    """Delete each record (any mix of types) in order; one DeleteResult per id."""
    if len(ids) > MAX_RECORDS:
        raise too_many()
    results: list[dict[str, Any]] = []
    failed = False
    with savepoint(ctx) as point:
        for raw_id in ids:
            obj = sobject_of_id(raw_id)
            try:
                if obj is None:
                    raise ApiErrorResponse(400, "MALFORMED_ID", f"malformed id {raw_id[:40]}")
                full = normalize_id(raw_id)
                ctx.records.delete(obj.name, full, user_id=session.user_id)
            except ApiErrorResponse as exc:
                failed = True
                results.append(_failure(exc))
                continue
            results.append({"id": full, "success": True, "errors": []})
        return finish(results, failed, all_or_none, point)


def retrieve(
    ctx: Context, sobject: str, ids: list[str], fields: list[str], version: str
) -> list[dict[str, object] | None]:
    """Records of one type in the order of ``ids``; None where an id names no readable record.

    Raises:
        ApiErrorResponse: 404 for an unknown type, 400 ``INVALID_FIELD`` for a field it lacks.
    """
    obj = get_sobject(sobject)
    if obj is None:
        raise _not_found()
    if len(ids) > MAX_RETRIEVE:
        raise too_many(MAX_RETRIEVE)
    for name in fields:
        if obj.field(name) is None:
            # The store checks fields only once it has found a record; a bad field must fail
            # the request even when no id matches, so it is checked first, with its message.
            raise no_such_column(name[:80], obj.name)
    out: list[dict[str, object] | None] = []
    for raw_id in ids:
        try:
            out.append(ctx.records.get(obj.name, raw_id, fields, api_version=version))
        except ApiErrorResponse:  # not found, deleted, malformed or of another type
            out.append(None)
    return out
