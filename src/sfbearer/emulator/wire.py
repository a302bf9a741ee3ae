"""Reading requests and writing JSON responses the way every emulator endpoint does.

Each helper answers exactly what the Starlette or standard-library call it replaces would
(property-tested against them), with less work per request: the emulator's hot paths use them.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import Scope

__all__ = [
    "ENCODER",
    "JsonResponse",
    "first_header",
    "parse_form",
    "query_value",
    "read_limited_body",
    "render_json",
]

# A body larger than the cap is still read (and thrown away) up to this much, so the client
# gets its JSON error instead of a connection reset while it is still sending.
_DRAIN_LIMIT = 16 * 1024 * 1024


# Starlette's JSONResponse settings, in one encoder made once (json.dumps builds one per call).
ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# For the rare text UTF-8 cannot carry (a lone surrogate a client sent as "\ud800"): escaped.
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
_JSON_TYPE = (b"content-type", b"application/json")


def render_json(content: Any) -> bytes:
    r"""``content`` as ``JSONResponse`` renders it, or, when it holds a lone surrogate (which
    UTF-8 cannot encode and JSON can only escape), as ASCII JSON with ``\uXXXX`` escapes.

    Example:
        >>> render_json({"Name": "caf" + chr(0xE9)})
        b'{"Name":"caf\xc3\xa9"}'
        >>> print(render_json({"Name": "a" + chr(0xD800) + "b"}).decode())
        {"Name":"a\ud800b"}
    """
    text = ENCODER.encode(content)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(content).encode("ascii")


class JsonResponse(JSONResponse):
    """Starlette's :class:`JSONResponse`, byte for byte, with less work per response.

    The body is what ``JSONResponse`` renders; the headers are ``raw_headers`` (already
    lower-case bytes, in order), then ``content-length`` and ``content-type``, as
    ``JSONResponse(content, headers=...)`` would list them (so ``raw_headers`` must not carry
    those two itself).

    Example:
        >>> JsonResponse({"ok": True}).body
        b'{"ok":true}'
    """

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        raw_headers: Iterable[tuple[bytes, bytes]] = (),
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if headers:
            named = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            raw_headers = [*raw_headers, *named]
        self._finish(render_json(content), status_code, raw_headers)

    @classmethod
    def encoded(
        cls, body: bytes, status_code: int = 200, raw_headers: Iterable[tuple[bytes, bytes]] = ()
    ) -> JsonResponse:
        """The response for a body already rendered as ``JSONResponse`` would render it."""
        response = cls.__new__(cls)
        response._finish(body, status_code, raw_headers)
        return response

    def _finish(
        self, body: bytes, status_code: int, raw_headers: Iterable[tuple[bytes, bytes]]
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        headers = list(raw_headers)
        if status_code >= 200 and status_code not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode("latin-1")))
        headers.append(_JSON_TYPE)
        self.raw_headers = headers


def first_header(scope: Scope, name: bytes) -> str:
    """The first value of header ``name`` (lower-case) or ``""``: ``request.headers.get(name, "")``
    without building the headers mapping.

    Example:
        >>> first_header({"headers": [(b"content-type", b"text/plain")]}, b"content-type")
        'text/plain'
    """
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


async def read_limited_body(request: Request, cap: int) -> bytes | None:
    """The request body (Content-Length or chunked), or None when it is larger than ``cap``."""
    declared = first_header(request.scope, b"content-length")
    if declared.isdigit() and int(declared) > _DRAIN_LIMIT:
        return None
    # The ASGI messages read directly, as Request.stream() reads them (without the cost of
    # an async generator per request); the body is read only once, by this function.
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > _DRAIN_LIMIT:
                break
            if chunk and size <= cap:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif kind == "http.disconnect":
            raise ClientDisconnect()
    return None if size > cap else b"".join(chunks)


@functools.lru_cache(maxsize=256)
def _unquote_short(text: str) -> str:
    return urllib.parse.unquote(text, errors="replace")


def _unquote(text: str) -> str:
    # Names and short values (grant_type's URN) recur in every request: decode them once.
    if "%" not in text:
        return text
    return (
        _unquote_short(text) if len(text) <= 256 else urllib.parse.unquote(text, errors="replace")
    )


def parse_form(body: bytes) -> dict[str, str]:
    """The form fields, first occurrence of a name winning (as in most servlet stacks).

    Exactly ``urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=64)``
    (``ValueError`` beyond 64 fields), written out so each field costs a split and a lookup.
    """
    text = body.decode("utf-8", errors="replace")
    if not text:
        return {}
    if text.count("&") + 1 > 64:
        raise ValueError("Max number of fields exceeded")
    form: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = name.replace("+", " ")
        if "%" in name:
            name = _unquote(name)
        if name not in form:
            value = value.replace("+", " ")
            form[name] = _unquote(value) if "%" in value else value
    return form


def query_value(query_string: bytes, name: str) -> str | None:
    """The last value of ``name`` in a raw query string, or None.

    Exactly what Starlette's ``request.query_params.get(name)`` answers, without decoding
    every other parameter.

    Example:
        >>> query_value(b"q=SELECT+Id+FROM+Account&q=x%21", "q")
        'x!'
    """
    found: str | None = None
    for pair in query_string.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if pair and _unquote(key.replace("+", " ")) == name:
            found = _unquote(value.replace("+", " "))
    return found
