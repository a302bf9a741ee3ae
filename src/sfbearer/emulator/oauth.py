"""OAuth endpoints: token (jwt-bearer), userinfo, the identity URL, revoke."""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sfbearer.emulator.config import format_scopes
from sfbearer.emulator.context import Context
from sfbearer.emulator.registry import UserRecord
from sfbearer.emulator.sessions import Session
from sfbearer.emulator.validation import OAuthError, validate_assertion
from sfbearer.emulator.wire import (
    ENCODER,
    JsonResponse,
    first_header,
    parse_form,
    read_limited_body,
)

__all__ = ["identity", "revoke", "token", "token_body", "userinfo"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_RAW = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    """Salesforce's token-endpoint error body, never cached."""
    return JsonResponse({"error": error, "error_description": description}, status, _NO_STORE_RAW)


async def token(request: Request) -> Response:
    """``POST /services/oauth2/token`` with the jwt-bearer grant."""
    ctx = _ctx(request)
    if request.method != "POST":
        return oauth_error("invalid_request", "must use HTTP POST")
    body = await read_limited_body(request, ctx.config.max_body_bytes)
    if body is None:
        ctx.sessions.bump("token:failed")
        return oauth_error("invalid_request", "request entity too large", 413)
    content_type = first_header(request.scope, b"content-type").split(";")[0].strip().lower()
    try:
        form = parse_form(body) if content_type in ("", "application/x-www-form-urlencoded") else {}
    except ValueError:  # more fields than max_num_fields
        form = {}
    seen: dict[str, str] = {}
    now = ctx.clock.now()  # one reading for the checks, the session, the login window, issued_at
    try:
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        verified = validate_assertion(
            form.get("assertion", ""),
            registry=ctx.registry,
            config=ctx.config,
            clock=ctx.clock,
            audiences=ctx.audiences,
            jti_cache=ctx.jti_cache,
            logins=ctx.logins,
            faults=ctx.faults,
            seen=seen,
            now=now,
        )
    except OAuthError as exc:
        keys = ["token:failed"]
        keys += [f"token:app:{seen['app']}"] if "app" in seen else []
        keys += [f"token:user:{seen['user']}"] if "user" in seen else []
        ctx.sessions.bump(*keys)
        return oauth_error(exc.error, exc.description, exc.status)

    app, user = verified.app, verified.user
    access_token = ctx.sessions.live_token(user.id, app.name) if ctx.config.reuse_sessions else None
    if access_token is None:
        access_token = ctx.sessions.create(user.id, app.name, app.scopes, app.session_timeout, now)
    ctx.logins.record(user.id, now)
    ctx.sessions.bump("token:ok", f"token:app:{app.name}", f"token:user:{user.username}")
    issued_at = str(int(now * 1000))
    identity_url = ctx.identity_url(user.id)
    mac = _org_hmac(ctx.registry.org_secret).copy()
    mac.update((identity_url + issued_at).encode())
    signature = binascii.b2a_base64(mac.digest(), newline=False).decode("ascii")
    return JsonResponse.encoded(
        token_body(access_token, signature, issued_at, app.scopes, ctx.base_url, identity_url),
        200,
        _NO_STORE_RAW,
    )


def token_body(
    access_token: str,
    signature: str,
    issued_at: str,
    scopes: frozenset[str],
    instance_url: str,
    identity_url: str,
) -> bytes:
    """The token response's JSON, byte for byte what ``JSONResponse`` renders for it.

    The fields fixed for a user and app are rendered once; the access token (``[0-9A-Za-z!.]``),
    the base64 signature and the digits of ``issued_at`` never need escaping, so they are
    placed as they are.

    Example:
        >>> token_body("00D!AQx", "c2ln", "1", frozenset({"api"}), "https://e", "https://e/id/1")
        b'{"access_token":"00D!AQx","signature":"c2ln","scope":"api","instance_url":"https://e","id":"https://e/id/1","token_type":"Bearer","issued_at":"1"}'
    """
    fields = _fixed_token_fields(scopes, instance_url, identity_url)
    return (
        f'{{"access_token":"{access_token}","signature":"{signature}",{fields},'
        f'"issued_at":"{issued_at}"}}'
    ).encode()


@functools.lru_cache(maxsize=1024)
def _fixed_token_fields(scopes: frozenset[str], instance_url: str, identity_url: str) -> str:
    fixed = {"scope": _scope_text(scopes), "instance_url": instance_url, "id": identity_url,
             "token_type": "Bearer"}  # fmt: skip
    return ENCODER.encode(fixed)[1:-1]  # the members, without the braces


@functools.lru_cache(maxsize=8)
def _org_hmac(secret: str) -> hmac.HMAC:
    # HMAC-SHA256 keyed with the org's secret, set up once; each signature works on a copy.
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


@functools.lru_cache(maxsize=64)
def _scope_text(scopes: frozenset[str]) -> str:
    return format_scopes(scopes)  # an app's scopes, formatted once rather than per token


def bearer_token(request: Request, *, allow_query: bool = False) -> str | None:
    """The token from ``Authorization: Bearer|OAuth X`` (or ``?oauth_token=`` when allowed)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    if allow_query:
        return request.query_params.get("oauth_token") or None
    return None


def _user_session(request: Request, *, allow_query: bool) -> tuple[Session, UserRecord] | Response:
    ctx = _ctx(request)
    raw = bearer_token(request, allow_query=allow_query)
    if raw is None:
        return PlainTextResponse("Missing_OAuth_Token", status_code=403)
    session = ctx.sessions.lookup(raw)
    user = ctx.registry.get_user(session.user_id) if session else None
    if session is None or user is None:
        return PlainTextResponse("Bad_OAuth_Token", status_code=403)
    return session, user


def _urls(ctx: Context, user_id: str) -> dict[str, str]:
    base = f"{ctx.base_url}/services"
    org = ctx.org_id
    return {
        "enterprise": f"{base}/Soap/c/{{version}}/{org}",
        "metadata": f"{base}/Soap/m/{{version}}/{org}",
        "partner": f"{base}/Soap/u/{{version}}/{org}",
        "rest": f"{base}/data/v{{version}}/",
        "sobjects": f"{base}/data/v{{version}}/sobjects/",
        "search": f"{base}/data/v{{version}}/search/",
        "query": f"{base}/data/v{{version}}/query/",
        "recent": f"{base}/data/v{{version}}/recent/",
        "profile": f"{ctx.base_url}/{user_id}",
        "limits": f"{base}/data/v{{version}}/limits/",
        "custom_domain": ctx.base_url,
    }


def _names(user: UserRecord) -> tuple[str, str]:
    local = user.username.split("@")[0]
    first, _, last = local.replace(".", " ").partition(" ")
    return (first.title() if last else ""), (last or first).title()


def identity_document(ctx: Context, user: UserRecord) -> dict[str, Any]:
    """The identity service's JSON for ``user``."""
    first, last = _names(user)
    return {
        "id": ctx.identity_url(user.id),
        "asserted_user": True,
        "user_id": user.id,
        "organization_id": ctx.org_id,
        "username": user.username,
        "nick_name": user.username.split("@")[0],
        "display_name": f"{first} {last}".strip(),
        "email": user.email,
        "email_verified": True,
        "first_name": first,
        "last_name": last,
        "timezone": "GMT",
        "photos": {},
        "addr_street": None,
        "mobile_phone": None,
        "status": {"created_date": None, "body": None},
        "urls": _urls(ctx, user.id),
        "active": user.active,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": "2026-01-01T00:00:00.000+0000",
        "is_app_installed": True,
    }


async def identity(request: Request) -> Response:
    """``GET /id/{orgId}/{userId}`` with a bearer header or ``?oauth_token=``."""
    ctx = _ctx(request)
    found = _user_session(request, allow_query=True)
    if isinstance(found, Response):
        return found
    org_id, user_id = request.path_params["org_id"], request.path_params["user_id"]
    if org_id[:15] != ctx.org_id[:15]:
        return PlainTextResponse("Wrong_Org", status_code=403)
    target = ctx.registry.get_user(user_id) or next(
        (u for u in ctx.registry.list_users() if u.id[:15] == user_id[:15]), None
    )
    if target is None:
        return PlainTextResponse("Bad_Id", status_code=404)
    if not target.active:
        return PlainTextResponse("Inactive", status_code=404)
    return JsonResponse(identity_document(ctx, target))


async def userinfo(request: Request) -> Response:
    """``GET /services/oauth2/userinfo``: the OpenID Connect view of the user."""
    ctx = _ctx(request)
    found = _user_session(request, allow_query=False)
    if isinstance(found, Response):
        return found
    _session, user = found
    first, last = _names(user)
    return JsonResponse(
        {
            "sub": ctx.identity_url(user.id),
            "user_id": user.id,
            "organization_id": ctx.org_id,
            "preferred_username": user.username,
            "nickname": user.username.split("@")[0],
            "name": f"{first} {last}".strip(),
            "given_name": first,
            "family_name": last,
            "email": user.email,
            "email_verified": True,
            "zoneinfo": "GMT",
            "locale": "en_US",
            "language": "en_US",
            "active": user.active,
            "user_type": "STANDARD",
            "utcOffset": 0,
            "urls": _urls(ctx, user.id),
            "is_app_installed": True,
        }
    )


async def revoke(request: Request) -> Response:
    """``POST /services/oauth2/revoke`` (form ``token=``) or ``GET ?token=``."""
    ctx = _ctx(request)
    raw: str | None = request.query_params.get("token")
    if request.method == "POST" and raw is None:
        body = await read_limited_body(request, ctx.config.max_body_bytes)
        if body is None:
            return oauth_error("invalid_request", "request entity too large", 413)
        try:
            raw = parse_form(body).get("token")
        except ValueError:
            raw = None
    if not raw or not ctx.sessions.revoke_token(raw):
        return oauth_error("unsupported_token_type", "this token type is not supported")
    return Response(status_code=200, headers=_NO_STORE)
