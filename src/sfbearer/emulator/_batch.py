"""What sObject Collections and sObject Tree share: one savepoint, error entries, limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sfbearer.emulator.context import Context
from sfbearer.emulator.custom_fields import active_schema
from sfbearer.emulator.schema import ApiErrorResponse, SObjectDef, get_sobject, normalize_id

__all__ = [
    "MAX_RECORDS",
    "Savepoint",
    "all_or_none_of",
    "error_entry",
    "finish",
    "records_of",
    "request_error",
    "savepoint",
    "sobject_of_id",
    "too_many",
]

MAX_RECORDS = 200
"""Records one collections or tree request may carry."""


def request_error(status: int, code: str, message: str) -> ApiErrorResponse:
    """A refusal of the whole request (answered as Salesforce's JSON error array)."""
    return ApiErrorResponse(status, code, message)


def too_many(limit: int = MAX_RECORDS) -> ApiErrorResponse:
    """Salesforce's answer to a collection over its size limit."""
    return request_error(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {limit} records into this call",
    )


def error_entry(exc: ApiErrorResponse) -> dict[str, Any]:
    """One record's error as the collections and tree results spell it (``statusCode``)."""
    return {"statusCode": exc.error_code, "message": exc.message, "fields": list(exc.fields)}


def sobject_of_id(record_id: str) -> SObjectDef | None:
    """The type an id belongs to, from its key prefix; None for a malformed or unknown id."""
    full = normalize_id(record_id)
    return active_schema().by_prefix(full[:3]) if full is not None else None


class Savepoint:
    """A request's changes, undone together by :meth:`rollback` (before the savepoint ends)."""

    def __init__(self, ctx: Context, name: str) -> None:
        self._ctx = ctx
        self._name = name
        self.rolled_back = False

    def rollback(self) -> None:
        self._ctx.db.conn.execute(f"ROLLBACK TO {self._name}")
        self.rolled_back = True
        # The store keeps rows between its own writes; what was undone must not stay there.
        self._ctx.records.invalidate()


@contextmanager
def savepoint(ctx: Context) -> Iterator[Savepoint]:
    """Hold the database lock and open a savepoint for the records of one request.

    One savepoint also makes a batch of 200 inserts a single commit. An unexpected error
    undoes everything before it propagates.
    """
    name = "sfbearer_batch"
    with ctx.db.lock:
        conn = ctx.db.conn
        conn.execute(f"SAVEPOINT {name}")
        point = Savepoint(ctx, name)
        try:
            yield point
        except BaseException:
            if not point.rolled_back:
                point.rollback()
            raise
        finally:
            conn.execute(f"RELEASE {name}")


_ROLLED_BACK = ApiErrorResponse(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


def all_or_none_of(body: dict[str, Any]) -> bool:
    value = body.get("allOrNone", False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None or isinstance(value, bool):
        return bool(value)
    raise request_error(
        400, "JSON_PARSER_ERROR", "Cannot deserialize 'allOrNone': a boolean is expected"
    )


def records_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``records`` list, each with a known ``attributes.type``; else the whole request fails."""
    records = body.get("records")
    if not isinstance(records, list):
        raise request_error(
            400, "JSON_PARSER_ERROR", "Cannot deserialize 'records': a list of sObjects is expected"
        )
    if len(records) > MAX_RECORDS:
        raise too_many()
    for record in records:
        if not isinstance(record, dict):
            raise request_error(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object"
            )
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(sobject, str) or not sobject:
            raise request_error(400, "INVALID_TYPE", "Must send a concrete entity type.")
        if get_sobject(sobject) is None:
            raise request_error(
                400, "INVALID_TYPE",
                f"sObject type '{sobject[:80]}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )  # fmt: skip
    return records


def finish(
    results: list[dict[str, Any]], failed: bool, all_or_none: bool, point: Savepoint,
    *, inserted: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """Under ``allOrNone``, one failure undoes all: the records that had passed say so.

    A rolled-back insert has no id left to name; an update or delete still names its record.
    """
    if not (failed and all_or_none):
        return results
    point.rollback()
    rolled_back = [error_entry(_ROLLED_BACK)]
    out = []
    for result in results:
        if result["success"]:
            named = {} if inserted else {"id": result["id"]}
            result = {**named, "success": False, "errors": rolled_back}
        out.append(result)
    return out
