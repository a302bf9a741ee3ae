"""The refresh a single-flight leader runs: shared cache, token exchange, audit events.

:class:`RefreshMixin` is the private half of :class:`~sfbearer.JWTBearerCredentials`: the
public half (configuration, ``token()``, ``invalidate()``) lives in :mod:`sfbearer.credentials`.
Only one caller at a time runs :meth:`RefreshMixin._refresh` (the flight's leader, and across
processes the holder of the cache's lock).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable

from sfbearer._exceptions import ConfigError, SfBearerError, TokenRequestError
from sfbearer._exchange import Exchange
from sfbearer._http import httpx
from sfbearer._singleflight import Flight
from sfbearer.assertion import MAX_LIFETIME, mint_assertion
from sfbearer.audit import AuditSink, token_hash
from sfbearer.cache import TokenCache
from sfbearer.environments import Environment
from sfbearer.grant import RetryPolicy
from sfbearer.signers import Signer
from sfbearer.token import Token, TokenState

__all__ = ["PROACTIVE_RETRY_INTERVAL", "RefreshMixin", "TokenSlot", "copy_error"]

log = logging.getLogger("sfbearer.credentials")

#: After a failed proactive refresh, keep serving the still-valid token this long before
#: trying again (so a Salesforce outage does not turn every call into a login attempt).
PROACTIVE_RETRY_INTERVAL = 30.0


class TokenSlot:
    """The one mutable place: the token in use, the in-flight refresh, the last failure."""

    __slots__ = ("failure", "flight", "hold_until", "invalidated", "lock", "token")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Token | None = None
        self.flight: Flight[Token] = Flight()
        self.failure: tuple[TokenRequestError, float] | None = None
        self.hold_until = 0.0
        self.invalidated = False


class RefreshMixin:
    """The leader's work. Expects the attributes :class:`~sfbearer.JWTBearerCredentials` sets."""

    client_id: str
    username: str
    environment: Environment
    signer: Signer
    session_timeout: dt.timedelta
    refresh_margin: dt.timedelta
    cache: TokenCache
    cache_key: str
    audit: AuditSink
    retry: RetryPolicy
    profile: str | None
    clock: Callable[[], float]
    _sleep: Callable[[float], None]
    _http: httpx.Client
    _slot: TokenSlot

    def _refresh(self) -> Token:
        slot = self._slot
        now = self.clock()
        old = slot.token
        if slot.failure is not None and now < slot.failure[1]:
            if old is not None and old.state(now, self.refresh_margin) is TokenState.STALE:
                return old
            raise copy_error(slot.failure[0])  # a permanent failure, remembered briefly
        with self.cache.lock(self.cache_key):
            cached = self.cache.get(self.cache_key)
            if (
                cached is not None
                and cached.state(self.clock(), self.refresh_margin) is TokenState.FRESH
                and (old is None or cached.access_token != old.access_token)
                and self._trusted(cached)
            ):
                self._install(cached)
                self._emit("token.reused", cached)
                return cached
            try:
                new, _ = self._exchange().run()
            except SfBearerError as exc:
                return self._failed(exc, old)
            self._check_hosts(new)
            if old is not None and new.access_token == old.access_token:
                log.debug("Salesforce returned the session already held; new expiry estimate")
            self.cache.put(self.cache_key, new)
        with slot.lock:
            reauth, slot.invalidated = slot.invalidated, False
            slot.failure = None
            slot.hold_until = 0.0
        self._install(new)
        event = (
            "session.reauthenticated" if reauth else "token.refreshed" if old else "token.issued"
        )
        self._emit(event, new)
        return new

    def _failed(self, exc: SfBearerError, old: Token | None) -> Token:
        now = self.clock()
        if old is not None and old.state(now, self.refresh_margin) is TokenState.STALE:
            self._slot.hold_until = now + PROACTIVE_RETRY_INTERVAL
            log.warning(
                "proactive token refresh failed (%s); using the current token, valid for %d s",
                exc,
                int(old.seconds_left(now)),
            )
            return old
        if isinstance(exc, TokenRequestError) and not exc.retryable:
            self._slot.failure = (exc, now + self.retry.negative_cache_seconds)
        details: dict[str, object] = {"error": getattr(exc, "error", type(exc).__name__)}
        if isinstance(exc, TokenRequestError) and exc.description:
            details["error_description"] = exc.description
        self._emit("token.failed", None, **details)
        raise exc

    def _install(self, token: Token) -> None:
        with self._slot.lock:
            self._slot.token = token

    def _exchange(self) -> Exchange:
        return Exchange(
            http=self._http,
            token_url=self.environment.token_url,
            mint=self._mint,
            policy=self.retry,
            session_timeout=self.session_timeout,
            clock=self.clock,
            sleep=self._sleep,
        )

    def _mint(self) -> str:
        jti = secrets.token_urlsafe(16)
        now = self.clock()
        audience = self.environment.audience
        assertion = mint_assertion(
            self.signer,
            client_id=self.client_id,
            username=self.username,
            audience=audience,
            now=now,
            jti=jti,
        )
        # the claims as signed (mint_assertion: iat = int(now), exp = iat + MAX_LIFETIME)
        claims = {"iss": self.client_id, "sub": self.username, "aud": audience}
        self._emit("assertion.minted", None, jti=jti, **claims, exp=int(now) + MAX_LIFETIME)
        return assertion

    def _trusted(self, token: Token) -> bool:
        try:
            self._check_hosts(token)
        except ConfigError:
            return False
        return True

    def _check_hosts(self, token: Token) -> None:
        # The access token only goes where the host rules allow (RELIABILITY.md promise 3).
        self.environment.check_api_url(token.instance_url)
        self.environment.check_api_url(token.id_url)

    def _emit(self, event: str, token: Token | None, **extra: object) -> None:
        fields: dict[str, object] = {
            "profile": self.profile,
            "client_id": self.client_id,
            "username": self.username,
            "key_fingerprint": self.signer.key_id,
            **extra,
        }
        if token is not None:
            fields["token_hash"] = token_hash(token.access_token)
        try:
            self.audit.record(event, fields)
        except Exception:  # noqa: BLE001 - an audit sink must never break a token request
            log.warning("audit sink failed to record %s", event)


def copy_error(exc: TokenRequestError) -> TokenRequestError:
    return TokenRequestError(
        exc.error, exc.description, status=exc.status, retryable=exc.retryable,
        diagnosis=exc.diagnosis, retry_after=exc.retry_after,
    )  # fmt: skip
