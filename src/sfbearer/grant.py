"""The token exchange without I/O: build the request, read the reply, decide whether to retry.

Everything here is a pure function of its inputs (no sockets, no clocks, no sleeps), so the
whole token protocol is unit-testable. :mod:`sfbearer.credentials` is the thin edge that
sends the request and sleeps between attempts.

Example:
    >>> from sfbearer.grant import build_token_request, is_retryable
    >>> req = build_token_request("https://login.salesforce.com/services/oauth2/token", "a.b.c")
    >>> req.headers["Content-Type"]
    'application/x-www-form-urlencoded'
    >>> is_retryable(503), is_retryable(400, "invalid_grant")
    (True, False)
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sfbearer._diagnosis import diagnose
from sfbearer._exceptions import TokenRequestError
from sfbearer.token import Token

__all__ = [
    "GRANT_TYPE",
    "RETRYABLE_ERRORS",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "TokenRequest",
    "build_revoke_request",
    "build_token_request",
    "is_retryable",
    "parse_retry_after",
    "parse_token_error",
    "parse_token_response",
]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: HTTP statuses worth another attempt (0 means no response at all: reset, refused, timeout).
RETRYABLE_STATUSES = frozenset({0, 408, 429, 500, 502, 503, 504})
#: OAuth error codes that say "try again" (RFC 6749 §4.1.2.1).
RETRYABLE_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
_MAX_DESCRIPTION = 300
_MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True, repr=False)
class TokenRequest:
    """An HTTP request to send as is. ``body`` holds the assertion: it is never shown."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"TokenRequest({self.method} {self.url}, {len(self.body)} bytes)"


def build_token_request(token_url: str, assertion: str) -> TokenRequest:
    """The JWT bearer grant: a form POST of ``grant_type`` and ``assertion``, nothing else."""
    body = urlencode({"grant_type": GRANT_TYPE, "assertion": assertion}).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    return TokenRequest("POST", token_url, headers, body)


def build_revoke_request(revoke_url: str, access_token: str) -> TokenRequest:
    """Log a session out (``POST /services/oauth2/revoke``)."""
    body = urlencode({"token": access_token}).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    return TokenRequest("POST", revoke_url, headers, body)


def is_retryable(status: int, error: str = "") -> bool:
    """The one retry predicate (RELIABILITY.md promise 4).

    Args:
        status: the HTTP status, or 0 when no response came back (connection error, timeout).
        error: the OAuth ``error`` code, when the body had one.

    Returns:
        True for no response, 408, 429, 500, 502, 503, 504, ``server_error`` and
        ``temporarily_unavailable``; False for everything else, unknown codes included.
    """
    if error in RETRYABLE_ERRORS:
        return True
    if error and status < 500 and status not in (0, 408, 429):
        return False
    return status in RETRYABLE_STATUSES


