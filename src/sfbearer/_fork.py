"""Fork safety: what a forked child must not inherit from its parent, reset at fork time.

gunicorn ``--preload``, Celery's prefork pool and ``multiprocessing`` with the ``fork`` start
method copy the parent's memory into each child: threading locks that another thread held
at fork time (held forever in the child, where that thread does not exist), an in-flight
single-flight refresh whose leader is gone, pooled HTTP connections whose sockets the parent
still uses, a file lock's descriptor. :func:`register` takes an object and a function that
makes it safe again; :func:`os.register_at_fork` runs every such function in the child, in
the forking thread, before any user code, so a forked worker works on its first call.

Objects are held weakly: registering does not keep anything alive.

Example:
    >>> class Pool:
    ...     def __init__(self):
    ...         self.connections = ["parent's socket"]
    >>> pool = register(Pool(), lambda p: p.connections.clear())  # returns the pool
    >>> pool.connections  # untouched here; a forked child starts with an empty list
    ["parent's socket"]
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "keep_forever",
    "register",
    "reset_credentials",
    "reset_memory_cache",
    "reset_rest_client",
    "run_child_hooks",
]

log = logging.getLogger("sfbearer.fork")

T = TypeVar("T")

_hooks: dict[int, tuple[weakref.ref[Any], Callable[[Any], None]]] = {}
# Objects a child must neither use nor destroy: closing an inherited TLS connection or
# releasing an inherited lock could act on the parent's resource. Kept referenced (never
# collected, never finalised) in the child; the handful of descriptors this costs is bounded.
_graveyard: list[object] = []


def register(obj: T, reset: Callable[[T], None]) -> T:
    """Call ``reset(obj)`` in every child forked from now on, while ``obj`` is alive.

    ``reset`` must not hold a strong reference to ``obj`` (it would never be released):
    pass a module-level function or a function of its argument only.

    Returns:
        ``obj``, for chaining.
    """
    key = id(obj)

    def _forget(_: weakref.ref[Any], key: int = key) -> None:
        # No lock here: a garbage collection can run this callback in a thread that is
        # inside register(), and single dict operations are atomic anyway. The id cannot be
        # reused before this runs (the object's memory is freed after its callbacks).
        entry = _hooks.get(key)
        if entry is not None and entry[0]() is None:
            _hooks.pop(key, None)

    _hooks[key] = (weakref.ref(obj, _forget), reset)
    return obj


def keep_forever(obj: object) -> None:
    """Keep ``obj`` referenced for the life of this process (see the graveyard above)."""
    _graveyard.append(obj)


def run_child_hooks() -> None:
    """Run every registered reset; :func:`os.register_at_fork` calls this in the child."""
    # In the child no other thread exists; the GIL made every mutation of the registry atomic.
    entries = list(_hooks.values())
    for ref, reset in entries:
        obj = ref()
        if obj is None:
            continue
        try:
            reset(obj)
        except Exception:  # one broken reset must not break the child's start
            log.warning("could not reset %s after fork", type(obj).__name__, exc_info=True)


def reset_credentials(creds: Any) -> None:
    """Make a :class:`~sfbearer.JWTBearerCredentials` usable in a forked child.

    The child keeps the parent's token (the session is valid in any process: no extra
    login per worker) but gets a fresh slot (locks, no in-flight refresh, no remembered
    failure) and, when the credentials built their own, a fresh HTTP client. A client the
    caller passed in as ``http=`` is theirs to manage.
    """
    from sfbearer._refresh import TokenSlot

    old = creds._slot
    slot = TokenSlot()
    slot.token = old.token
    slot.invalidated = old.invalidated
    object.__setattr__(creds, "_slot", slot)
    from sfbearer.cache.memory import MemoryCache

    if isinstance(creds.cache, MemoryCache):
        reset_memory_cache(creds.cache)
    if creds._own_http:
        from sfbearer._exchange import make_http_client

        keep_forever(creds._http)
        fresh = make_http_client(
            proxy=creds.proxy, ca_bundle=creds.ca_bundle, timeout=creds.timeout
        )
        object.__setattr__(creds, "_http", fresh)


def reset_rest_client(client: Any) -> None:
    """Make a :class:`~sfbearer.SalesforceClient` usable in a forked child.

    Its pooled connections are the parent's sockets: the child gets a new ``httpx.Client``
    with the same auth and options. A custom transport passed in (``transport=``) is kept.
    """
    from sfbearer._exchange import http_options
    from sfbearer._http import httpx

    client._lock = threading.Lock()
    old = client._http
    if type(old._transport) is not httpx.HTTPTransport:
        return
    keep_forever(old)
    client._http = httpx.Client(auth=old.auth, **http_options(client.credentials))


def reset_memory_cache(cache: Any) -> None:
    """Fresh locks for a :class:`~sfbearer.cache.MemoryCache` in a child; tokens are kept."""
    cache._guard = threading.Lock()
    cache._locks = {}


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=run_child_hooks)
