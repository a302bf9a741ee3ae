"""The default token cache: a dict in this process."""

from __future__ import annotations

import threading

from sfbearer.token import Token

__all__ = ["MemoryCache"]


class MemoryCache:
    """A thread-safe in-process token cache; its lock is a per-key process lock.

    Example:
        >>> cache = MemoryCache()
        >>> with cache.lock("k"):
        ...     cache.get("k") is None
        True
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> Token | None:
        with self._guard:
            return self._tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        with self._guard:
            self._tokens[key] = token

    def invalidate(self, key: str, token: Token) -> bool:
        with self._guard:
            current = self._tokens.get(key)
            if current is None or current.access_token != token.access_token:
                return False
            del self._tokens[key]
            return True

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()

    def __repr__(self) -> str:
        return f"<MemoryCache entries={len(self._tokens)}>"
