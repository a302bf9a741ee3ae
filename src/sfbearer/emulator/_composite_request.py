"""The Composite resource: ``POST /vXX.X/composite`` runs up to 25 subrequests in one call.

The body is ``{"allOrNone": bool, "collateSubrequests": bool, "compositeRequest": [{"method",
"url", "referenceId", "body", "httpHeaders"}]}``. Subrequests run in order, as the caller,
each through the same handler (and checks) as the request sent alone: sObject rows
(``/sobjects/...``), ``query``/``queryAll`` and sObject Collections (``/composite/sobjects``).
A later subrequest may use an earlier one's answer with ``@{referenceId.field}`` or
``@{referenceId.records[0].Id}`` in its url or in the strings of its body; a reference that
cannot be resolved fails that subrequest with 400 ``PROCESSING_HALTED`` (``Invalid reference
specified. No value for ... found in ...``). With ``allOrNone`` the first failure undoes every
change and every other subrequest answers 400 ``PROCESSING_HALTED`` (``The transaction was
rolled back since another operation in the same transaction failed.``); an sObject Collections
subrequest then behaves as with its own ``allOrNone`` set. The answer is always 200
``{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}`` in
request order, unless the request as a whole is refused. ``collateSubrequests`` is accepted
and has no effect (subrequests always run in order). The request is one API call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from sfbearer.emulator._batch import request_error, savepoint
from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, get_sobject

__all__ = ["COMPOSITE_SINCE", "Reply", "SubrequestRunner", "run_composite"]

COMPOSITE_SINCE = 34
"""The first API version with the Composite resource."""
MAX_SUBREQUESTS = 25
MAX_QUERIES = 5  # of the 25, query/queryAll and sObject Collections subrequests

_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})  # case-sensitive, as documented
_INHERITED = frozenset({"accept", "authorization", "content-type"})
_REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"@\{([^{}]*)\}")
_PATH = re.compile(r"([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[([0-9]+)\]")
_URL = re.compile(r"/services/data/(v[0-9]+\.[0-9])/([^?]*)")
_URL_SAFE = "".join(chr(c) for c in range(33, 127))  # printable ASCII stays as it is

_ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)


@dataclass(frozen=True)
class Reply:
    """What one subrequest answered: its status, headers and (decoded JSON) body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


SubrequestRunner = Callable[[str, str, str, dict[str, str], bytes], Awaitable[Reply]]
"""``(method, path, query string, headers, body) -> Reply``: one subrequest, as the caller,
through the REST layer's own routing (not counted as an API call)."""


@dataclass(frozen=True)
class _Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any
    has_body: bool
    headers: dict[str, str]


class _Unresolved(Exception):
    def __init__(self, expression: str, reference_id: str) -> None:
        super().__init__(expression)
        self.expression = expression
        self.reference_id = reference_id


# --- request shape ---------------------------------------------------------------------------


def _parse_error(message: str) -> ApiErrorResponse:
    return request_error(400, "JSON_PARSER_ERROR", message)


def _invalid(message: str) -> ApiErrorResponse:
    return request_error(400, "INVALID_INPUT", message)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _parse_error(f"Cannot deserialize '{name}': a boolean is expected")


