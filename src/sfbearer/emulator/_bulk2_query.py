"""Running a Bulk API 2.0 query job: SOQL through the record store, rows as CSV lines.

The query runs when the job is created (the creation answer says ``UploadComplete``; the job
is ``JobComplete`` by the first GET), so a refused query is refused at creation with the
query resource's error (400 ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``...).
What Bulk API 2.0 does not run — ``COUNT()``, aggregates and ``GROUP BY``, ``OFFSET``,
parent-to-child subqueries — is refused at creation with 400 ``API_ERROR``. Parent fields are
columns named by their path (``Account.Name``); every value is quoted, null is ``""``.

Results are read in pages: ``locator`` is the base64 of the offset of the page's first row,
as Salesforce's locators are; the last page answers ``Sforce-Locator: null``.

Example:
    >>> locator(2000), offset_of("MjAwMA", 5000)
    ('MjAwMA', 2000)
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sfbearer.emulator._bulk2_csv import DELIMITERS, render_line
from sfbearer.emulator._bulk2_jobs import MAX_JOB_BYTES, Job
from sfbearer.emulator._soql_plan import expand_fields
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, SObjectDef, get_sobject
from sfbearer.emulator.soql import Query, parse

__all__ = ["locator", "offset_of", "run_query"]


def locator(offset: int) -> str:
    """The locator of the page starting at row ``offset``."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def offset_of(text: str, rows: int) -> int:
    """The row a locator points at.

    Raises:
        ApiErrorResponse: 400 ``INVALIDLOCATOR`` for anything no answer handed out.
    """
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 0 <= int(raw) <= rows:
        raise ApiErrorResponse(400, "INVALIDLOCATOR", f"Invalid locator: {text[:40]}")
    return int(raw)


def _unsupported(query: Query) -> str | None:
    if query.count:
        return "COUNT() is not supported by Bulk API 2.0 queries"
    if query.aggregate:
        return "Aggregate queries and GROUP BY are not supported by Bulk API 2.0 queries"
    if query.offset is not None:
        return "OFFSET is not supported by Bulk API 2.0 queries"
    if query.subqueries:
        return "Nested queries (parent-to-child subqueries) are not supported by Bulk API 2.0"
    return None


def _path(obj: SObjectDef, parts: tuple[str, ...]) -> tuple[str, ...]:
    """A field path in canonical spelling: relationship names, then the field's name."""
    # ``SELECT Account.Name FROM Account`` names the queried object itself.
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and not obj.relationship(parts[0]):
        parts = parts[1:]
    names: list[str] = []
    current: SObjectDef | None = obj
    for i, part in enumerate(parts):
        if current is None:
            names.append(part)
        elif i == len(parts) - 1:
            fdef = current.field(part)
            names.append(fdef.name if fdef else part)
        else:
            rel = current.relationship(part)
            names.append(rel.relationship_name or part if rel else part)
            current = get_sobject(rel.reference_to[0]) if rel and rel.reference_to else None
    return tuple(names)


def _text(value: object) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(record: dict[str, Any], path: tuple[str, ...]) -> str:
    value: object = record
    for name in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(name)
    return _text(value)


def run_query(ctx: Context, job: Job) -> None:
    """Run the job's query and keep its rows (``job.header``, ``job.lines``).

    Raises:
        ApiErrorResponse: the query is refused (the job is not created).
    """
    query = parse(job.query)
    refusal = _unsupported(query)
    if refusal is not None:
        raise ApiErrorResponse(400, "API_ERROR", refusal)
    include_deleted = job.operation == "queryAll"
    page: dict[str, Any] = ctx.records.query(
        job.query, include_deleted=include_deleted, api_version=job.api_version
    )
    obj = get_sobject(query.sobject)
    assert obj is not None  # the store has run the query
    job.object = obj.name
    paths: list[tuple[str, ...]] = []
    for ref in expand_fields(query, obj).fields:
        path = _path(obj, ref.parts)
        if path not in paths:
            paths.append(path)
    delimiter = DELIMITERS[job.delimiter]
    lines: list[bytes] = []
    size = 0
    while True:
        for record in page["records"]:
            values = [_value(record, p) for p in paths]
            text = render_line(values, delimiter, job.line_ending, quote_all=True)
            line = text.encode("utf-8", "replace")
            size += len(line)
            lines.append(line)
        if size > MAX_JOB_BYTES:
            job.error_message = (
                f"The query's results exceed the {MAX_JOB_BYTES // (1024 * 1024)} MB a job may hold"
            )
            job.state = "Failed"
            return
        if page.get("done", True):
            break
        page = ctx.records.query_more(str(page["nextRecordsUrl"]).rsplit("/", 1)[-1])
    names = [".".join(p) for p in paths]
    header = render_line(names, delimiter, job.line_ending, quote_all=True).encode("utf-8")
    job.header, job.lines = header, lines
    job.processed = len(lines)
    job.state = "JobComplete"
