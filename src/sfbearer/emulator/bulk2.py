"""Bulk API 2.0 under ``/services/data/vXX.X/jobs/``: ingest jobs (v41.0+), query jobs (v47.0+).

Ingest: ``POST /jobs/ingest`` creates a job (``Open``); ``PUT /jobs/ingest/{id}/batches``
uploads CSV (several uploads append, each with the same header); ``PATCH /jobs/ingest/{id}``
with ``{"state": "UploadComplete"}`` processes it at once (:mod:`._bulk2_ingest`: the job is
``JobComplete`` or ``Failed`` when the answer comes), ``{"state": "Aborted"}`` aborts it;
``GET`` the job, its ``successfulResults``, ``failedResults`` and ``unprocessedrecords``;
``DELETE`` it; ``GET /jobs/ingest`` lists jobs.

Query: ``POST /jobs/query`` runs the query (:mod:`._bulk2_query`); ``GET /jobs/query/{id}``,
``GET /jobs/query/{id}/results?maxRecords=N&locator=L``, ``PATCH`` (abort), ``DELETE``,
``GET /jobs/query``. Jobs are kept in memory, bounded (:mod:`._bulk2_jobs`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sfbearer.emulator._bulk2_csv import DELIMITERS, LINE_ENDINGS
from sfbearer.emulator._bulk2_ingest import process, unprocessed
from sfbearer.emulator._bulk2_jobs import FINISHED, Job, job_info, jobs_of, not_found, touch
from sfbearer.emulator._bulk2_query import locator, offset_of, run_query
from sfbearer.emulator._external_ids import key_field
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, format_datetime, get_sobject
from sfbearer.emulator.sessions import Session
from sfbearer.emulator.wire import JsonResponse, first_header, read_limited_body

__all__ = ["INGEST_SINCE", "MAX_UPLOAD_BYTES", "QUERY_SINCE", "dispatch"]

INGEST_SINCE = 41
QUERY_SINCE = 47
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""One upload's size (Salesforce takes 150 MB; the emulator keeps less in memory)."""
PAGE = 1000  # jobs per page of a job list

BodyReader = Callable[[], Awaitable[dict[str, Any]]]
_INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_RESULTS = {"successfulresults": "successfulResults", "failedresults": "failedResults",
            "unprocessedrecords": "unprocessedrecords"}  # fmt: skip


def _error(status: int, code: str, message: str) -> ApiErrorResponse:
    return ApiErrorResponse(status, code, message)


def _not_allowed(method: str, allowed: str) -> ApiErrorResponse:
    return _error(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )


def _invalid_state(job: Job) -> ApiErrorResponse:
    return _error(400, "INVALIDJOBSTATE", f"Job {job.id} is in state {job.state}: not allowed")


