"""The login-rate window and the ``jti`` replay cache (both in memory only).

Example:
    >>> from sfbearer.emulator.clock import Clock
    >>> window = LoginWindow(Clock())
    >>> window.record("005000000000001AAA")
    >>> window.exceeded("005000000000001AAA", limit=1)
    True
"""

from __future__ import annotations

import threading
import time
from collections import deque

from sfbearer.emulator.clock import Clock

__all__ = ["JtiCache", "LoginWindow"]


class LoginWindow:
    """Successful logins per user over a rolling hour (in memory)."""

    def __init__(self, clock: Clock, window: float = 3600.0) -> None:
        self._clock = clock
        self._window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, user_id: str, now: float) -> deque[float]:
        events = self._events.get(user_id)
        if events is None:
            events = self._events[user_id] = deque()
        horizon = now - self._window
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def exceeded(self, user_id: str, limit: int, now: float | None = None) -> bool:
        """Whether the user has had ``limit`` logins in the window ending ``now`` (the clock's
        time by default)."""
        now = self._clock.now() if now is None else now
        with self._lock:
            return len(self._trim(user_id, now)) >= limit

    def record(self, user_id: str, now: float | None = None) -> None:
        """Count a login at ``now`` (the clock's time by default)."""
        now = self._clock.now() if now is None else now
        with self._lock:
            self._trim(user_id, now).append(now)

    def count(self, user_id: str) -> int:
        with self._lock:
            return len(self._trim(user_id, self._clock.now()))


class JtiCache:
    """Seen ``jti`` values until their assertion expires; when full it refuses, never evicts early."""

    def __init__(self, clock: Clock, capacity: int) -> None:
        self._clock = clock
        self._capacity = capacity
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_purge = time.monotonic()

    def add(self, jti: str, until: float) -> str:
        """Record ``jti`` as used until ``until``; returns ``ok``, ``replay`` or ``full``."""
        now = self._clock.now()
        with self._lock:
            seen = self._seen.get(jti)
            if seen is not None and seen >= now:
                return "replay"
            if len(self._seen) >= self._capacity:
                self._seen = {k: v for k, v in self._seen.items() if v >= now}
                if len(self._seen) >= self._capacity:
                    return "full"
            self._seen[jti] = until
            return "ok"

    def __len__(self) -> int:
        return len(self._seen)
