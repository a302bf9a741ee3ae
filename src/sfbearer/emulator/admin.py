"""The admin API under ``/__emulator/``: configure a running emulator (loopback clients only).

Used by ``sfbearer emulator add-app|add-user|authorize|revoke-sessions|stats|faults --url``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sfbearer.emulator import ops
from sfbearer.emulator.context import Context
from sfbearer.emulator.registry import RegistryError
from sfbearer.emulator.wire import JsonResponse, read_limited_body

__all__ = ["routes"]

_MAX_BODY = 256 * 1024
Handler = Callable[[Context, dict[str, Any]], Any]


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain(message: str) -> str:
    """A TypeError about the body's keys in the words of the admin API, not Python's.

    Example:
        >>> _plain("add_field() missing 1 required keyword-only argument: 'name'")
        "'name' is required"
        >>> _plain("add_user() got an unexpected keyword argument 'nick'")
        "unknown key 'nick'"
    """
    missing = re.findall(r"'(\w+)'", message) if "missing" in message else []
    if missing:
        return ", ".join(f"'{name}'" for name in missing) + (
            " is required" if len(missing) == 1 else " are required"
        )
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", message)
    if unexpected:
        return f"unknown key '{unexpected.group(1)}'"
    return "the body's values have the wrong types"


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status_code=status)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not _is_loopback(request):
            return _error(403, "the admin API answers loopback clients only")
        ctx: Context = request.app.state.ctx
        params: dict[str, Any] = {}
        if request.method == "POST":
            body = await read_limited_body(request, _MAX_BODY)
            if body is None:
                return _error(413, "request body too large")
            try:
                params = json.loads(body or b"{}")
            except (ValueError, RecursionError):
                return _error(400, "the body must be a JSON object")
            if not isinstance(params, dict):
                return _error(400, "the body must be a JSON object")
        try:
            return JsonResponse(handler(ctx, params))
        except (RegistryError, ValueError) as exc:
            return _error(400, str(exc))
        except TypeError as exc:  # a body whose keys do not fit the operation
            return _error(400, _plain(str(exc)))

    return endpoint


def _state(ctx: Context, params: dict[str, Any]) -> Any:
    return ops.describe_state(ctx)


def _stats(ctx: Context, params: dict[str, Any]) -> Any:
    return ctx.sessions.stats()


def _add_app(ctx: Context, params: dict[str, Any]) -> Any:
    cert = params.get("certificate")
    if not isinstance(cert, str) or "-----BEGIN CERTIFICATE" not in cert:
        # Never a path: the admin API must not read files of the emulator's host.
        raise ValueError("certificate must be PEM text")
    return ops.add_app(ctx, **params).to_dict()


def _add_user(ctx: Context, params: dict[str, Any]) -> Any:
    return ops.add_user(ctx, **params).to_dict()


def _add_field(ctx: Context, params: dict[str, Any]) -> Any:
    return ops.add_field(ctx, **params)


def _add_object(ctx: Context, params: dict[str, Any]) -> Any:
    return ops.add_object(ctx, **params)


def _authorize(ctx: Context, params: dict[str, Any]) -> Any:
    return ops.authorize(ctx, **params).to_dict()


def _revoke(ctx: Context, params: dict[str, Any]) -> Any:
    return {"revoked": ops.revoke_sessions(ctx, params.get("user"))}


def _faults(ctx: Context, params: dict[str, Any]) -> Any:
    if params.pop("reset", False):
        ctx.faults.reset()
    if params:
        ctx.faults.update(**params)
    return ctx.faults.to_dict()


def _clock(ctx: Context, params: dict[str, Any]) -> Any:
    seconds = float(params.get("advance_seconds", 0))
    if seconds:
        ctx.clock.advance(seconds=seconds)
    if params.get("reset"):
        ctx.clock.reset()
    return {"now": ctx.clock.now(), "offset": ctx.clock.offset}


def routes() -> list[Route]:
    return [
        Route("/__emulator/state", _endpoint(_state), methods=["GET"]),
        Route("/__emulator/stats", _endpoint(_stats), methods=["GET"]),
        Route("/__emulator/apps", _endpoint(_add_app), methods=["POST"]),
        Route("/__emulator/users", _endpoint(_add_user), methods=["POST"]),
        Route("/__emulator/objects", _endpoint(_add_object), methods=["POST"]),
        Route("/__emulator/fields", _endpoint(_add_field), methods=["POST"]),
        Route("/__emulator/authorize", _endpoint(_authorize), methods=["POST"]),
        Route("/__emulator/revoke-sessions", _endpoint(_revoke), methods=["POST"]),
        Route("/__emulator/faults", _endpoint(_faults), methods=["GET", "POST"]),
        Route("/__emulator/clock", _endpoint(_clock), methods=["GET", "POST"]),
    ]
