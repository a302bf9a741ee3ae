"""The distributed refresh lock of the Redis token cache: a lease renewed by its holder.

``SET lock owner NX PX ttl`` with a random owner value takes the lock. While the holder's
refresh runs — retries and backoff included — a daemon thread renews the lease every third
of its TTL, through a Lua script that extends it only if the holder still owns it. Release is
another owner-checked script, so a holder whose lease lapsed can never delete a lock someone
else took since. The TTL is short: a holder that crashes (no renewal) frees the fleet within
seconds; a slow one keeps its lease for as long as it is alive.

Waiters poll with a growing interval (capped at 50 ms); once they hold the lock, the
credentials read the cache first and find the token the previous holder stored, instead of
logging in themselves.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import TransportError

if TYPE_CHECKING:
    from sfbearer.cache.redis_cache import RedisCache

__all__ = ["RELEASE_SCRIPT", "RENEW_SCRIPT", "RedisLock"]

log = logging.getLogger("sfbearer.cache")

#: Extend the lease only if we still own it.
RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
#: Delete the lock only if we still own it.
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

_MAX_POLL = 0.05


class RedisLock:
    """One acquisition of an identity's refresh lock (a context manager, used once).

    When Redis cannot be reached, it takes the process-local lock of the fallback cache
    instead (the cache logs the outage), so a refresh still happens once per process.
    """

    def __init__(
        self,
        cache: RedisCache,
        name: str,
        local: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._name = name
        self._local = local  # the fallback cache's lock for this key
        self._sleep = sleep
        self._monotonic = monotonic
        self.owner = secrets.token_hex(16)
        self.distributed = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.renewals = 0
        self.lost = False

    def __enter__(self) -> RedisLock:
        if self._cache.redis_available() and self._acquire_distributed():
            return self
        self._local.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.distributed:
            self._local.release()
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self._cache.lock_ttl)
        self._cache.run_script("release", [self._name], [self.owner])

    # -- acquisition ----------------------------------------------------------------------
    def _acquire_distributed(self) -> bool:
        """True once the lock is ours; False when Redis went away while we waited.

        Raises:
            TransportError: another holder kept the lock past ``lock_timeout``.
        """
        cache = self._cache
        ttl_ms = max(1, int(cache.lock_ttl * 1000))
        deadline = self._monotonic() + cache.lock_timeout
        delay = cache.poll_interval
        while True:
            taken = cache.call(lambda r: r.set(self._name, self.owner, nx=True, px=ttl_ms))
            if taken is _DOWN:
                return False
            if taken:
                break
            left = deadline - self._monotonic()
            if left <= 0:
                raise TransportError(
                    f"another process has held the Redis token lock for over "
                    f"{cache.lock_timeout:g} s",
                    hint="a refresh is stuck somewhere in the fleet; check the other workers",
                )
            self._sleep(min(delay, left))
            delay = min(delay * 2, _MAX_POLL)
        self.distributed = True
        self._renewer = threading.Thread(
            target=self._renew_until_released, name="sfbearer-lock-renewal", daemon=True
        )
        self._renewer.start()
        return True

    def _renew_until_released(self) -> None:
        cache = self._cache
        ttl_ms = str(max(1, int(cache.lock_ttl * 1000)))
        # Renew at a third of the TTL: two renewals can fail or be late before the lease ends.
        while not self._stop.wait(cache.lock_ttl / 3):
            kept = cache.run_script("renew", [self._name], [self.owner, ttl_ms])
            if kept is _DOWN:
                return  # the cache has logged the outage; the refresh carries on
            if not kept:
                self.lost = True
                log.warning(
                    "the Redis token lock expired during a refresh (the process stalled for "
                    "over %g s); another process may log in too",
                    cache.lock_ttl,
                )
                return
            self.renewals += 1


class _Down:
    """The result of a Redis call that failed because Redis is unreachable."""

    def __repr__(self) -> str:
        return "<redis down>"

    def __bool__(self) -> bool:
        return False


_DOWN: Any = _Down()