def parse_retry_after(value: str | None, *, now: float, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Returns ``None`` when absent or unreadable; otherwise a delay clamped to ``[0, cap]``.
    """
    if not value:
        return None
    text = value.strip()
    try:
        delay = float(text)
    except ValueError:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        delay = when.timestamp() - now
    if delay != delay:  # NaN
        return None
    return min(max(delay, 0.0), cap)


def _clean(text: object, limit: int = _MAX_DESCRIPTION) -> str:
    if not isinstance(text, str):
        return ""
    printable = "".join(c if c.isprintable() else " " for c in text).strip()
    return printable[:limit]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _error(
    error: str,
    description: str,
    status: int,
    *,
    retry_after: float | None = None,
    detail: str = "",
) -> TokenRequestError:
    retryable = is_retryable(status, error)
    diagnosis = diagnose(error, description, status=status, detail=detail)
    return TokenRequestError(
        error,
        description,
        status=status,
        retryable=retryable,
        diagnosis=diagnosis,
        retry_after=retry_after if retryable else None,
    )


def parse_token_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    retry_after_cap: float = 30.0,
) -> TokenRequestError:
    """Turn a non-200 reply of the token endpoint into a :class:`TokenRequestError`.

    Salesforce's ``{"error", "error_description"}`` bodies keep their code and text; anything
    else (an HTML error page, an empty body) becomes ``http_<status>``. A redirect is an error
    of its own: the assertion is never re-sent to wherever it points.
    """
    retry_after = parse_retry_after(_header(headers, "retry-after"), now=now, cap=retry_after_cap)
    if 300 <= status < 400:
        location = _clean(_header(headers, "location") or "", 200)
        return _error("redirect", f"the token URL redirects ({status})", status, detail=location)
    payload: object = None
    if len(body) <= _MAX_BODY:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), str) and payload["error"]:
        code = _clean(payload["error"], 100)
        description = _clean(payload.get("error_description"))
        return _error(code, description, status, retry_after=retry_after)
    return _error(
        f"http_{status}",
        f"HTTP {status} without an OAuth error body",
        status,
        retry_after=retry_after,
    )


def _invalid(description: str, status: int = 200) -> TokenRequestError:
    return _error("invalid_response", description, status)


def parse_token_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    received_at: float,
    session_timeout: dt.timedelta,
    retry_after_cap: float = 30.0,
) -> Token:
    """Read the token endpoint's reply.

    Args:
        status: the HTTP status.
        headers: the response headers.
        body: the raw response body.
        received_at: local time the reply arrived (the start of the lifetime estimate).
        session_timeout: the configured session timeout.
        retry_after_cap: the longest ``Retry-After`` honoured.

    Returns:
        The :class:`~sfbearer.token.Token`.

    Raises:
        TokenRequestError: an error reply, or a 200 that is not a bearer token
            (HTML, not JSON, no ``access_token``, ``token_type`` other than Bearer):
            ``error="invalid_response"``.
    """
    if status != 200:
        return _raise(
            parse_token_error(
                status, headers, body, now=received_at, retry_after_cap=retry_after_cap
            )
        )
    if len(body) > _MAX_BODY:
        raise _invalid("the reply is too large to be a token")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        content_type = _clean(_header(headers, "content-type") or "unknown", 60)
        raise _invalid(f"the reply is not JSON (Content-Type: {content_type})") from None
    if not isinstance(payload, dict):
        raise _invalid("the reply is not a JSON object")
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token.strip():
        raise _invalid("the reply has no access_token")
    token_type = payload.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise _invalid(f"token_type is {_clean(str(token_type), 40)!r}, not Bearer")
    instance_url = payload.get("instance_url")
    id_url = payload.get("id")
    if not isinstance(instance_url, str) or not instance_url:
        raise _invalid("the reply has no instance_url")
    if not isinstance(id_url, str) or not id_url:
        raise _invalid("the reply has no id (identity URL)")
    scope = payload.get("scope")
    api_instance_url = payload.get("api_instance_url")
    return Token(
        access_token=access_token,
        instance_url=instance_url.rstrip("/"),
        id_url=id_url,
        received_at=received_at,
        expires_at=received_at + session_timeout.total_seconds(),
        scope=scope if isinstance(scope, str) else "",
        issued_at=_issued_at(payload.get("issued_at")),
        api_instance_url=api_instance_url.rstrip("/") if isinstance(api_instance_url, str) else "",
    )


def _raise(exc: TokenRequestError) -> Token:
    raise exc


def _issued_at(value: object) -> float | None:
    # Salesforce sends epoch milliseconds as a string.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        millis = float(value)
    except ValueError:
        return None
    return millis / 1000 if millis > 10**11 else millis


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up on the token endpoint.

    Exponential backoff with full jitter: before attempt *n+1* wait a random time in
    ``[0, min(max_delay, base_delay * 2**(n-1))]``, or what ``Retry-After`` asks (up to
    ``retry_after_cap``). Stop after ``max_attempts`` or when the next wait would end past
    ``deadline`` seconds from the first attempt.

    Attributes:
        max_attempts: attempts in total, the first included.
        base_delay: the first backoff ceiling, in seconds.
        max_delay: the largest backoff ceiling.
        deadline: the total time budget, in seconds.
        retry_after_cap: the longest ``Retry-After`` honoured.
        invalid_grant_retries: extra attempts after ``invalid_grant`` (brand-new sandboxes
            fail until replication completes); 0, the default, never retries it.
        negative_cache_seconds: how long an identical permanent failure is answered from
            memory instead of a new login.
        rng: the random source for the jitter (injectable for tests).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    deadline: float = 30.0
    retry_after_cap: float = 30.0
    invalid_grant_retries: int = 0
    negative_cache_seconds: float = 10.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.deadline, self.retry_after_cap) < 0:
            raise ValueError("delays must not be negative")
        if not 0 <= self.invalid_grant_retries <= 5:
            raise ValueError("invalid_grant_retries must be between 0 and 5")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt, no retry."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """The full-jitter delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return float(ceiling * self.rng())

    def should_retry(self, exc: TokenRequestError, attempt: int) -> bool:
        """Whether failed attempt number ``attempt`` deserves another (deadline aside)."""
        if exc.error == "invalid_grant" and "rate" not in exc.description.lower():
            # Opt-in only, and never for the login rate limit: retrying that makes it worse.
            return attempt <= self.invalid_grant_retries
        return exc.retryable and attempt < self.max_attempts

    def delay(self, exc: TokenRequestError, attempt: int) -> float:
        """How long to wait before the next attempt: ``Retry-After`` if given, else backoff."""
        if exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_cap)
        return self.backoff(attempt)
