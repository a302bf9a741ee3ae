"""The access token as a value: what Salesforce returned, and how long we expect it to live.

Salesforce sends no ``expires_in`` in the JWT bearer flow. A token lives for the session
timeout of the app policy (default 2 hours), so its expiry is *estimated*: the configured
session timeout measured from when the token was **received locally**. The server's
``issued_at`` is kept for display only, so a skewed server clock cannot shift the estimate.

Example:
    >>> from sfbearer.token import Token, TokenState
    >>> tok = Token(
    ...     access_token="00D...!AQ", instance_url="https://acme.my.salesforce.com",
    ...     id_url="https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
    ...     received_at=1_000.0, expires_at=1_000.0 + 7200)
    >>> tok.org_id, tok.user_id
    ('00Dxx0000001gPLEAY', '005xx000001SwiUAAS')
    >>> tok.state(1_060.0) is TokenState.FRESH
    True
    >>> "00D...!AQ" in repr(tok)
    False
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sfbearer.audit import token_hash

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "DEFAULT_SESSION_TIMEOUT",
    "EXPIRY_SAFETY",
    "Token",
    "TokenState",
]

#: Salesforce's default session timeout (SALESFORCE.md §4).
DEFAULT_SESSION_TIMEOUT = dt.timedelta(hours=2)
#: Refresh this long before the estimated expiry, so no call ever races the end of a session.
DEFAULT_REFRESH_MARGIN = dt.timedelta(minutes=5)
#: A token this close to its estimated end is treated as gone: a call made now could
#: reach Salesforce after the session ended.
EXPIRY_SAFETY = dt.timedelta(seconds=10)


class TokenState(enum.Enum):
    """Where a token stands (google-auth's FRESH / STALE / INVALID)."""

    FRESH = "fresh"
    """Valid and not yet inside the refresh margin: use it."""
    STALE = "stale"
    """Still valid, but inside the refresh margin: use it, and refresh soon."""
    EXPIRED = "expired"
    """Past (or within seconds of) its estimated expiry: do not use it."""


def _seconds(value: dt.timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _ids_from_id_url(id_url: str) -> tuple[str, str]:
    # The identity URL is the one stable place for the ids: .../id/{org id}/{user id}.
    # The access token's format varies (opaque, or a JWT), so it is never parsed.
    parts = [p for p in urlsplit(id_url).path.split("/") if p]
    if len(parts) >= 3 and parts[-3] == "id":
        return parts[-2], parts[-1]
    return "", ""


@dataclass(frozen=True, slots=True, repr=False)
class Token:
    """An access token from the JWT bearer flow.

    Times are Unix seconds (floats). ``received_at`` and ``expires_at`` come from the local
    clock; ``issued_at`` is the server's and is informational.

    Attributes:
        access_token: the bearer token (a secret: never logged, never in ``repr``).
        instance_url: where the org's APIs live (already checked against the host rules).
        id_url: the identity URL (``.../id/{org id}/{user id}``).
        scope: the granted scopes, space-separated.
        issued_at: the server's issue time, when it sent one.
        received_at: when this process received the token.
        expires_at: the estimated end of the session (``received_at`` + session timeout).
        token_type: always ``Bearer``.
        api_instance_url: sent with the ``sfap_api`` scope.
    """

    access_token: str
    instance_url: str
    id_url: str
    received_at: float
    expires_at: float
    scope: str = ""
    issued_at: float | None = None
    token_type: str = "Bearer"
    api_instance_url: str = ""

    @property
    def org_id(self) -> str:
        """The org id, from the identity URL."""
        return _ids_from_id_url(self.id_url)[0]

    @property
    def user_id(self) -> str:
        """The user id, from the identity URL."""
        return _ids_from_id_url(self.id_url)[1]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible reference to the token, safe to log."""
        return token_hash(self.access_token)

    def state(
        self, now: float, refresh_margin: dt.timedelta | float = DEFAULT_REFRESH_MARGIN
    ) -> TokenState:
        """FRESH, STALE (inside ``refresh_margin`` of the estimated expiry) or EXPIRED."""
        if now >= self.expires_at - _seconds(EXPIRY_SAFETY):
            return TokenState.EXPIRED
        if now >= self.expires_at - _seconds(refresh_margin):
            return TokenState.STALE
        return TokenState.FRESH

    def seconds_left(self, now: float) -> float:
        return self.expires_at - now

    def with_new_estimate(self, received_at: float, session_timeout: dt.timedelta) -> Token:
        """The same token, its lifetime re-estimated from ``received_at``."""
        return replace(
            self,
            received_at=received_at,
            expires_at=received_at + session_timeout.total_seconds(),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for shared caches. It holds the access token: store it as a secret."""
        return {
            "access_token": self.access_token,
            "instance_url": self.instance_url,
            "id_url": self.id_url,
            "scope": self.scope,
            "issued_at": self.issued_at,
            "received_at": self.received_at,
            "expires_at": self.expires_at,
            "token_type": self.token_type,
            "api_instance_url": self.api_instance_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: a field is missing or has the wrong type (a corrupt cache entry).
        """
        try:
            access_token = data["access_token"]
            instance_url = data["instance_url"]
            id_url = data["id_url"]
            received_at = float(data["received_at"])
            expires_at = float(data["expires_at"])
            issued = data.get("issued_at")
            issued_at = None if issued is None else float(issued)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a token record: {type(exc).__name__}") from None
        texts = (access_token, instance_url, id_url)
        if not all(isinstance(v, str) and v for v in texts):
            raise ValueError("not a token record: empty or non-string fields")
        return cls(
            access_token=access_token,
            instance_url=instance_url,
            id_url=id_url,
            received_at=received_at,
            expires_at=expires_at,
            scope=str(data.get("scope") or ""),
            issued_at=issued_at,
            token_type=str(data.get("token_type") or "Bearer"),
            api_instance_url=str(data.get("api_instance_url") or ""),
        )

    def __repr__(self) -> str:
        expires = dt.datetime.fromtimestamp(self.expires_at, dt.UTC).isoformat(timespec="seconds")
        return (
            f"Token(instance_url={self.instance_url!r}, org_id={self.org_id!r}, "
            f"user_id={self.user_id!r}, scope={self.scope!r}, expires_at={expires}, "
            f"hash={self.fingerprint})"
        )

    __str__ = __repr__
