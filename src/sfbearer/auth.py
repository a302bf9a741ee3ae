"""``SalesforceAuth``: plug sfbearer's tokens into any ``httpx`` client.

Example:
    >>> import httpx
    >>> from sfbearer import JWTBearerCredentials, SalesforceAuth
    >>> creds = JWTBearerCredentials.from_profile("prod")  # doctest: +SKIP
    >>> with httpx.Client(auth=SalesforceAuth(creds)) as http:  # doctest: +SKIP
    ...     http.get(creds.token().instance_url + "/services/data/").json()

How it works (httpx's generator auth flow): the core, :meth:`SalesforceAuth.flow`, does no
I/O. It yields *instructions* — "give me a token", "read this response's body",
"drop this token and give me a new one" — and requests to send; the sync and async drivers
carry them out. Only a 401's body is ever read (``requires_response_body`` stays False), so
``client.stream(...)`` keeps streaming.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sfbearer._exceptions import ApiError, EnvironmentConfigError
from sfbearer._http import httpx
from sfbearer.token import Token

if TYPE_CHECKING:
    from sfbearer.credentials import JWTBearerCredentials

__all__ = [
    "NeedToken",
    "ReadBody",
    "Reauthenticate",
    "SalesforceAuth",
    "invalid_session_body",
    "is_invalid_session",
    "token_may_go_to",
]


@dataclass(frozen=True, slots=True)
class NeedToken:
    """Instruction: send back a valid :class:`~sfbearer.token.Token`."""


@dataclass(frozen=True, slots=True)
class ReadBody:
    """Instruction: read the whole body of ``response`` and send it back."""

    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Reauthenticate:
    """Instruction: invalidate ``stale`` (compare-and-invalidate) and send back a valid token."""

    stale: Token


Step = NeedToken | ReadBody | Reauthenticate | httpx.Request


def is_invalid_session(response: httpx.Response) -> bool:
    """True for 401 ``INVALID_SESSION_ID`` (an expired or revoked session): worth one re-auth."""
    return response.status_code == 401 and invalid_session_body(response.content)


# Salesforce's 401 message when the session's app lacks the ``api`` (or ``full``) scope: it
# says INVALID_SESSION_ID too, but a new login gets the same scopes, so it is not retried.
NO_API_SCOPE = "not valid for use with the REST API"


def invalid_session_body(content: bytes) -> bool:
    """True when a 401's body is Salesforce's ``INVALID_SESSION_ID`` error array for a session
    that has ended (expired or revoked) — not one refused for a missing ``api`` scope."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return False
    errors = payload if isinstance(payload, list) else [payload]
    return any(
        isinstance(e, dict)
        and e.get("errorCode") == "INVALID_SESSION_ID"
        and NO_API_SCOPE not in str(e.get("message", ""))
        for e in errors
    )


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def token_may_go_to(url: str, token: Token) -> bool:
    """True when ``url`` is on the token's instance or identity origin (scheme, host, port).

    The token was accepted only after both passed the host rules; it goes nowhere else.
    """
    target = _origin(url)
    return target[1] != "" and any(target == _origin(u) for u in (token.instance_url, token.id_url))


def _replayable(request: httpx.Request) -> bool:
    try:
        request.content  # noqa: B018 - raises RequestNotRead for a streamed body
    except httpx.RequestNotRead:
        return False
    return True


class SalesforceAuth(httpx.Auth):
    """An ``httpx.Auth`` that sends sfbearer's bearer token and heals an expired session.

    On 401 ``INVALID_SESSION_ID`` it invalidates that token (only that one), gets a new one
    (one re-authentication however many calls failed at once) and replays the request once;
    a second 401 is returned as is. The token is sent only to the token's ``instance_url``
    and identity hosts; any other host raises :class:`~sfbearer.EnvironmentConfigError`.

    Args:
        credentials: where tokens come from.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, credentials: JWTBearerCredentials) -> None:
        self.credentials = credentials
        self._prepared: tuple[Token, frozenset[tuple[str, str, int]], str] | None = None

    def flow(self, request: httpx.Request) -> Generator[Step, object, None]:
        """The sans-I/O flow; see the module docstring for the instructions it yields."""
        token = yield NeedToken()
        assert isinstance(token, Token)
        self._authorize(request, token)
        response = yield request
        assert isinstance(response, httpx.Response)
        if response.status_code != 401:
            return
        yield ReadBody(response)
        if not is_invalid_session(response):
            return
        fresh = yield Reauthenticate(token)
        assert isinstance(fresh, Token)
        if not _replayable(request):
            raise ApiError(
                401,
                "INVALID_SESSION_ID",
                "the session expired and this request's streamed body cannot be sent again; "
                "a new session is ready, so send the request again (or pass the body as bytes)",
                method=request.method,
                url=str(request.url.copy_with(query=None)),
            )
        self._authorize(request, fresh)
        yield request

    def _authorize(self, request: httpx.Request, token: Token) -> None:
        cached = self._prepared
        if cached is None or cached[0] is not token:
            # Once per token, not per request: the allowed origins and the header value.
            origins = frozenset(_origin(u) for u in (token.instance_url, token.id_url))
            cached = self._prepared = (token, origins, f"Bearer {token.access_token}")
        url = request.url
        scheme = url.scheme
        target = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        if target not in cached[1]:
            raise EnvironmentConfigError(
                f"refusing to send the access token to {scheme}://{url.host}: "
                "it is neither the org's instance URL nor its identity host",
                hint=f"request paths under {token.instance_url}",
            )
        request.headers["Authorization"] = cached[2]

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        creds = self.credentials
        flow = self.flow(request)
        step = next(flow)
        while True:
            reply: object
            if isinstance(step, httpx.Request):
                reply = yield step
            elif isinstance(step, NeedToken):
                reply = creds.token()
            elif isinstance(step, ReadBody):
                step.response.read()
                reply = step.response
            else:
                creds.invalidate(step.stale)
                reply = creds.token()
            try:
                step = flow.send(reply)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        creds = self.credentials
        flow = self.flow(request)
        step = next(flow)
        while True:
            reply: object
            if isinstance(step, httpx.Request):
                reply = yield step
            elif isinstance(step, NeedToken):
                reply = await creds.atoken()
            elif isinstance(step, ReadBody):
                await step.response.aread()
                reply = step.response
            else:
                await creds.ainvalidate(step.stale)
                reply = await creds.atoken()
            try:
                step = flow.send(reply)
            except StopIteration:
                return

    def __repr__(self) -> str:
        return f"SalesforceAuth({self.credentials!r})"
