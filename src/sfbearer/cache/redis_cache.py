"""A token cache in Redis: one token per identity for a whole fleet of processes and hosts.

Layout, under a key prefix (``sfbearer:`` by default):

* ``{prefix}token:{key}`` — a hash: ``sha256`` (of the access token), ``fmt`` (``json`` or
  ``fernet``) and ``data`` (the token record). Its TTL is the token's estimated remaining
  life, so Redis forgets a token when Salesforce would.
* ``{prefix}lock:{key}`` — the refresh lock (see :mod:`sfbearer.cache._redis_lock`).

Writes replace the whole hash in one Lua script; invalidation is compare-and-delete against
the stored SHA-256 (Lua), so a burst of 401s for one stale token drops that token only,
never the newer one another process already stored. With ``encryption_key`` every record is
encrypted and authenticated with Fernet: a shared Redis never holds a usable token in clear,
and a record nobody with the key wrote (planted, or in clear) is ignored.

When Redis cannot be reached the cache logs a warning and serves from this process's memory
(a copy of everything it stored is kept there), retrying Redis every ``retry_interval``
seconds; when Redis answers again it is used again, with another log line.

Example:
    >>> from sfbearer.cache.redis_cache import RedisCache
    >>> cache = RedisCache.from_url("redis://redis:6379/0?prefix=acme:")  # doctest: +SKIP
    >>> creds = JWTBearerCredentials(..., cache=cache)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from sfbearer import _fork
from sfbearer._exceptions import ConfigError
from sfbearer.cache._redis_lock import _DOWN, RELEASE_SCRIPT, RENEW_SCRIPT, RedisLock
from sfbearer.cache.memory import MemoryCache
from sfbearer.token import Token

__all__ = ["DEFAULT_LOCK_TTL", "DEFAULT_PREFIX", "RedisCache", "from_client", "from_spec"]

log = logging.getLogger("sfbearer.cache")

DEFAULT_PREFIX = "sfbearer:"
#: The refresh lock's lease: a crashed holder frees the fleet this long after its last renewal.
DEFAULT_LOCK_TTL = 5.0
_FORMAT = "sfbearer-token-cache"

_PUT_SCRIPT = """
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], 'sha256', ARGV[1], 'fmt', ARGV[2], 'data', ARGV[3])
return redis.call('pexpire', KEYS[1], ARGV[4])
"""
_INVALIDATE_SCRIPT = """
if redis.call('hget', KEYS[1], 'sha256') == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# Our own settings in a redis:// URL; everything else goes to redis-py.
_OWN_PARAMS = ("prefix", "encryption_key_env", "lock_ttl")


def from_spec(spec: str) -> RedisCache:
    """The cache for a ``redis://``, ``rediss://`` or ``unix://`` spec (see :meth:`RedisCache.from_url`)."""
    return RedisCache.from_url(spec)


def from_client(client: Any) -> RedisCache:
    """The cache over an existing ``redis.Redis`` client (which stays the caller's)."""
    return RedisCache(client)


def sha256_hex(access_token: str) -> str:
    return hashlib.sha256(access_token.encode()).hexdigest()


