"""A simple-salesforce ``Salesforce`` whose session comes from sfbearer and renews itself.

Example:
    >>> from sfbearer import JWTBearerCredentials
    >>> from sfbearer.integrations.simple_salesforce import connect
    >>> sf = connect(JWTBearerCredentials.from_profile("prod"))  # doctest: +SKIP
    >>> sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"]  # doctest: +SKIP

The login is sfbearer's (cached, single-flight, strict assertions, host rules); every
request of the ``Salesforce`` object goes through :class:`SalesforceRequestsAuth`, so an
expired session is renewed once and the call replayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import ConfigError

try:
    import requests
    from simple_salesforce.api import Salesforce
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise ConfigError(
        "this adapter needs simple-salesforce",
        hint="pip install 'sfbearer[simple-salesforce]'",
    ) from exc

from sfbearer.integrations.requests import SalesforceRequestsAuth

if TYPE_CHECKING:
    from sfbearer.credentials import JWTBearerCredentials
    from sfbearer.token import Token

__all__ = ["connect"]


def connect(
    credentials: JWTBearerCredentials,
    *,
    version: str | None = None,
    session: requests.Session | None = None,
    **kwargs: Any,
) -> Salesforce:
    """A ready ``simple_salesforce.Salesforce`` on sfbearer's credentials.

    Args:
        credentials: where tokens come from.
        version: the API version (simple-salesforce's default otherwise).
        session: a ``requests.Session`` to use (its ``auth`` is replaced).
        **kwargs: passed to ``Salesforce`` (``proxies``, ``client_id``...).
    """
    token = credentials.token()
    http = session or requests.Session()
    if version is not None:
        kwargs["version"] = version
    sf = Salesforce(
        session_id=token.access_token, instance_url=token.instance_url, session=http, **kwargs
    )

    def mirror(current: Token) -> None:
        # Keep simple-salesforce's own view of the session current (Bulk handlers read it).
        if sf.session_id != current.access_token:
            sf.session_id = current.access_token
            sf.headers["Authorization"] = f"Bearer {current.access_token}"

    http.auth = SalesforceRequestsAuth(credentials, on_token=mirror)
    return sf
