"""The emulator's adjustable clock: real time plus an offset that tests move.

Every time-dependent rule of the emulator (session expiry, ``exp``/``iat``/``nbf`` checks,
the login-rate window, the daily API count, certificate validity) reads this clock, so a
test can jump hours ahead without sleeping.

Example:
    >>> clock = Clock()
    >>> before = clock.now()
    >>> clock.advance(minutes=121)
    >>> clock.now() - before >= 121 * 60
    True

    Freeze it to test an edge to the second (a check exactly at the limit of the skew allowance):

    >>> clock.freeze(at=1_800_000_000)
    >>> clock.advance(seconds=30)
    >>> clock.now()
    1800000030.0
    >>> clock.reset()
    >>> clock.now() > 1_700_000_000
    True
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable

__all__ = ["Clock"]

_MAX_OFFSET = 100 * 365 * 86400


class Clock:
    """Wall-clock time shifted by an offset; thread-safe.

    Args:
        source: the underlying time source (``time.time`` by default).
    """

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return self._source() + self._offset

    def utcnow(self) -> dt.datetime:
        """The emulator's current time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of (positive) or behind (negative) real time."""
        return self._offset

    def advance(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> None:
        """Move the clock forward (or back, with negative values)."""
        delta = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if not math.isfinite(delta) or abs(self._offset + delta) > _MAX_OFFSET:
            raise ValueError("the clock can move at most 100 years from real time")
        with self._lock:
            self._offset += delta
            if self._frozen is not None:
                self._frozen += delta

    def set(self, epoch_seconds: float) -> None:
        """Make the clock read ``epoch_seconds`` now (it keeps ticking from there)."""
        offset = epoch_seconds - self._source()
        if not math.isfinite(offset) or abs(offset) > _MAX_OFFSET:
            raise ValueError("the clock can move at most 100 years from real time")
        with self._lock:
            self._offset = offset
            if self._frozen is not None:
                self._frozen = float(epoch_seconds)

    def freeze(self, *, at: float | None = None) -> None:
        """Stop the clock at its current reading, or at ``at`` (epoch seconds).

        A frozen clock still moves with :meth:`advance` and :meth:`set`; :meth:`reset` thaws it.
        """
        with self._lock:
            reading = self._source() + self._offset if at is None else float(at)
            offset = reading - self._source()
            if not math.isfinite(offset) or abs(offset) > _MAX_OFFSET:
                raise ValueError("the clock can move at most 100 years from real time")
            self._offset = offset
            self._frozen = reading

    @property
    def frozen(self) -> bool:
        """Whether the clock is stopped (see :meth:`freeze`)."""
        return self._frozen is not None

    def reset(self) -> None:
        """Back to real, ticking time."""
        with self._lock:
            self._offset = 0.0
            self._frozen = None
