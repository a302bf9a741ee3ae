"""Processing a Bulk API 2.0 ingest job: its CSV rows through the record store, one by one.

Each row goes through the same code as the REST API — :class:`.records.RecordStore`'s
create, update and delete, and :func:`._external_ids.upsert` — so it meets the same checks
and errors; a refused row lands in ``failedResults`` with its error spelled as Salesforce
spells it (``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --``), the others
in ``successfulResults``. An empty value is no value (an update leaves the field as it is);
``#N/A`` sets the field to null. A header naming an unknown field, a wrong line ending or
malformed CSV fails the whole job (``state`` ``Failed`` with an ``errorMessage``).

Example (the error spelling):
    >>> from sfbearer.emulator.schema import ApiErrorResponse
    >>> error_text(ApiErrorResponse(400, "REQUIRED_FIELD_MISSING",
    ...                             "Required fields are missing: [Name]", ["Name"]))
    'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --'
    >>> error_text(ApiErrorResponse(404, "ENTITY_IS_DELETED", "entity is deleted"))
    'ENTITY_IS_DELETED:entity is deleted:--'
"""

from __future__ import annotations

import time
from collections import Counter

from sfbearer.emulator._batch import savepoint
from sfbearer.emulator._bulk2_csv import (
    DELIMITERS,
    CsvError,
    parse_upload,
    quoted,
    render_line,
)
from sfbearer.emulator._bulk2_jobs import Job, touch
from sfbearer.emulator._external_ids import key_field, upsert_in_batch
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, SObjectDef, get_sobject, normalize_id
from sfbearer.emulator.sessions import Session

__all__ = ["MAX_JOB_RECORDS", "NULL_VALUE", "error_text", "process", "unprocessed"]

MAX_JOB_RECORDS = 10000
"""Rows one job may carry in the emulator (each is written on its own, under one lock)."""
NULL_VALUE = "#N/A"
"""The value that sets a field to null (an empty value sets nothing)."""


def error_text(exc: ApiErrorResponse) -> str:
    """A record's ``sf__Error``: ``CODE:message:fields --``."""
    fields = ",".join(exc.fields)
    return f"{exc.error_code}:{exc.message}:" + (f"{fields} --" if fields else "--")


def _rows(job: Job) -> tuple[list[str], list[list[str]]]:
    """Every upload's rows under the first upload's header (each upload repeats the header)."""
    if not job.uploads:
        raise CsvError("InvalidBatch : No data was uploaded for this job")
    delimiter = DELIMITERS[job.delimiter]
    header: list[str] = []
    rows: list[list[str]] = []
    for data in job.uploads:
        names, more = parse_upload(data, delimiter, job.line_ending)
        if header and [n.lower() for n in names] != [n.lower() for n in header]:
            raise CsvError("InvalidBatch : Every upload of a job must have the same header row")
        header = header or names
        rows.extend(more)
        if len(rows) > MAX_JOB_RECORDS:
            raise CsvError(
                f"ClientInputError : A job may carry at most {MAX_JOB_RECORDS} records here"
            )
    return header, rows


def _columns(obj: SObjectDef, header: list[str]) -> list[str]:
    """The canonical field name of each column."""
    names: list[str] = []
    for name in header:
        fdef = obj.field(name)
        if fdef is None:
            raise CsvError(f"InvalidBatch : Field name not found : {name[:80]}")
        if fdef.name in names:
            raise CsvError(f"InvalidBatch : Duplicate field name: {name[:80]}")
        names.append(fdef.name)
    return names


def unprocessed(job: Job) -> bytes:
    """The uploaded rows a failed or aborted job never wrote (all of them), with the header."""
    try:
        header, rows = _rows(job)
    except CsvError:
        return b"".join(job.uploads)
    delimiter, ending = DELIMITERS[job.delimiter], job.line_ending
    text = render_line(header, delimiter, ending)
    text += "".join(render_line(row, delimiter, ending) for row in rows)
    return text.encode("utf-8")


