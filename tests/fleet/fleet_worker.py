"""One worker process of a fleet test: ``python fleet_worker.py CONFIG_JSON``.

Modes:
* ``calls``: one credentials object and one REST client for the process; for each phase,
  wait for that phase's go file, then ``threads`` threads make ``calls`` API calls each
  (released together by a barrier) and one JSON line reports the phase.
* ``hold-lock``: take the identity's cache lock, say so, and hang (the test kills us).
* ``preload``: use the credentials, then fork children while a refresh is in flight in
  another thread (gunicorn ``--preload`` style); each child must get a token and make an
  API call on its first try.

Everything the parent needs comes back as JSON lines on stdout; warnings go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sfbearer.audit import AuditTrail, token_hash
from sfbearer.client import SalesforceClient
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.keys import load_private_key


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def wait_for(path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no go signal at {path}")
        time.sleep(0.005)


def make_credentials(cfg: dict[str, Any]) -> JWTBearerCredentials:
    return JWTBearerCredentials(
        client_id=cfg["client_id"],
        username=cfg["username"],
        private_key=load_private_key(cfg["key_path"]),
        environment=cfg["url"],
        cache=cfg["cache"],
        audit=AuditTrail(cfg["audit"]) if cfg.get("audit") else None,
    )


def run_calls(cfg: dict[str, Any]) -> None:
    creds = make_credentials(cfg)
    client = SalesforceClient(creds, api_version="68.0")
    threads, calls = cfg["threads"], cfg["calls"]
    emit(event="ready", pid=os.getpid())
    for phase, go in enumerate(cfg["go"]):
        wait_for(go)
        barrier = threading.Barrier(threads)
        errors: list[str] = []
        seen: set[str] = set()

        def work(_: int) -> int:
            barrier.wait()
            done = 0
            for _ in range(calls):
                try:
                    client.limits()
                    seen.add(token_hash(creds.token().access_token))
                    done += 1
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
            return done

        with ThreadPoolExecutor(threads) as pool:
            ok = sum(pool.map(work, range(threads)))
        emit(event="phase", phase=phase, ok=ok, errors=errors[:5], tokens=sorted(seen))
    client.close()
    creds.close()


def run_hold_lock(cfg: dict[str, Any]) -> None:
    creds = make_credentials(cfg)
    with creds.cache.lock(creds.cache_key):
        emit(event="locked", pid=os.getpid())
        time.sleep(600)


def run_preload(cfg: dict[str, Any]) -> None:
    """The parent of a preforking server: warm up, then fork while a refresh is in flight."""
    creds = make_credentials(cfg)
    client = SalesforceClient(creds, api_version="68.0")
    client.limits()  # the parent used the credentials (token held, connections pooled)
    first = creds.token()
    # A refresh in flight in another thread when we fork: it holds the slot's single flight
    # and the cache lock; the children must not inherit either.
    creds.invalidate(first)
    started = threading.Event()

    def refresh() -> None:
        started.set()
        creds.token()

    in_flight = threading.Thread(target=refresh)
    in_flight.start()
    started.wait()
    time.sleep(cfg.get("fork_delay", 0.2))  # the token request is now under way (slow emulator)
    children = []
    for _ in range(cfg["children"]):
        pid = os.fork()
        if pid == 0:  # the child: it must work on its first call, without any help
            code = 1
            try:
                signal_alarm(cfg.get("child_timeout", 20))
                token = creds.token()
                client.limits()  # the parent's client: its pooled socket is not ours
                with SalesforceClient(creds, api_version="68.0") as child_client:
                    child_client.limits()
                creds.cache.get(creds.cache_key)
                code = 0 if token.access_token else 1
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)
    in_flight.join()
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    client.limits()  # and the parent's connections still work
    client.close()
    emit(event="preload", codes=codes)


def signal_alarm(seconds: int) -> None:
    import signal

    signal.alarm(seconds)  # a child that hangs (inherited lock, dead flight) dies of SIGALRM


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    mode = cfg.get("mode", "calls")
    {"calls": run_calls, "hold-lock": run_hold_lock, "preload": run_preload}[mode](cfg)


if __name__ == "__main__":
    main()
