"""``SalesforceRequestsAuth``: sfbearer's tokens for the ``requests`` library.

Example:
    >>> import requests
    >>> from sfbearer.integrations.requests import SalesforceRequestsAuth
    >>> session = requests.Session()  # doctest: +SKIP
    >>> session.auth = SalesforceRequestsAuth(creds)  # doctest: +SKIP
    >>> session.get(creds.token().instance_url + "/services/data/").json()  # doctest: +SKIP

The same behaviour as :class:`~sfbearer.SalesforceAuth`: the bearer header, only to the
token's instance and identity hosts; on 401 ``INVALID_SESSION_ID`` one re-authentication
and one replay; a second 401 is returned as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import ApiError, ConfigError, EnvironmentConfigError
from sfbearer.auth import invalid_session_body, token_may_go_to

try:
    import requests
    from requests.auth import AuthBase
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise ConfigError(
        "the requests adapter needs the requests package",
        hint="pip install 'sfbearer[requests]'",
    ) from exc

if TYPE_CHECKING:
    from sfbearer.credentials import JWTBearerCredentials
    from sfbearer.token import Token

__all__ = ["SalesforceRequestsAuth"]

_TOKEN_ATTR = "_sfbearer_token"
_REPLAYED_ATTR = "_sfbearer_replayed"


class SalesforceRequestsAuth(AuthBase):
    """A ``requests`` auth that sends sfbearer's bearer token and heals an expired session.

    Args:
        credentials: where tokens come from.
        on_token: called with each token put on a request (lets wrappers mirror it).
    """

    def __init__(
        self,
        credentials: JWTBearerCredentials,
        *,
        on_token: Callable[[Token], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self._on_token = on_token

    def _authorize(self, request: requests.PreparedRequest, token: Token) -> None:
        url = request.url or ""
        if not token_may_go_to(url, token):
            raise EnvironmentConfigError(
                "refusing to send the access token to a host that is neither the org's "
                "instance URL nor its identity host",
                hint=f"request paths under {token.instance_url}",
            )
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        if "X-SFDC-Session" in request.headers:  # the Bulk API v1 header
            request.headers["X-SFDC-Session"] = token.access_token
        setattr(request, _TOKEN_ATTR, token)
        if self._on_token is not None:
            self._on_token(token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._authorize(request, self.credentials.token())
        request.register_hook("response", self._handle_401)  # type: ignore[no-untyped-call]
        return request

    def _handle_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        stale = getattr(request, _TOKEN_ATTR, None)
        if (
            response.status_code != 401
            or stale is None
            or getattr(request, _REPLAYED_ATTR, False)
            or not invalid_session_body(response.content)
        ):
            return response
        self.credentials.invalidate(stale)
        fresh = self.credentials.token()
        if request.body is not None and not isinstance(request.body, bytes | str):
            raise ApiError(
                401,
                "INVALID_SESSION_ID",
                "the session expired and this request's streamed body cannot be sent again; "
                "a new session is ready, so send the request again",
                method=request.method or "",
                url=(request.url or "").split("?")[0],
            )
        response.close()
        replay = request.copy()
        setattr(replay, _REPLAYED_ATTR, True)
        self._authorize(replay, fresh)
        adapter = response.connection  # the transport adapter that sent the first attempt
        retried: requests.Response = adapter.send(replay, **kwargs)
        retried.history.append(response)
        retried.request = replay
        return retried

    def __repr__(self) -> str:
        return f"SalesforceRequestsAuth({self.credentials!r})"
