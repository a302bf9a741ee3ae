"""Single flight across threads *and* asyncio tasks: one computation, any number of waiters.

A :class:`Flight` holds at most one :class:`concurrent.futures.Future` at a time. The first
caller to :meth:`Flight.join` becomes the leader and runs the work; everyone else (threads
blocking on ``result()``, tasks awaiting :func:`asyncio.wrap_future`) waits for the same
result. The future is marked running at once, so a waiting task that gets cancelled cannot
cancel the work for the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["Flight"]

T = TypeVar("T")


class Flight(Generic[T]):
    """At most one in-flight computation of ``T``."""

    __slots__ = ("_current", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Future[T] | None = None

    @property
    def busy(self) -> bool:
        return self._current is not None

    def join(self) -> tuple[Future[T], bool]:
        """The in-flight future, and whether the caller must lead (run :meth:`run`)."""
        with self._lock:
            if self._current is not None:
                return self._current, False
            future: Future[T] = Future()
            future.set_running_or_notify_cancel()
            self._current = future
            return future, True

    def run(self, future: Future[T], work: Callable[[], T]) -> None:
        """Run ``work`` as the leader of ``future`` and publish its outcome to every waiter."""
        try:
            result = work()
        except BaseException as exc:  # noqa: BLE001 - every waiter must learn the outcome, whatever it is
            self._finish(future)
            future.set_exception(exc)
        else:
            self._finish(future)
            future.set_result(result)

    def _finish(self, future: Future[T]) -> None:
        with self._lock:
            if self._current is future:
                self._current = None
