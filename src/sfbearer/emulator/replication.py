"""The replication resources: ``GET /sobjects/{type}/deleted/`` and ``/updated/``.

``?start=...&end=...`` (ISO 8601; seconds ignored, as Salesforce does) name a window that
must be longer than a minute and begin no earlier than 15 days (deleted) or 30 days
(updated) before now; otherwise 400 ``INVALID_REPLICATION_DATE``. A window reaching past
now is covered up to now (``latestDateCovered``). A record counts at its ``SystemModstamp``:
when it was deleted, or last created or changed.

Example:
    >>> from datetime import UTC, datetime
    >>> window = replication_window("2026-12-01T10:00:59Z", "2026-12-01T10:30:00+00:00",
    ...     now=datetime(2026, 12, 1, 10, 20, 30, tzinfo=UTC), days=15)
    >>> [t.strftime("%H:%M:%S") for t in window]
    ['10:00:00', '10:20:00']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, format_datetime, get_sobject, parse_datetime

__all__ = ["deleted", "replication_window", "updated"]

DELETED_DAYS = 15
UPDATED_DAYS = 30


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _bad(message: str) -> ApiErrorResponse:
    return ApiErrorResponse(400, "INVALID_REPLICATION_DATE", message)


def replication_window(
    start: str | None, end: str | None, *, now: datetime, days: int
) -> tuple[datetime, datetime]:
    """The window ``[start, latestDateCovered)`` a request asks for, checked.

    Raises:
        ApiErrorResponse: 400 ``MISSING_ARGUMENT`` without ``start`` or ``end``; 400
            ``INVALID_REPLICATION_DATE`` for a date that does not parse, a window of a minute
            or less, or one that starts too long ago.
    """
    for name, value in (("start", start), ("end", end)):
        if not value:
            raise ApiErrorResponse(400, "MISSING_ARGUMENT", f"{name} parameter is required")
    begin, finish = parse_datetime(start or ""), parse_datetime(end or "")
    if begin is None or finish is None:
        wrong = start if begin is None else end
        raise _bad(f"unable to parse the date and time '{(wrong or '')[:40]}' (ISO 8601 expected)")
    begin, finish = _minute(begin), _minute(finish)
    if finish - begin <= timedelta(minutes=1):
        raise _bad("start must precede end by more than one minute")
    earliest = _minute(now) - timedelta(days=days)
    if begin < earliest:
        raise _bad(f"start must be on or after {format_datetime(earliest)}")
    return begin, min(finish, _minute(now))


def _window(ctx: Context, sobject: str, params: Any, days: int) -> tuple[str, datetime, datetime]:
    obj = get_sobject(sobject)
    if obj is None:
        raise ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")
    now = ctx.clock.utcnow()
    begin, covered = replication_window(params.get("start"), params.get("end"), now=now, days=days)
    return obj.name, begin, covered


def _stamp(row: dict[str, object]) -> datetime | None:
    return parse_datetime(str(row.get("SystemModstamp") or ""))


def deleted(ctx: Context, sobject: str, params: Any) -> dict[str, object]:
    """``GET /sobjects/{type}/deleted/?start=&end=``: the records deleted in the window."""
    name, begin, covered = _window(ctx, sobject, params, DELETED_DAYS)
    records = []
    for row in ctx.records.rows(name, include_deleted=True):
        stamp = _stamp(row) if row.get("IsDeleted") else None
        if stamp is not None and begin <= stamp < covered:
            records.append({"id": row["Id"], "deletedDate": row["SystemModstamp"]})
    earliest = _minute(ctx.clock.utcnow()) - timedelta(days=DELETED_DAYS)
    return {
        "deletedRecords": records,
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(covered),
    }


def updated(ctx: Context, sobject: str, params: Any) -> dict[str, object]:
    """``GET /sobjects/{type}/updated/?start=&end=``: live records created or changed in it."""
    name, begin, covered = _window(ctx, sobject, params, UPDATED_DAYS)
    ids = []
    for row in ctx.records.rows(name, include_deleted=False):
        stamp = _stamp(row)
        if stamp is not None and begin <= stamp < covered:
            ids.append(row["Id"])
    return {"ids": ids, "latestDateCovered": format_datetime(covered)}
