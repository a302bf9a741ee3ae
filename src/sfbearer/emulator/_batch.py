"""What sObject Collections and sObject Tree share: one savepoint, error entries, limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sfbearer.emulator._objects import OBJECTS
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, SObjectDef, normalize_id

__all__ = [
    "MAX_RECORDS",
    "Savepoint",
    "error_entry",
    "request_error",
    "savepoint",
    "sobject_of_id",
    "too_many",
]

MAX_RECORDS = 200
"""Records one collections or tree request may carry."""

_BY_PREFIX = {obj.key_prefix: obj for obj in OBJECTS}


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
    return _BY_PREFIX.get(full[:3]) if full is not None else None


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
