"""The REST API slice: versions, resources, limits, query/queryAll, sObjects CRUD and describe.

Every answer under ``/services/data/vXX.X/`` carries ``Sforce-Limit-Info``; errors are
Salesforce's JSON arrays. Paths work with and without a trailing slash.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sfbearer.emulator import _external_ids as external_ids
from sfbearer.emulator import bulk2, composite, data, replication
from sfbearer.emulator._composite_request import Reply
from sfbearer.emulator._external_ids import MultipleMatches
from sfbearer.emulator.context import LATEST_VERSION, Context
from sfbearer.emulator.custom_fields import enter_schema, leave_schema
from sfbearer.emulator.oauth import bearer_token
from sfbearer.emulator.schema import ApiErrorResponse
from sfbearer.emulator.sessions import Session
from sfbearer.emulator.wire import JsonResponse, first_header, query_value, read_limited_body

__all__ = ["ping", "routes", "versions"]

_VERSION = re.compile(r"^v([0-9]{2})\.0$")
_OLDEST = 31
_MAX_JSON_BODY = 1024 * 1024


def versions() -> list[dict[str, str]]:
    """Every API version served, oldest first, labelled with its release."""
    newest = int(float(LATEST_VERSION))
    out = []
    for v in range(_OLDEST, newest + 1):
        group, pos = divmod(newest - v, 3)
        season, year = [("Winter", 27), ("Summer", 26), ("Spring", 26)][pos]
        out.append(
            {
                "label": f"{season} '{year - group:02d}",
                "url": f"/services/data/v{v}.0",
                "version": f"{v}.0",
            }
        )
    return out


def _error(
    status: int, code: str, message: str, fields: list[str] | None = None
) -> ApiErrorResponse:
    return ApiErrorResponse(status, code, message, fields or [])


def _not_found() -> ApiErrorResponse:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _day_key(ctx: Context) -> str:
    """The counter of today's API calls (UTC days, by the emulator's clock)."""
    return f"api:day:{int(ctx.clock.now() // 86400)}"


def _limit_header(ctx: Context) -> tuple[bytes, bytes]:
    used = ctx.sessions.counter(_day_key(ctx))
    return b"sforce-limit-info", f"api-usage={used}/{ctx.config.daily_api_limit}".encode("latin-1")


def _authenticate(request: Request, ctx: Context) -> Session:
    if not request.headers.get("authorization"):
        raise _error(401, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE")
    raw = bearer_token(request)
    session = ctx.sessions.lookup(raw) if raw else None
    if session is None:
        raise _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if not session.scopes & {"api", "full"}:
        raise _error(
            401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API"
        )
    day = _day_key(ctx)
    if ctx.sessions.counter(day) >= ctx.config.daily_api_limit:
        raise _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    ctx.sessions.bump("api:calls", day)
    return session


async def _json_body(request: Request) -> dict[str, Any]:
    body = await read_limited_body(request, _MAX_JSON_BODY)
    if body is None:
        raise _error(413, "REQUEST_ENTITY_TOO_LARGE", "The request body is too large")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _error(
            400, "JSON_PARSER_ERROR", "Cannot deserialize the request body: an object is expected"
        )
    return value


def _resources(version: str, identity: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    names = ["sobjects", "query", "queryAll", "limits", "composite"]  # the ones served here
    if float(version) >= 41:
        names.append("jobs")  # Bulk API 2.0 (query jobs from v47.0)
    resources = {name: f"{base}/{name}" for name in names}
    # As in Salesforce: the caller's own identity URL, absolute (jsforce's identity() reads it).
    resources["identity"] = identity
    return resources


def _limits(ctx: Context) -> dict[str, Any]:
    used = ctx.sessions.counter(_day_key(ctx))
    cap = ctx.config.daily_api_limit

    def entry(mx: int, remaining: int) -> dict[str, int]:
        return {"Max": mx, "Remaining": remaining}

    return {
        "DailyApiRequests": entry(cap, max(cap - used, 0)),
        "DailyAsyncApexExecutions": entry(250000, 250000),
        "DailyBulkApiBatches": entry(15000, 15000),
        "DailyBulkV2QueryJobs": entry(10000, 10000),
        "DataStorageMB": entry(5, 5),
        "FileStorageMB": entry(20, 20),
        "HourlyTimeBasedWorkflow": entry(1000, 1000),
        "SingleEmail": entry(5000, 5000),
    }


def _version(segment: str) -> str:
    """``68.0`` for ``v68.0``; 404 for a version not served."""
    match = _VERSION.match(segment)
    if not match or not _OLDEST <= int(match.group(1)) <= int(float(LATEST_VERSION)):
        raise _not_found()
    return segment[1:]


async def _dispatch(request: Request, ctx: Context, parts: list[str]) -> Response:
    version = _version(parts[0])
    session = _authenticate(request, ctx)
    return await _route(request, ctx, session, version, parts[1:])


async def _subrequest(
    request: Request,
    ctx: Context,
    session: Session,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
) -> Reply:
    """One Composite subrequest through :func:`_route`, as ``session`` (no new API call)."""
    sent = body

    async def receive() -> dict[str, Any]:
        nonlocal sent
        chunk, sent = sent, b""
        return {"type": "http.request", "body": chunk, "more_body": False}

    raw = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
           for k, v in headers.items()]  # fmt: skip
    raw.append((b"content-type", b"application/json"))
    scope = {**request.scope, "method": method, "path": path, "raw_path": path.encode(),
             "query_string": query.encode("latin-1", "replace"), "headers": raw}  # fmt: skip
    parts = [p for p in path.split("/") if p]
    try:
        response = await _route(
            Request(scope, receive), ctx, session, _version(parts[2]), parts[3:]
        )
    except ApiErrorResponse as exc:
        return Reply(exc.status, exc.body())
    content = bytes(response.body)
    return Reply(response.status_code, json.loads(content) if content else None)


async def _route(
    request: Request, ctx: Context, session: Session, version: str, rest: list[str]
) -> Response:
    method = request.method
    if not rest:
        return JsonResponse(_resources(version, ctx.identity_url(session.user_id)))
    head = rest[0]
    if head == "limits" and len(rest) == 1:
        return JsonResponse(_limits(ctx))
    if head in ("query", "queryAll") and len(rest) <= 2:
        if method != "GET":
            raise _error(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD",
            )
        if len(rest) == 2:
            return JsonResponse(data.next_page(ctx, rest[1], version))
        raw_query = request.scope["query_string"]
        q = query_value(raw_query, "q")
        if q is None:
            raise _error(400, "MALFORMED_QUERY", "A query string has to be specified")
        if (query_value(raw_query, "columns") or "").lower() == "true":
            return JsonResponse(data.query_columns(ctx, q, version, all_rows=head == "queryAll"))
        options = first_header(request.scope, b"sforce-query-options")
        return JsonResponse(
            data.query(ctx, q, version, all_rows=head == "queryAll", options=options)
        )
    if head == "sobjects":
        return await _sobjects(request, ctx, session, rest[1:], version)
    if head == "composite":
        return await composite.dispatch(
            request, ctx, session, rest[1:], version, lambda: _json_body(request),
            functools.partial(_subrequest, request, ctx, session),
        )  # fmt: skip
    if head == "jobs":
        return await bulk2.dispatch(request, ctx, session, rest[1:], version,
                                    lambda: _json_body(request))  # fmt: skip
    raise _not_found()


async def _sobjects(
    request: Request, ctx: Context, session: Session, rest: list[str], version: str
) -> Response:
    method = request.method
    if not rest:
        return JsonResponse(data.describe_global(version))
    sobject = rest[0]
    if len(rest) == 1:
        if method == "POST":
            new_id = data.create(ctx, sobject, await _json_body(request), session)
            return JsonResponse({"id": new_id, "success": True, "errors": []}, status_code=201)
        if method == "GET":
            return JsonResponse(data.sobject_info(sobject, version))
    elif len(rest) == 2 and rest[1] in ("describe", "deleted", "updated"):
        if method != "GET":
            raise _error(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD",
            )
        if rest[1] == "describe":
            return JsonResponse(data.describe(sobject, version))
        answer = replication.deleted if rest[1] == "deleted" else replication.updated
        return JsonResponse(answer(ctx, sobject, request.query_params))
    elif len(rest) == 2 and rest[1] == "Id" and method == "POST" and float(version) >= 37:
        # Upsert by Id with no value: a plain create (Salesforce, v37.0 and later).
        new_id = data.create(ctx, sobject, await _json_body(request), session)
        return JsonResponse({"id": new_id, "success": True, "errors": []}, status_code=201)
    elif len(rest) == 3:
        try:
            return await _by_external_id(request, ctx, session, rest, version)
        except MultipleMatches as many:
            return JsonResponse(many.urls, status_code=300)
    elif len(rest) == 2:
        record_id = rest[1]
        if method == "GET":
            return JsonResponse(data.get(ctx, sobject, record_id, _fields(request), version))
        if method == "PATCH":
            data.update(ctx, sobject, record_id, await _json_body(request), session)
            return Response(status_code=204)
        if method == "DELETE":
            data.delete(ctx, sobject, record_id, session)
            return Response(status_code=204)
        raise _error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE",
        )
    raise _not_found()


def _fields(request: Request) -> list[str] | None:
    fields = request.query_params.get("fields")
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else None


async def _by_external_id(
    request: Request, ctx: Context, session: Session, rest: list[str], version: str
) -> Response:
    """``/sobjects/{type}/{field}/{value}``: get, upsert or delete by ``Id`` or an external id."""
    method = request.method
    sobject, field, value = rest
    if method == "GET":
        return JsonResponse(
            external_ids.get_by(ctx, sobject, field, value, _fields(request), version)
        )
    if method == "DELETE":
        external_ids.delete_by(ctx, session, sobject, field, value, version)
        return Response(status_code=204)
    if method != "PATCH":
        raise _error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE",
        )
    update_only = (request.query_params.get("updateOnly") or "").lower() == "true"
    record_id, created = external_ids.upsert(
        ctx, session, sobject, field, value, await _json_body(request),
        update_only=update_only, version=version,
    )  # fmt: skip
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if float(version) >= external_ids.UPSERT_CREATED_SINCE:
        return JsonResponse({**body, "created": created}, status_code=201 if created else 200)
    return JsonResponse(body, status_code=201) if created else Response(status_code=204)


async def _api(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    path = request.path_params.get("rest", "")
    parts = [p for p in path.strip("/").split("/") if p] if path.strip("/") else []
    if not parts:
        return JsonResponse(versions())
    records = ctx.records
    fresh = ctx.custom_fields.refreshed(records.schema)  # added through the file meanwhile?
    if fresh is not records.schema:
        records.schema = fresh
    schema = enter_schema(fresh)  # the org's custom objects and fields
    try:
        response = await _dispatch(request, ctx, parts)
    except ApiErrorResponse as exc:
        response = JsonResponse(exc.body(), exc.status)
    finally:
        leave_schema(schema)
    # Appended as MutableHeaders would append it (no response here carries it already).
    response.raw_headers.append(_limit_header(ctx))
    return response


async def _versions(request: Request) -> Response:
    return JsonResponse(versions())


async def ping(request: Request) -> Response:
    """A trivial endpoint on the same stack (benchmarks compare against it)."""
    return JsonResponse({"ok": True, "time": dt.datetime.now(dt.UTC).isoformat()})


def routes() -> list[Route]:
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return [
        Route("/services/data", _versions, methods=["GET"]),
        Route("/services/data/", _versions, methods=["GET"]),
        Route("/services/data/{rest:path}", _api, methods=methods),
    ]