def _string(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise _parse_error(f"Cannot deserialize a subrequest: '{name}' (a string) is required")
    return value


def _subrequest(item: object) -> _Subrequest:
    if not isinstance(item, dict):
        raise _parse_error("Cannot deserialize a subrequest: an object is expected")
    method, url, ref = (_string(item, n) for n in ("method", "url", "referenceId"))
    if method not in _METHODS:
        raise _invalid(f"Invalid method '{method[:20]}': use GET, POST, PATCH, PUT or DELETE")
    if not url.startswith("/services/data/"):
        raise _invalid(f"Invalid url '{url[:80]}': it must start with /services/data/")
    if not _REFERENCE_ID.fullmatch(ref):
        raise _parse_error(
            f"Provided referenceId ('{ref[:80]}') must start with a letter or a number, and it "
            "can contain only letters, numbers and underscores ('_')."
        )
    headers = item.get("httpHeaders") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _parse_error("Cannot deserialize 'httpHeaders': a map of strings is expected")
    for name in headers:
        if name.lower() in _INHERITED:
            raise _invalid(f"The subrequest header '{name[:40]}' is not allowed: subrequests "
                           "inherit Accept, Authorization and Content-Type from the request")  # fmt: skip
    lowered = {k.lower(): v for k, v in headers.items()}
    return _Subrequest(method, url, ref, item.get("body"), "body" in item, lowered)


def _resource(rest: str) -> list[str]:
    """The path segments after the version, as far as they name a resource Composite serves
    (sObject rows, query/queryAll, sObject Collections); [] for any other."""
    parts = [p for p in rest.split("/") if p]
    if parts[:1] in (["sobjects"], ["query"], ["queryAll"]) or parts[:2] == [
        "composite",
        "sobjects",
    ]:
        return parts
    return []


def _is_query_or_collection(url: str) -> bool:
    found = _URL.match(url)
    parts = _resource(found.group(2)) if found else []
    return parts[:1] in (["query"], ["queryAll"]) or parts[:1] == ["composite"]


def _limit_exceeded(message: str) -> ApiErrorResponse:
    return request_error(400, "LIMIT_EXCEEDED", message)


def _parse(payload: dict[str, Any]) -> tuple[bool, list[_Subrequest]]:
    all_or_none = _flag(payload, "allOrNone")
    _flag(payload, "collateSubrequests")  # accepted; subrequests always run in order
    items = payload.get("compositeRequest")
    if items is None:
        raise request_error(400, "MISSING_ARGUMENT", "compositeRequest parameter is required")
    if not isinstance(items, list):
        raise _parse_error("Cannot deserialize 'compositeRequest': a list is expected")
    if not items:
        raise request_error(400, "MISSING_ARGUMENT", "compositeRequest parameter is required")
    if len(items) > MAX_SUBREQUESTS:
        raise _limit_exceeded(f"The request can’t contain more than {MAX_SUBREQUESTS} operations.")
    subrequests = [_subrequest(item) for item in items]
    if sum(_is_query_or_collection(s.url) for s in subrequests) > MAX_QUERIES:
        raise _limit_exceeded(
            f"The request can’t contain more than {MAX_QUERIES} query or sObject Collections "
            "operations."
        )
    seen: set[str] = set()
    for sub in subrequests:
        if sub.reference_id in seen:
            raise _invalid(f"Duplicate referenceId provided in the request: {sub.reference_id}")
        seen.add(sub.reference_id)
    return all_or_none, subrequests


# --- references ------------------------------------------------------------------------------


def _lookup(expression: str, answers: dict[str, Any]) -> Any:
    """The scalar an ``@{...}`` expression names in an earlier successful answer."""
    found = _PATH.fullmatch(expression)
    ref = found.group(1) if found else expression.split(".")[0].split("[")[0]
    if found is None or not found.group(2) or ref not in answers:
        raise _Unresolved(expression, ref)
    value = answers[ref]
    for step in _STEP.finditer(found.group(2)):
        name, index = step.group(1), step.group(2)
        if name is not None and isinstance(value, dict) and name in value:
            value = value[name]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise _Unresolved(expression, ref)
    if value is None or isinstance(value, dict | list):
        raise _Unresolved(expression, ref)
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _substitute(text: str, answers: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda m: _text(_lookup(m.group(1), answers)), text)


def _resolve_body(value: Any, answers: dict[str, Any]) -> Any:
    """References replaced in every string of a body; a string that is one reference only
    takes the referenced value as it is (a number stays a number)."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), answers)
        return _substitute(value, answers)
    if isinstance(value, dict):
        return {k: _resolve_body(v, answers) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_body(v, answers) for v in value]
    return value


# --- running ---------------------------------------------------------------------------------


def _entry(reply: Reply, reference_id: str) -> dict[str, Any]:
    return {"body": reply.body, "httpHeaders": reply.headers, "httpStatusCode": reply.status,
            "referenceId": reference_id}  # fmt: skip


def _halted(message: str) -> Reply:
    return Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": message}])


def _collection_write(method: str, rest: str) -> bool:
    parts = [p for p in rest.split("/") if p]
    return parts == ["composite", "sobjects"] and method in ("POST", "PATCH", "DELETE")


def _record_failed(reply: Reply) -> bool:
    body = reply.body
    return isinstance(body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in body
    )


def _location(method: str, version: str, rest: str, reply: Reply) -> dict[str, str]:
    """A created record's URL, as Salesforce gives it for a subrequest's 201."""
    parts = [p for p in rest.split("/") if p]
    if method != "POST" or reply.status != 201 or len(parts) != 2 or parts[0] != "sobjects":
        return {}
    obj = get_sobject(parts[1])
    new_id = reply.body.get("id") if isinstance(reply.body, dict) else None
    if obj is None or not isinstance(new_id, str):
        return {}
    return {"Location": f"/services/data/{version}/sobjects/{obj.name}/{new_id}"}


async def _run_one(
    sub: _Subrequest, answers: dict[str, Any], all_or_none: bool, runner: SubrequestRunner
) -> tuple[Reply, bool]:
    """One subrequest's reply, and whether it failed."""
    try:
        url = _substitute(sub.url, answers)
        body = _resolve_body(sub.body, answers)
    except _Unresolved as exc:
        message = (f"Invalid reference specified. No value for {exc.expression[:200]} found in "
                   f"{exc.reference_id[:80]}.")  # fmt: skip
        return _halted(message), True
    raw_path, _, query = url.partition("?")
    path = unquote(raw_path)
    found = _URL.fullmatch(path)
    version, rest = (found.group(1), found.group(2)) if found else ("", "")
    collection_write = _collection_write(sub.method, rest)
    if all_or_none and collection_write:
        # The Composite request's allOrNone overrides the collection's own.
        if sub.method == "DELETE":
            query = "&".join([p for p in query.split("&") if not p.lower().startswith(
                "allornone=")] + ["allOrNone=true"])  # fmt: skip
        elif isinstance(body, dict):
            body = {**body, "allOrNone": True}
    if not _resource(rest):
        error = ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")
        return Reply(error.status, error.body()), True
    raw = json.dumps(body).encode() if sub.has_body else b""
    query = quote(query, safe=_URL_SAFE)
    reply = await runner(sub.method, path, query, sub.headers, raw)
    headers = _location(sub.method, version, rest, reply)
    if headers:
        reply = Reply(reply.status, reply.body, headers)
    failed = not 200 <= reply.status < 300 or (all_or_none and collection_write
                                                and _record_failed(reply))  # fmt: skip
    return reply, failed


async def run_composite(
    ctx: Context, payload: dict[str, Any], runner: SubrequestRunner
) -> dict[str, Any]:
    """Run a Composite request's subrequests in order; the ``compositeResponse`` body.

    Raises:
        ApiErrorResponse: the request as a whole is refused (shape, limits, duplicates).
    """
    all_or_none, subrequests = _parse(payload)
    replies: list[Reply] = []
    answers: dict[str, Any] = {}
    # One savepoint for the whole request (the database lock is held throughout: the
    # subrequest handlers never wait on the network, their body is already in memory).
    with savepoint(ctx) as point:
        for sub in subrequests:
            reply, failed = await _run_one(sub, answers, all_or_none, runner)
            replies.append(reply)
            if not failed:
                answers[sub.reference_id] = reply.body
            elif all_or_none:
                point.rollback()
                halted = _halted(_ROLLED_BACK)
                failing = len(replies) - 1
                replies = [r if i == failing else halted for i, r in enumerate(replies)]
                replies += [halted] * (len(subrequests) - len(replies))
                break
    return {"compositeResponse": [
        _entry(reply, sub.reference_id) for reply, sub in zip(replies, subrequests, strict=True)
    ]}  # fmt: skip