class RedisCache:
    """A :class:`~sfbearer.cache.TokenCache` in Redis, shared by every process that uses it.

    Args:
        client: a ``redis.Redis`` client (``decode_responses`` either way).
        prefix: prepended to every key, so several applications can share one database.
        encryption_key: a Fernet key (``Fernet.generate_key()``), or several to rotate keys
            (the first encrypts, all decrypt). Without it, records are stored in clear.
        lock_ttl: the refresh lock's lease in seconds (renewed by its holder).
        lock_timeout: how long a process waits for another one's refresh before raising
            :class:`~sfbearer.TransportError`.
        poll_interval: the first wait between attempts to take a busy lock.
        retry_interval: after a failure, how long to serve from memory before trying Redis.
        clock: Unix time now (for TTLs; token times are Unix times).
        monotonic: a monotonic clock (for the outage timer and lock deadlines).

    Raises:
        ConfigError: a malformed encryption key or setting.

    Example:
        >>> import redis  # doctest: +SKIP
        >>> cache = RedisCache(redis.Redis(), prefix="billing:",  # doctest: +SKIP
        ...                    encryption_key=os.environ["SFBEARER_CACHE_KEY"])
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        encryption_key: str | bytes | Sequence[str | bytes] | None = None,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_timeout: float = 120.0,
        poll_interval: float = 0.01,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        _owns_client: bool = False,
    ) -> None:
        if not 0.1 <= lock_ttl <= 300:
            raise ConfigError("lock_ttl must be between 0.1 and 300 seconds")
        if lock_timeout <= 0 or poll_interval <= 0 or retry_interval < 0:
            raise ConfigError("lock_timeout and poll_interval must be positive")
        self.client = client
        self.prefix = prefix
        self.lock_ttl = float(lock_ttl)
        self.lock_timeout = float(lock_timeout)
        self.poll_interval = float(poll_interval)
        self.retry_interval = float(retry_interval)
        self.clock = clock
        self.monotonic = monotonic
        self.fallback = MemoryCache()
        self._fernet = _make_fernet(encryption_key)
        self._owns_client = _owns_client
        self._state = threading.Lock()
        self._down_until: float | None = None
        self._scripts = {
            "put": client.register_script(_PUT_SCRIPT),
            "invalidate": client.register_script(_INVALIDATE_SCRIPT),
            "renew": client.register_script(RENEW_SCRIPT),
            "release": client.register_script(RELEASE_SCRIPT),
        }
        _fork.register(self, RedisCache._after_fork)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCache:
        """A cache on a new client for ``url``.

        Besides redis-py's own query parameters, the URL may carry ``prefix=``,
        ``lock_ttl=`` (seconds) and ``encryption_key_env=`` (the *name* of an environment
        variable holding the Fernet key: the key itself never sits in a config file), e.g.
        ``rediss://cache.internal:6380/0?prefix=billing:&encryption_key_env=SF_CACHE_KEY``.

        Raises:
            ConfigError: a malformed URL, a missing key variable, or no ``redis`` package.
        """
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        parts = urlsplit(url.strip())
        query = parse_qsl(parts.query, keep_blank_values=True)
        own = {k: v for k, v in query if k in _OWN_PARAMS}
        rest = [(k, v) for k, v in query if k not in _OWN_PARAMS]
        settings: dict[str, Any] = {}
        if "prefix" in own:
            settings["prefix"] = own["prefix"]
        if "lock_ttl" in own:
            try:
                settings["lock_ttl"] = float(own["lock_ttl"])
            except ValueError:
                raise ConfigError("lock_ttl in the Redis URL must be a number") from None
        if "encryption_key_env" in own:
            name = own["encryption_key_env"]
            value = os.environ.get(name, "").strip()
            if not value:
                raise ConfigError(
                    f"the Redis token cache's encryption key variable {name} is not set",
                    hint=f'export {name}="$(python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())")"',
                )
            settings["encryption_key"] = value
        clean = urlunsplit(parts._replace(query=urlencode(rest)))
        try:
            client = redis.Redis.from_url(
                clean,
                socket_connect_timeout=2.0,
                socket_timeout=5.0,
                # Fail over to memory quickly: one quick retry, not redis-py's ten.
                retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
                health_check_interval=30,
            )
        except ValueError as exc:
            raise ConfigError(f"not a usable Redis URL: {exc}") from None
        return cls(client, **{**settings, **kwargs}, _owns_client=True)

    # -- the TokenCache protocol ----------------------------------------------------------
    def get(self, key: str) -> Token | None:
        """The token for ``key``: from Redis, or from memory while Redis is unreachable."""
        if not self.redis_available():
            return self.fallback.get(key)
        fields = self.call(lambda r: r.hmget(self._token_key(key), ["sha256", "fmt", "data"]))
        if fields is _DOWN:
            return self.fallback.get(key)
        return self._decode(key, fields)

    def put(self, key: str, token: Token) -> None:
        """Store ``token`` with a TTL of its estimated remaining life (and keep a copy here)."""
        self.fallback.put(key, token)
        ttl_ms = int((token.expires_at - self.clock()) * 1000)
        if ttl_ms <= 0 or not self.redis_available():
            return
        fmt, data = self._encode(key, token)
        args: list[str | bytes] = [sha256_hex(token.access_token), fmt, data, str(ttl_ms)]
        self.run_script("put", [self._token_key(key)], args)

    def invalidate(self, key: str, token: Token) -> bool:
        """Delete the entry only if it still holds ``token`` (compare-and-delete in Lua)."""
        dropped = self.fallback.invalidate(key, token)
        if not self.redis_available():
            return dropped
        result = self.run_script(
            "invalidate", [self._token_key(key)], [sha256_hex(token.access_token)]
        )
        if result is _DOWN:
            return dropped
        return bool(result)  # Redis is the truth while it answers

    def lock(self, key: str) -> RedisLock:
        """The identity's refresh lock, across every process using this Redis."""
        return RedisLock(
            self, self._lock_key(key), self.fallback.lock(key), monotonic=self.monotonic
        )

    # -- Redis access, with the fallback --------------------------------------------------
    def redis_available(self) -> bool:
        """False while in an outage's back-off window (then calls go to memory)."""
        until = self._down_until
        return until is None or self.monotonic() >= until

    def call(self, operation: Callable[[Any], Any]) -> Any:
        """``operation(client)``, or ``_DOWN`` (falsy) when Redis failed (the outage is logged)."""
        try:
            result = operation(self.client)
        except (redis.RedisError, OSError) as exc:
            self._mark_down(exc)
            return _DOWN
        self._mark_up()
        return result

    def run_script(self, name: str, keys: list[str], args: Sequence[str | bytes]) -> Any:
        script = self._scripts[name]
        return self.call(lambda r: script(keys=keys, args=args, client=r))

    def _mark_down(self, exc: BaseException) -> None:
        with self._state:
            first = self._down_until is None
            self._down_until = self.monotonic() + self.retry_interval
        if first:
            log.warning(
                "Redis token cache unreachable (%s); using this process's memory cache "
                "and retrying Redis every %g s",
                type(exc).__name__,
                self.retry_interval,
            )

    def _mark_up(self) -> None:
        if self._down_until is None:
            return
        with self._state:
            was_down, self._down_until = self._down_until is not None, None
        if was_down:
            log.warning("Redis token cache reachable again; sharing tokens through it")

    # -- encoding -------------------------------------------------------------------------
    def _encode(self, key: str, token: Token) -> tuple[str, bytes]:
        record = {"format": _FORMAT, "version": 1, "key": key, "token": token.to_dict()}
        data = json.dumps(record, separators=(",", ":")).encode()
        if self._fernet is None:
            return "json", data
        return "fernet", self._fernet.encrypt(data)

    def _decode(self, key: str, fields: Any) -> Token | None:
        digest, fmt, data = (_bytes(v) for v in fields)
        if data is None:
            return None
        try:
            if self._fernet is not None:
                if fmt != b"fernet":
                    raise ValueError("a record in clear, and this cache encrypts")
                data = self._decrypt(data)
            elif fmt != b"json":
                raise ValueError("an encrypted record, and this cache has no key")
            record = json.loads(data)
            if not isinstance(record, dict) or record.get("format") != _FORMAT:
                raise ValueError("not a token cache record")
            if record.get("key") != key:
                raise ValueError("a record for another identity")
            token = Token.from_dict(record.get("token") or {})
            if digest is None or digest.decode() != sha256_hex(token.access_token):
                raise ValueError("the token does not match its hash")
        except (ValueError, UnicodeDecodeError) as exc:
            # Never the content in the message: it may hold a token.
            log.warning("Redis token cache entry %s… ignored: %s", key[:12], _why(exc))
            return None
        return token

    def _decrypt(self, data: bytes) -> bytes:
        from cryptography.fernet import InvalidToken

        assert self._fernet is not None
        try:
            decrypted: bytes = self._fernet.decrypt(data)
        except InvalidToken:
            raise ValueError("not encrypted with this cache's key") from None
        return decrypted

    def _token_key(self, key: str) -> str:
        return f"{self.prefix}token:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self.prefix}lock:{key}"

    # -- lifecycle ------------------------------------------------------------------------
    def _after_fork(self) -> None:
        self._state = threading.Lock()
        _fork.reset_memory_cache(self.fallback)
        pool = getattr(self.client, "connection_pool", None)
        if self._owns_client and pool is not None:
            # New connections now, not on the first call (and no inherited pool lock).
            pool.reset()

    def close(self) -> None:
        """Close the client if this cache created it (``from_url``)."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        encrypted = " encrypted" if self._fernet is not None else ""
        return f"<RedisCache prefix={self.prefix!r}{encrypted}>"


def _bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return "not JSON"
    return str(exc)


def _make_fernet(key: str | bytes | Sequence[str | bytes] | None) -> Any:
    if key is None:
        return None
    from cryptography.fernet import Fernet, MultiFernet

    keys = [key] if isinstance(key, str | bytes) else list(key)
    if not keys:
        raise ConfigError("encryption_key is empty")
    try:
        fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
    except (ValueError, TypeError):
        # Never the key in the message.
        raise ConfigError(
            "the token cache encryption key is not a Fernet key (32 url-safe base64 bytes)",
            hint="make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        ) from None
    return MultiFernet(fernets)
