"""The Starlette application: routes, fault injection, and Salesforce-shaped fallbacks."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sfbearer.emulator import admin, oauth, rest
from sfbearer.emulator.context import Context
from sfbearer.emulator.wire import JsonResponse

__all__ = ["build_app"]

_DROP_MESSAGE = "ASGI callable returned without completing response."


class _QuietDrops(logging.Filter):
    """Injected connection drops are intentional: keep them out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _kind(path: str) -> str | None:
    if path.startswith(("/services/oauth2/", "/id/")):
        return "token"
    if path.startswith("/services/data"):
        return "api"
    return None


class FaultMiddleware:
    """Adds latency, 5xx answers and dropped connections as :class:`Faults` say."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.ctx.faults
        if faults.latency <= 0 and faults.error_rate <= 0 and faults.drop_rate <= 0:
            await self.app(scope, receive, send)  # nothing to inject: the usual case
            return
        kind = _kind(scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None or not faults.applies_to(kind):
            await self.app(scope, receive, send)
            return
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.roll(faults.drop_rate):
            # Start a response and never finish it: the server closes the connection.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            return
        if faults.roll(faults.error_rate):
            await _injected_error(kind, faults.error_status, faults.retry_after)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _injected_error(kind: str, status: int, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if kind == "token":
        headers["Cache-Control"] = "no-store"
        body: Any = {"error": "server_error" if status != 503 else "temporarily_unavailable",
                     "error_description": "the server is temporarily unavailable"}  # fmt: skip
    else:
        code = "SERVER_UNAVAILABLE" if status == 503 else "UNKNOWN_EXCEPTION"
        body = [{"message": "An unexpected error occurred. Please try again.", "errorCode": code}]
    return JsonResponse(body, status_code=status, headers=headers)


class GuardMiddleware:
    """The last line: an unexpected exception becomes a Salesforce-shaped 500, never a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if started or scope["type"] != "http":
                raise
            # The server is stopping and its grace period is over: the request still gets an
            # answer it can retry elsewhere, not a traceback and a bare 500.
            body = json.dumps([{"message": "The emulator is stopping; retry the request.",
                                "errorCode": "SERVER_UNAVAILABLE"}])  # fmt: skip
            headers = {"Retry-After": "1", "Connection": "close"}
            await Response(body, 503, headers=headers, media_type="application/json")(
                scope, receive, send
            )
        except Exception:
            if started or scope["type"] != "http":
                raise
            logging.getLogger("sfbearer.emulator").exception("unexpected error")
            body = json.dumps(
                [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}]
            )
            await Response(body, 500, media_type="application/json")(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JsonResponse(
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
        status_code=404,
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return JsonResponse(
        [
            {
                "errorCode": "METHOD_NOT_ALLOWED",
                "message": f"HTTP Method '{request.method}' not allowed. Allowed are GET,PATCH,DELETE,POST",
            }
        ],
        status_code=405,
    )


_ALL = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]


def build_app(ctx: Context) -> ASGIApp:
    """The emulator as an ASGI application serving ``ctx``'s org."""
    # Most frequent first: the router tries routes in order.
    routes = [
        Route("/services/oauth2/token", oauth.token, methods=_ALL),
        *rest.routes(),
        Route("/__emulator/ping", rest.ping, methods=["GET"]),
        Route("/id/{org_id}/{user_id}", oauth.identity, methods=["GET", "POST"]),
        Route("/services/oauth2/userinfo", oauth.userinfo, methods=["GET", "POST"]),
        Route("/services/oauth2/revoke", oauth.revoke, methods=["GET", "POST"]),
        *admin.routes(),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.ctx = ctx
    return GuardMiddleware(FaultMiddleware(app, ctx))
