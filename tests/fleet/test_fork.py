"""Fork hooks: what a child must not inherit is reset before any of its own code runs."""

from __future__ import annotations

import gc
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx

from sfbearer import _fork
from sfbearer.cache.file import FileCache
from sfbearer.client import SalesforceClient
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.keys import KeyPair

from .test_file_cache import KEY, make_token


def in_child(check: Callable[[], bool]) -> int:
    """Fork, run ``check`` in the child, return its exit code (0: check passed)."""
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a threaded process: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if check() else 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


class Thing:
    def __init__(self) -> None:
        self.resets = 0


def test_registered_resets_run_in_the_child_only() -> None:
    thing = _fork.register(Thing(), lambda t: setattr(t, "resets", t.resets + 1))
    assert in_child(lambda: thing.resets == 1) == 0
    assert thing.resets == 0


def test_registration_is_weak() -> None:
    thing = _fork.register(Thing(), lambda t: None)
    key = id(thing)
    del thing
    gc.collect()
    assert key not in _fork._hooks


def test_a_failing_reset_does_not_stop_the_others() -> None:
    def broken(_: Thing) -> None:
        raise RuntimeError("boom")

    _fork.register(Thing(), broken)
    good = _fork.register(Thing(), lambda t: setattr(t, "resets", 1))
    assert in_child(lambda: good.resets == 1) == 0


def test_credentials_in_a_child_get_a_fresh_slot_and_client_and_keep_the_token(
    key_pair: KeyPair,
) -> None:
    creds = JWTBearerCredentials(
        client_id="cid", username="u@x.com", private_key=key_pair.private_key,
        environment="http://127.0.0.1:9",
    )  # fmt: skip
    token = make_token()
    creds._slot.token = token
    parent_http = creds._http
    creds._slot.lock.acquire()  # as if another thread held it when the process forked
    creds.cache.lock(creds.cache_key).acquire()

    def check() -> bool:
        fresh_lock = creds._slot.lock.acquire(timeout=1)
        cache_lock = creds.cache.lock(creds.cache_key).acquire(timeout=1)
        return (
            fresh_lock
            and cache_lock
            and creds._slot.token is token
            and not creds._slot.flight.busy
            and creds._http is not parent_http
            and isinstance(creds._http, httpx.Client)
        )

    try:
        assert in_child(check) == 0
    finally:
        creds._slot.lock.release()
        creds.cache.lock(creds.cache_key).release()
        creds.close()


def test_a_file_cache_in_a_child_locks_and_writes(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "c")
    cache.put(KEY, make_token())
    held = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with cache.lock(KEY):
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)

    def check() -> bool:
        # The parent's thread still holds the flock: the child waits for it, then works.
        cache.lock_timeout = 5
        cache.put(KEY, make_token("00Dxx!AQ.child"))
        return cache.get(KEY) == make_token("00Dxx!AQ.child")

    threading.Timer(0.3, done.set).start()
    assert in_child(check) == 0
    holder.join()
    assert cache.get(KEY) == make_token("00Dxx!AQ.child")


def test_a_rest_client_in_a_child_gets_its_own_connections(key_pair: KeyPair) -> None:
    creds = JWTBearerCredentials(
        client_id="cid", username="u@x.com", private_key=key_pair.private_key,
        environment="http://127.0.0.1:9",
    )  # fmt: skip
    client = SalesforceClient(creds, api_version="68.0")
    mocked = SalesforceClient(
        creds, api_version="68.0", transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    parent_http, parent_mocked = client._http, mocked._http

    def check() -> bool:
        fresh = client._http
        return (
            fresh is not parent_http
            and fresh.auth is parent_http.auth
            and fresh.timeout == parent_http.timeout
            and not fresh.follow_redirects
            and mocked._http is parent_mocked  # a transport passed in is the caller's
        )

    try:
        assert in_child(check) == 0
        assert client._http is parent_http
    finally:
        client.close()
        mocked.close()
        creds.close()