def _write(
    ctx: Context, session: Session, job: Job, obj: SObjectDef, record: dict[str, object | None],
    key_counts: Counter[str],
) -> tuple[str, bool]:  # fmt: skip
    """One row's write: its record id and whether it was created."""
    user = session.user_id
    if job.operation == "insert":
        return ctx.records.create(obj.name, record, user_id=user), True
    if job.operation == "upsert":
        key = key_field(obj, job.external_id or "Id")
        value = record.get(key.name)
        if value is None and key.name == "Id":
            record.pop("Id", None)
            return ctx.records.create(obj.name, record, user_id=user), True
        return upsert_in_batch(ctx, session, obj.name, key, value, record, key_counts,
                               version=job.api_version)  # fmt: skip
    given = record.pop("Id", None)
    if not isinstance(given, str):
        verb = "update" if job.operation == "update" else "delete"
        raise ApiErrorResponse(400, "MISSING_ARGUMENT", f"Id not specified in an {verb} call")
    if job.operation == "update":
        ctx.records.update(obj.name, given, record, user_id=user)
    else:  # delete and hardDelete (the emulator keeps deleted rows for queryAll either way)
        ctx.records.delete(obj.name, given, user_id=user)
    return str(normalize_id(given) or given), False


def process(ctx: Context, session: Session, job: Job) -> None:
    """Write the job's rows and keep its result files; the job ends JobComplete or Failed."""
    started = time.perf_counter()
    obj = get_sobject(job.object)
    try:
        if obj is None:  # the custom object was removed since the job was created
            raise CsvError(f"InvalidBatch : Entity '{job.object}' is not supported")
        header, rows = _rows(job)
        columns = _columns(obj, header)
        if job.operation in ("update", "delete", "hardDelete") and "Id" not in columns:
            raise CsvError("InvalidBatch : Field name not found : Id")
    except CsvError as exc:
        job.results = {"unprocessedrecords": unprocessed(job)}
        job.uploads = []
        job.error_message = str(exc)
        touch(ctx, job, "Failed")
        return
    key = key_field(obj, job.external_id).name if job.external_id else ""
    at = columns.index(key) if key in columns else -1
    counts = Counter(row[at].lower() for row in rows if at >= 0 and row[at] not in ("", NULL_VALUE))
    delimiter, ending = DELIMITERS[job.delimiter], job.line_ending
    ok: list[str] = []
    bad: list[str] = []
    with savepoint(ctx):  # one commit for the whole job
        for row in rows:
            record: dict[str, object | None] = {name: (None if value == NULL_VALUE else value)
                      for name, value in zip(columns, row, strict=True) if value != ""}  # fmt: skip
            if job.operation in ("delete", "hardDelete"):
                record = {"Id": record.get("Id")}
            given = str(record.get("Id") or "")
            try:
                record_id, created = _write(ctx, session, job, obj, record, counts)
            except ApiErrorResponse as exc:
                line = quoted(given) + delimiter + quoted(error_text(exc))
                bad.append(line + delimiter + render_line(row, delimiter, ending))
                continue
            line = quoted(record_id) + delimiter + quoted("true" if created else "false")
            ok.append(line + delimiter + render_line(row, delimiter, ending))
    names = render_line(header, delimiter, ending)
    sf_ok = quoted("sf__Id") + delimiter + quoted("sf__Created") + delimiter + names
    sf_bad = quoted("sf__Id") + delimiter + quoted("sf__Error") + delimiter + names
    job.results = {
        "successfulResults": (sf_ok + "".join(ok)).encode("utf-8", "replace"),
        "failedResults": (sf_bad + "".join(bad)).encode("utf-8", "replace"),
        "unprocessedrecords": names.encode("utf-8"),
    }
    job.uploads = []
    job.processed, job.failed = len(rows), len(bad)
    job.processing_ms = int((time.perf_counter() - started) * 1000)
    touch(ctx, job, "JobComplete")
