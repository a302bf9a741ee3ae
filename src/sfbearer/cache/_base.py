"""The token cache interface, shared by the memory, file and Redis caches.

A cache maps a key (see :func:`cache_key`) to a :class:`~sfbearer.token.Token`. It is the only
mutable state behind :class:`~sfbearer.JWTBearerCredentials`, and the place where processes
and hosts meet: a file or Redis cache lets a whole fleet share one token.

Async notes: cache methods are blocking calls. The credentials never call them on the
event loop; ``atoken()`` calls them from a worker thread, so a cache may block (a file lock,
a Redis round trip) without stalling other tasks. Implementations must be thread-safe.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from sfbearer.token import Token

__all__ = ["TokenCache", "cache_key"]


@runtime_checkable
class TokenCache(Protocol):
    """Where tokens are kept between calls (and, for shared caches, between processes).

    Example:
        >>> from sfbearer.cache import MemoryCache
        >>> cache = MemoryCache()
        >>> cache.get("k") is None
        True
    """

    def get(self, key: str) -> Token | None:
        """The token stored under ``key``, or ``None`` (absent, unreadable or corrupt)."""
        ...

    def put(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing what was there."""
        ...

    def invalidate(self, key: str, token: Token) -> bool:
        """Drop the entry only if it still holds ``token`` (compare-and-delete).

        A newer token another caller already stored is left alone, so a burst of 401s for
        one stale token causes a single re-authentication. Returns True if it was dropped.
        """
        ...

    def lock(self, key: str) -> AbstractContextManager[object]:
        """A lock held while one caller refreshes ``key``.

        The memory cache's is a process lock; a file cache's a file lock and a Redis
        cache's a distributed lock, so refreshes are single-flight across processes too.
        """
        ...


def cache_key(token_url: str, client_id: str, username: str, audience: str) -> str:
    """The cache key of one identity: a SHA-256 over where, which app, who, and for whom.

    The key is a hash so a shared cache never stores a username in the clear.
    """
    material = "\n".join(("sfbearer-token-v1", token_url, client_id, username, audience))
    return hashlib.sha256(material.encode()).hexdigest()