def _option(body: dict[str, Any], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise _error(
            400, "INVALIDJOB",
            f"InvalidJob : {name} must be one of {', '.join(allowed)}: {str(value)[:40]}",
        )  # fmt: skip
    return value


def _new_job(ctx: Context, session: Session, kind: str, body: dict[str, Any], version: str) -> Job:
    operations = _INGEST_OPERATIONS if kind == "ingest" else ("query", "queryAll")
    operation = body.get("operation")
    if not isinstance(operation, str) or operation not in operations:
        raise _error(
            400, "INVALIDJOB", f"InvalidJob : Invalid job operation: {str(operation)[:40]}"
        )
    _option(body, "contentType", "CSV", ("CSV",))
    now = format_datetime(ctx.clock.utcnow())
    return Job(
        id=jobs_of(ctx).new_id(), kind=kind, operation=operation, object="",
        created_by=session.user_id, created=now, modstamp=now, api_version=version,
        delimiter=_option(body, "columnDelimiter", "COMMA", tuple(DELIMITERS)),
        line_ending=_option(body, "lineEnding", "LF", tuple(LINE_ENDINGS)),
    )  # fmt: skip


def _create_ingest(ctx: Context, session: Session, body: dict[str, Any], version: str) -> Job:
    job = _new_job(ctx, session, "ingest", body, version)
    name = body.get("object")
    obj = get_sobject(name) if isinstance(name, str) and name else None
    if obj is None or not obj.createable:
        raise _error(
            400, "INVALIDENTITY", f"Entity '{str(name)[:80]}' is not supported by the Bulk API."
        )
    job.object = obj.name
    if job.operation == "upsert":
        field = body.get("externalIdFieldName")
        if not isinstance(field, str) or not field:
            raise _error(
                400, "INVALIDJOB",
                f"InvalidJob : External ID was blank for {obj.name}. An External ID must be "
                "specified for upsert.",
            )  # fmt: skip
        try:
            job.external_id = key_field(obj, field).name
        except ApiErrorResponse:
            raise _error(
                400, "INVALIDJOB",
                f"InvalidJob : Field name provided, {field[:80]} does not match an External ID, "
                f"Salesforce Id, or indexed field for {obj.name}",
            ) from None  # fmt: skip
    return job


def _create_query(ctx: Context, session: Session, body: dict[str, Any], version: str) -> Job:
    job = _new_job(ctx, session, "query", body, version)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _error(400, "INVALIDJOB", "InvalidJob : A query must be specified")
    job.query = query
    run_query(ctx, job)
    return job


async def dispatch(
    request: Request, ctx: Context, session: Session, rest: list[str], version: str,
    read_body: BodyReader,
) -> Response:  # fmt: skip
    """Answer ``/services/data/v{version}/jobs/{rest...}`` for an authenticated caller.

    Raises:
        ApiErrorResponse: the request is refused (the caller serialises it).
    """
    major = int(float(version))
    if not rest or rest[0] not in ("ingest", "query") or len(rest) > 3:
        raise not_found()
    kind = rest[0]
    if major < (INGEST_SINCE if kind == "ingest" else QUERY_SINCE):
        raise not_found()
    method = request.method
    jobs = jobs_of(ctx)
    if len(rest) == 1:
        if method == "POST":
            body = await read_body()
            create = _create_ingest if kind == "ingest" else _create_query
            job = create(ctx, session, body, version)
            jobs.add(job)
            answer = job_info(job, detail=False)
            if kind == "query":  # processed already; the creation answer says it was queued
                answer["state"] = "UploadComplete" if job.state == "JobComplete" else job.state
            return JsonResponse(answer)
        if method == "GET":
            return JsonResponse(_listing(request, jobs.listed(kind), kind, version))
        raise _not_allowed(method, "GET,POST")
    job = jobs.get(kind, rest[1])
    if len(rest) == 2:
        if method == "GET":
            return JsonResponse(job_info(job, detail=True))
        if method == "PATCH":
            return JsonResponse(_set_state(ctx, session, job, await read_body()))
        if method == "DELETE":
            if job.state == "Open" or job.state not in FINISHED | {"UploadComplete"}:
                raise _invalid_state(job)
            jobs.remove(job)
            return Response(status_code=204)
        raise _not_allowed(method, "GET,PATCH,DELETE")
    tail = rest[2]
    if kind == "ingest" and tail == "batches":
        if method != "PUT":
            raise _not_allowed(method, "PUT")
        return await _upload(request, ctx, job)
    if method != "GET":
        raise _not_allowed(method, "GET")
    if kind == "ingest" and tail.lower() in _RESULTS:
        return _ingest_results(job, _RESULTS[tail.lower()])
    if kind == "query" and tail == "results":
        return _query_results(request, job)
    raise not_found()


def _set_state(ctx: Context, session: Session, job: Job, body: dict[str, Any]) -> dict[str, Any]:
    wanted = body.get("state")
    allowed = ("UploadComplete", "Aborted") if job.kind == "ingest" else ("Aborted",)
    if not isinstance(wanted, str) or wanted not in allowed:
        raise _error(
            400, "INVALIDJOBSTATE", f"Invalid state: {str(wanted)[:40]}; "
            f"a job can be set to {' or '.join(allowed)}",
        )  # fmt: skip
    if job.state != "Open":
        raise _invalid_state(job)
    if wanted == "Aborted":
        job.results = {"unprocessedrecords": unprocessed(job)}
        job.uploads = []
        touch(ctx, job, "Aborted")
        return job_info(job, detail=False)
    touch(ctx, job, "UploadComplete")
    answer = job_info(job, detail=False)  # the state the request moved the job to
    process(ctx, session, job)
    return answer


async def _upload(request: Request, ctx: Context, job: Job) -> Response:
    kind = first_header(request.scope, b"content-type").split(";")[0].strip().lower()
    if kind != "text/csv":
        raise _error(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content type '{kind[:60]}' is not supported: use text/csv",
        )
    body = await read_limited_body(request, MAX_UPLOAD_BYTES)
    if body is None:
        raise _error(
            413, "REQUEST_ENTITY_TOO_LARGE",
            f"An upload may carry at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
        )  # fmt: skip
    if job.state != "Open":
        raise _error(409, "INVALIDJOBSTATE", f"Job {job.id} is not in Open state")
    if not body.strip():
        raise _error(400, "INVALIDBATCH", "InvalidBatch : The upload carries no data")
    jobs_of(ctx).make_room(job, len(body))
    job.uploads.append(body)
    return Response(status_code=201)


def _ingest_results(job: Job, name: str) -> Response:
    if job.state not in FINISHED:
        raise _error(400, "INVALIDJOBSTATE", f"Job {job.id} is not finished: state {job.state}")
    if name not in job.results:
        empty = {
            "successfulResults": '"sf__Id","sf__Created"',
            "failedResults": '"sf__Id","sf__Error"',
        }
        data = (empty.get(name, "") + "\n").encode() if name in empty else b""
    else:
        data = job.results[name]
    return Response(data, media_type="text/csv")


def _query_results(request: Request, job: Job) -> Response:
    if job.state != "JobComplete":
        raise _error(400, "INVALIDJOBSTATE", f"Job {job.id} is not complete: state {job.state}")
    params = request.query_params
    total = len(job.lines)
    start = offset_of(params["locator"], total) if params.get("locator") else 0
    raw = params.get("maxRecords")
    if raw is None or raw == "":
        count = total - start
    elif raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) > 0:
        count = int(raw)
    else:
        raise _error(400, "INVALIDPARAMETER", f"maxRecords must be a positive integer: {raw[:20]}")
    end = min(start + count, total)
    body = job.header + b"".join(job.lines[start:end])
    headers = {"Sforce-Locator": locator(end) if end < total else "null",
               "Sforce-NumberOfRecords": str(end - start)}  # fmt: skip
    return Response(body, media_type="text/csv", headers=headers)


def _listing(request: Request, found: list[Job], kind: str, version: str) -> dict[str, Any]:
    params = request.query_params
    job_type = params.get("jobType")
    if job_type:
        found = [j for j in found if job_info(j, detail=False, listed=True)["jobType"] == job_type]
    if (params.get("concurrencyMode") or "Parallel") != "Parallel":
        found = []
    raw = params.get("queryLocator") or "0"
    start = offset_of(raw, len(found)) if raw != "0" else 0
    page = found[start : start + PAGE]
    done = start + PAGE >= len(found)
    url = (
        None
        if done
        else f"/services/data/v{version}/jobs/{kind}?queryLocator={locator(start + PAGE)}"
    )
    return {"done": done, "records": [job_info(j, detail=False, listed=True) for j in page],
            "nextRecordsUrl": url}  # fmt: skip
