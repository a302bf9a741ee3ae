"""Tokens that manage themselves: :class:`JWTBearerCredentials`.

Example:
    >>> from sfbearer import JWTBearerCredentials, load_private_key
    >>> creds = JWTBearerCredentials(  # doctest: +SKIP
    ...     client_id="3MVG9...", username="integration@acme.com",
    ...     private_key=load_private_key("server.key"), environment="production")
    >>> creds.token().instance_url  # doctest: +SKIP
    'https://acme.my.salesforce.com'

The configuration is immutable. The one mutable place is a lock-guarded token slot (backed
by the token cache); refreshes are single-flight across threads and asyncio tasks, and,
through the cache's lock, across processes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sfbearer import _fork
from sfbearer._exceptions import ConfigError
from sfbearer._exchange import make_http_client, send
from sfbearer._http import httpx
from sfbearer._refresh import PROACTIVE_RETRY_INTERVAL, RefreshMixin, TokenSlot
from sfbearer.audit import AuditSink, NullAudit, token_hash
from sfbearer.cache import TokenCache, cache_key, make_cache
from sfbearer.environments import Environment, check_url
from sfbearer.grant import RetryPolicy, build_revoke_request
from sfbearer.signers import Signer, as_signer
from sfbearer.token import (
    DEFAULT_REFRESH_MARGIN,
    DEFAULT_SESSION_TIMEOUT,
    EXPIRY_SAFETY,
    Token,
    TokenState,
)

if TYPE_CHECKING:
    # optional dependency: only type checkers see it; make_cache recognises a client at run time
    import redis
    from cryptography.hazmat.primitives.asymmetric import rsa

    from sfbearer.config import Profile

__all__ = ["PROACTIVE_RETRY_INTERVAL", "JWTBearerCredentials"]

log = logging.getLogger("sfbearer.credentials")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so a test can patch time.sleep


#: The slot type under its older private name (fork handling resets slots by this name).
_Slot = TokenSlot


class JWTBearerCredentials(RefreshMixin):
    """Access tokens for one Salesforce identity over the JWT bearer flow.

    Args:
        client_id: the External Client App's consumer key.
        username: the Salesforce username the integration acts as.
        private_key: a loaded RSA private key or any :class:`~sfbearer.signers.Signer`.
        environment: an :class:`~sfbearer.Environment`, or ``production``, ``sandbox`` or a URL.
        audience: overrides the environment's ``aud``.
        allow_hosts: extra hosts trusted for the token URL and instance URL.
        session_timeout: the app's session timeout (Salesforce sends no ``expires_in``).
        refresh_margin: refresh this long before the estimated expiry.
        cache: a :class:`~sfbearer.cache.TokenCache`, an existing ``redis.Redis`` client
            (tokens are shared through it) or a spec (``memory``, ``file:PATH``...).
        audit: an :class:`~sfbearer.audit.AuditSink` (default: records nothing).
        http: an ``httpx.Client`` for the token endpoint (default: our own, no redirects).
        proxy: a proxy URL for our own client.
        ca_bundle: a CA bundle path for our own client.
        timeout: the network timeout in seconds for our own client.
        clock: Unix time now (injectable for tests).
        sleep: sleeps between attempts (injectable for tests; default ``time.sleep``).
        retry: the :class:`~sfbearer.grant.RetryPolicy`.
        profile: the profile name, for audit records and messages.

    Raises:
        ConfigError: an empty client id or username, a token URL that breaks the host rules
            (before anything is signed or sent), a bad key, timeout or cache spec.
    """

    def __init__(
        self,
        *,
        client_id: str,
        username: str,
        private_key: rsa.RSAPrivateKey | Signer,
        environment: Environment | str = "production",
        audience: str | None = None,
        allow_hosts: Iterable[str] = (),
        session_timeout: dt.timedelta = DEFAULT_SESSION_TIMEOUT,
        refresh_margin: dt.timedelta = DEFAULT_REFRESH_MARGIN,
        cache: TokenCache | redis.Redis | str | None = None,
        audit: AuditSink | None = None,
        http: httpx.Client | None = None,
        proxy: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy | None = None,
        profile: str | None = None,
    ) -> None:
        for name, value in (("client_id", client_id), ("username", username)):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{name} is required", hint=f"set {name} in the profile")
        allow = tuple(allow_hosts)
        if isinstance(environment, str):
            env = Environment.parse(environment, audience=audience, allow_hosts=allow)
        elif isinstance(environment, Environment):
            env = replace(environment, audience=audience or environment.audience)
        else:
            raise ConfigError(
                f"environment must be an Environment or a string, not {environment!r}"
            )
        if allow:
            env = replace(env, allow_hosts=tuple(dict.fromkeys((*env.allow_hosts, *allow))))
        # Host rules before anything is signed: an assertion never goes to an unknown host.
        check_url(env.token_url, allow_hosts=env.allow_hosts, what="token URL")
        for arg, given in (
            ("session_timeout", session_timeout),
            ("refresh_margin", refresh_margin),
        ):
            if not isinstance(given, dt.timedelta):
                raise ConfigError(
                    f"{arg} must be a datetime.timedelta, got {type(given).__name__}",
                    hint=f"e.g. {arg}=datetime.timedelta(minutes=120); a profile's "
                    "session_timeout is in minutes",
                )
        if not dt.timedelta(minutes=1) <= session_timeout <= dt.timedelta(days=1):
            raise ConfigError("session_timeout must be between 1 minute and 24 hours")
        if not dt.timedelta(0) <= refresh_margin < session_timeout / 2:
            raise ConfigError(
                "refresh_margin must be at least 0 and under half the session timeout"
            )
        if timeout <= 0:
            raise ConfigError("timeout must be a positive number of seconds")
        self._init_kwargs: dict[str, Any] = {
            "client_id": client_id, "username": username, "private_key": private_key,
            "environment": env, "session_timeout": session_timeout,
            "refresh_margin": refresh_margin, "cache": cache, "audit": audit, "http": http,
            "proxy": proxy, "ca_bundle": ca_bundle, "timeout": timeout, "clock": clock,
            "sleep": sleep, "retry": retry, "profile": profile,
        }  # fmt: skip
        self.client_id = client_id
        self.username = username
        self.environment = env
        self.signer: Signer = as_signer(private_key)
        self.session_timeout = session_timeout
        self.refresh_margin = refresh_margin
        self._margin_seconds = max(refresh_margin, EXPIRY_SAFETY).total_seconds()
        self.cache: TokenCache = make_cache(cache)
        self.audit: AuditSink = audit if audit is not None else NullAudit()
        self.retry = retry or RetryPolicy()
        self.profile = profile
        self.proxy = proxy
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.clock = clock
        self._sleep = sleep if sleep is not None else _sleep
        self._own_http = http is None
        self._http = http or make_http_client(proxy=proxy, ca_bundle=ca_bundle, timeout=timeout)
        self.cache_key = cache_key(env.token_url, client_id, username, env.audience)
        self._slot = TokenSlot()
        self._frozen = True
        _fork.register(self, _fork.reset_credentials)  # a forked worker works on its first call

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; use with_changes()")
        object.__setattr__(self, name, value)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_profile(cls, name: str | None = None, **overrides: Any) -> JWTBearerCredentials:
        """Credentials from a saved profile (flags > env > profile > defaults).

        Raises:
            ConfigError: no such profile, or an unusable one.
        """
        from sfbearer.config import resolve_profile

        return cls.from_config(resolve_profile(name, overrides=overrides))

    @classmethod
    def from_config(
        cls, profile: Profile, *, signer: Signer | None = None, **kwargs: Any
    ) -> JWTBearerCredentials:
        """Credentials from a resolved :class:`sfbearer.config.Profile`.

        Args:
            profile: the profile.
            signer: an already loaded signer (default: the profile's key, loaded now).
            **kwargs: constructor arguments that win over the profile's (``clock``, ``http``...).
        """
        from sfbearer.config import load_signer

        settings: dict[str, Any] = {
            "client_id": profile.client_id,
            "username": profile.username,
            "private_key": signer if signer is not None else load_signer(profile),
            "environment": profile.env(),
            "session_timeout": dt.timedelta(minutes=profile.session_timeout),
            "cache": profile.cache,
            "audit": _audit_sink(profile.audit),
            "proxy": profile.proxy,
            "ca_bundle": profile.ca_bundle,
            "timeout": profile.timeout,
            "profile": profile.name or None,
        }
        return cls(**{**settings, **kwargs})

    def with_changes(self, **changes: Any) -> JWTBearerCredentials:
        """A copy with some settings changed (and a token slot of its own)."""
        return type(self)(**{**self._init_kwargs, **changes})

    # -- tokens ---------------------------------------------------------------------------
    def _ready(self, now: float) -> Token | None:
        slot = self._slot
        token = slot.token
        if token is None:
            return None
        if now < token.expires_at - self._margin_seconds:
            return token  # the hot path: fresh
        state = token.state(now, self.refresh_margin)
        if state is TokenState.FRESH:
            return token
        if state is TokenState.STALE and (slot.flight.busy or now < slot.hold_until):
            return token  # someone is refreshing, or the last try failed: the old one still works
        return None

    def token(self) -> Token:
        """A valid access token: cached while fresh, refreshed before it expires.

        Raises:
            TokenRequestError: Salesforce refused the assertion (``.diagnosis`` says why).
            TransportError: the token endpoint could not be reached.
            ConfigError: the returned instance URL breaks the host rules.
        """
        token = self._ready(self.clock())
        if token is not None:
            return token
        future, leader = self._slot.flight.join()
        if leader:
            self._slot.flight.run(future, self._refresh)
        return future.result()

    async def atoken(self) -> Token:
        """:meth:`token` for asyncio; blocking work (signing, the POST, cache locks) runs in a
        worker thread, and any number of tasks share one refresh."""
        import asyncio

        token = self._ready(self.clock())
        if token is not None:
            return token
        future, leader = self._slot.flight.join()
        if leader:
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self._slot.flight.run, future, self._refresh)
        return await asyncio.wrap_future(future)

    def invalidate(self, token: Token) -> bool:
        """Forget ``token`` (after a 401) — only that one, never a newer token.

        Returns True if it was the token in use or in the cache.
        """
        with self._slot.lock:
            dropped = self._slot.token is not None and (
                self._slot.token.access_token == token.access_token
            )
            if dropped:
                self._slot.token = None
                self._slot.invalidated = True
        dropped = self.cache.invalidate(self.cache_key, token) or dropped
        if dropped:
            log.debug("token %s invalidated", token_hash(token.access_token))
        return dropped

    async def ainvalidate(self, token: Token) -> bool:
        """:meth:`invalidate` for asyncio (a shared cache may block)."""
        import asyncio

        return await asyncio.to_thread(self.invalidate, token)

    def revoke(self) -> bool:
        """Log the session out at Salesforce and forget it. False when there was none.

        Raises:
            TokenRequestError: Salesforce refused the revocation.
            TransportError: Salesforce could not be reached.
        """
        with self._slot.lock:
            held, self._slot.token = self._slot.token, None
        found = (held, self.cache.get(self.cache_key))
        # A token goes only to its own org's hosts, which passed the host rules: revoke it
        # at its instance (Salesforce serves /services/oauth2/revoke there too).
        tokens = {t.access_token: t for t in found if t is not None and self._trusted(t)}
        for token in tokens.values():
            url = token.instance_url + "/services/oauth2/revoke"
            response = send(self._http, build_revoke_request(url, token.access_token))
            # 400 unsupported_token_type/invalid_token: the session is already gone.
            if response.status_code not in (200, 400):
                from sfbearer.grant import parse_token_error

                raise parse_token_error(
                    response.status_code, response.headers, response.content, now=self.clock()
                )
            self.cache.invalidate(self.cache_key, token)
            self._emit("token.revoked", token)
        return bool(tokens)

    async def arevoke(self) -> bool:
        """:meth:`revoke` for asyncio."""
        import asyncio

        return await asyncio.to_thread(self.revoke)

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close our own HTTP client (a client passed in as ``http=`` is left open)."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> JWTBearerCredentials:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"JWTBearerCredentials(client_id={self.client_id!r}, username={self.username!r}, "
            f"environment={self.environment.describe()!r})"
        )


def _audit_sink(spec: str | None) -> AuditSink:
    """The profile's audit trail (a JSON-lines file), or a sink that records nothing."""
    if not spec:
        return NullAudit()
    import sfbearer.audit as audit_module

    factory = getattr(audit_module, "AuditTrail", None)
    if factory is None:  # pragma: no cover - an installation without the trail writer
        log.debug("no audit trail writer available; audit records are dropped")
        return NullAudit()
    sink: AuditSink = factory(spec)
    return sink
