"""Emulator settings, the scope parser, and the policy names.

Example:
    >>> parse_scopes("Api, RefreshToken") == parse_scopes("api,refresh_token")
    True
    >>> EmulatorConfig(validation="strict").validation
    'strict'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADMIN_APPROVED",
    "POLICIES",
    "SELF_AUTHORIZED",
    "SESSION_TIMEOUTS",
    "VALIDATION_PROFILES",
    "EmulatorConfig",
    "format_scopes",
    "parse_policy",
    "parse_scopes",
]

VALIDATION_PROFILES = ("salesforce", "strict")
ADMIN_APPROVED = "admin-approved"
SELF_AUTHORIZED = "self-authorized"
POLICIES = (ADMIN_APPROVED, SELF_AUTHORIZED)
SESSION_TIMEOUTS = (15, 30, 60, 120, 240, 480, 720, 1440)

# Metadata spellings (``Api``, ``RefreshToken``) and OAuth spellings (``api``, ``refresh_token``)
# map to one canonical name; these are the ones that do not follow the CamelCase rule.
_SCOPE_ALIASES = {
    "basic": "id",
    "openid": "openid",
    "offlineaccess": "refresh_token",
    "offline_access": "refresh_token",
    "refreshtoken": "refresh_token",
    "chatterapi": "chatter_api",
    "customerpermissions": "custom_permissions",
    "custompermissions": "custom_permissions",
    "sfapapi": "sfap_api",
}
_SCOPE_ORDER = ("refresh_token", "api", "web", "full", "id", "openid", "profile", "email")
_SCOPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Parse ``api,refresh_token``, ``Api, RefreshToken`` or ``api refresh_token``.

    Raises:
        ValueError: an empty list or a token that is not a scope name.
    """
    items = text if isinstance(text, list | tuple) else re.split(r"[,\s]+", text)
    scopes = set()
    for raw in items:
        token = raw.strip()
        if not token:
            continue
        if not _SCOPE_RE.match(token):
            raise ValueError(f"not a scope name: {token!r}")
        key = token.lower()
        if key in _SCOPE_ALIASES:
            scopes.add(_SCOPE_ALIASES[key])
        elif "_" in token or token.islower():
            scopes.add(key)
        else:
            scopes.add(re.sub(r"(?<!^)(?=[A-Z])", "_", token).lower())
    if not scopes:
        raise ValueError("at least one scope is required")
    return frozenset(scopes)


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    """Space-separated, in the order Salesforce lists them in token responses."""
    rank = {name: i for i, name in enumerate(_SCOPE_ORDER)}
    return " ".join(sorted(scopes, key=lambda s: (rank.get(s, len(rank)), s)))


def parse_policy(text: str) -> str:
    """``admin-approved`` / ``AdminApprovedPreAuthorized`` → ``admin-approved``; same for self."""
    key = re.sub(r"[^a-z]", "", text.lower())
    if key in ("adminapproved", "adminapprovedpreauthorized", "admin"):
        return ADMIN_APPROVED
    if key in ("selfauthorized", "allselfauthorized", "self"):
        return SELF_AUTHORIZED
    raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {text!r}")


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated org behaves. Every default is Salesforce's, or the documented pick.

    Attributes:
        validation: ``salesforce`` (accept what Salesforce accepts) or ``strict`` (RFC 8725/7523).
        sandbox: the org is a sandbox (``https://test.salesforce.com`` is the login audience).
        extra_audiences: more accepted ``aud`` values (e.g. a My Domain URL).
        clock_skew: seconds an ``exp`` may lie in the past (and ``iat``/``nbf`` in the future).
        max_lifetime: strict profile: the longest ``exp - iat`` accepted, in seconds.
        max_exp: salesforce profile: ``exp`` must be below this (milliseconds pass).
        jti_capacity: strict profile: replay-cache size; when full, new assertions are refused.
        login_rate_limit: successful logins per user per rolling hour.
        expired_certificate: ``reject`` (default; ``invalid assertion``) or ``accept``.
        reuse_sessions: a login while the user's session for that app is alive returns it.
        query_batch_size: records per page of a query (``nextRecordsUrl`` beyond it).
        daily_api_limit: the ``DailyApiRequests`` maximum.
        max_body_bytes: the largest token-request body read; larger gets a JSON 413.
        max_assertion_bytes: the largest assertion parsed.
        org_name: the Organization's Name.
        default_session_timeout: minutes, for apps that do not set one.
    """

    validation: str = "salesforce"
    sandbox: bool = False
    extra_audiences: tuple[str, ...] = ()
    clock_skew: int = 180
    max_lifetime: int = 180
    max_exp: int = 10**13
    jti_capacity: int = 10_000
    login_rate_limit: int = 3600
    expired_certificate: str = "reject"
    reuse_sessions: bool = False
    query_batch_size: int = 2000
    daily_api_limit: int = 15_000
    max_body_bytes: int = 64 * 1024
    max_assertion_bytes: int = 16 * 1024
    org_name: str = "Emulated Org"
    default_session_timeout: int = 120

    def __post_init__(self) -> None:
        if self.validation not in VALIDATION_PROFILES:
            raise ValueError(f"validation must be one of {', '.join(VALIDATION_PROFILES)}")
        if self.expired_certificate not in ("reject", "accept"):
            raise ValueError("expired_certificate must be 'reject' or 'accept'")
        for name in ("clock_skew", "max_lifetime", "jti_capacity", "login_rate_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.query_batch_size < 1 or self.daily_api_limit < 1:
            raise ValueError("query_batch_size and daily_api_limit must be positive")
        if self.default_session_timeout < 1:
            raise ValueError("default_session_timeout must be positive")
