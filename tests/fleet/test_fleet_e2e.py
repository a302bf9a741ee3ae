"""A fleet of real processes on one identity, against the real emulator on a loopback port.

Each worker is a separate Python process (``fleet_worker.py``) with its own credentials and
REST client, like a gunicorn worker or a pod; they share the token only through the cache.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Fleet, Org, RedisServer

PROCESSES = 8
THREADS = 16


def _spec(kind: str, org: Org, redis_url: str = "", prefix: str = "", **params: str) -> str:
    if kind == "file":
        return f"file:{org.workdir / 'token-cache'}"
    query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, **params}.items())
    return f"{redis_url}?{query}"


@pytest.fixture(params=["redis", "file"])
def cache_spec(request: pytest.FixtureRequest, org: Org) -> str:
    if request.param == "file":
        return _spec("file", org)
    redis_url = request.getfixturevalue("redis_url")
    return _spec("redis", org, redis_url, request.getfixturevalue("prefix"))


def _phase(workers: list[Any], phase: int) -> list[dict[str, Any]]:
    reports = [w.next("phase", timeout=60) for w in workers]
    assert all(r["phase"] == phase for r in reports)
    return reports


def _audit_events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


def test_cold_fleet_logs_in_once_then_once_more_after_revocation(
    org: Org, fleet: Fleet, cache_spec: str
) -> None:
    # A slow login widens the window in which every process and thread wants a token.
    org.sf.faults.update(latency=0.3, scope="token")
    audit = org.workdir / "audit.jsonl"
    config = org.worker_config(
        cache_spec, threads=THREADS, calls=3, audit=str(audit),
        go=[fleet.go_file("cold"), fleet.go_file("after-revocation")],
    )  # fmt: skip
    workers = fleet.start(config, PROCESSES)
    for w in workers:
        w.next("ready")
    assert org.token_requests() == 0

    fleet.go("cold")  # 8 processes x 16 threads, all cold, at once
    cold = _phase(workers, 0)
    assert all(r["errors"] == [] for r in cold), [e for r in cold for e in r["errors"]]
    assert sum(r["ok"] for r in cold) == PROCESSES * THREADS * 3
    assert len({t for r in cold for t in r["tokens"]}) == 1
    assert org.token_requests() == 1

    events = _audit_events(audit)
    assert events.count("token.issued") == 1
    assert events.count("token.reused") == PROCESSES - 1
    assert events.count("assertion.minted") == 1

    assert org.sf.revoke_sessions() == 1  # Salesforce ends the session mid-run
    fleet.go("after-revocation")
    after = _phase(workers, 1)
    fleet.wait()
    assert all(r["errors"] == [] for r in after), [e for r in after for e in r["errors"]]
    assert sum(r["ok"] for r in after) == PROCESSES * THREADS * 3
    assert org.token_requests() == 2
    assert len({t for r in after for t in r["tokens"]} - set(cold[0]["tokens"])) == 1


def test_slow_login_under_a_short_redis_lease_is_still_one_login(
    org: Org, fleet: Fleet, redis_url: str, prefix: str
) -> None:
    # The login takes 2.5x the lock's lease: only renewal by the holder keeps the others out.
    org.sf.faults.update(latency=2.5, scope="token")
    spec = _spec("redis", org, redis_url, prefix, lock_ttl="1")
    config = org.worker_config(spec, threads=4, calls=1, go=[fleet.go_file("go")])
    workers = fleet.start(config, 4)
    for w in workers:
        w.next("ready")
    fleet.go("go")
    reports = _phase(workers, 0)
    fleet.wait()
    assert all(r["errors"] == [] for r in reports), reports
    assert org.token_requests() == 1


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_fleet_recovers_within_seconds_from_a_holder_killed_mid_refresh(
    org: Org, fleet: Fleet, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "redis":
        spec = _spec(
            "redis", org, request.getfixturevalue("redis_url"), request.getfixturevalue("prefix")
        )
    else:
        spec = _spec("file", org)
    (holder,) = fleet.start(org.worker_config(spec, mode="hold-lock"))
    holder.next("locked")
    config = org.worker_config(spec, threads=4, calls=2, go=[fleet.go_file("go")])
    workers = fleet.start(config, 4)
    for w in workers:
        w.next("ready")
    fleet.go("go")
    time.sleep(0.5)
    assert org.token_requests() == 0  # everyone waits for the holder
    holder.process.kill()  # SIGKILL while holding the lock: no cleanup runs
    killed_at = time.monotonic()
    reports = _phase(workers, 0)
    recovered = time.monotonic() - killed_at
    fleet.wait()
    assert all(r["errors"] == [] for r in reports), reports
    assert org.token_requests() == 1
    # Redis: the lease (5 s by default) runs out; file: the kernel drops the dead flock.
    assert recovered < (7.0 if kind == "redis" else 3.0), recovered


def test_redis_stopped_mid_run_calls_keep_succeeding(
    org: Org, fleet: Fleet, private_redis: RedisServer
) -> None:
    spec = f"{private_redis.url}?prefix=stopped:"
    config = org.worker_config(
        spec, threads=4, calls=3, go=[fleet.go_file("up"), fleet.go_file("down")]
    )
    workers = fleet.start(config, 4)
    for w in workers:
        w.next("ready")
    fleet.go("up")
    up = _phase(workers, 0)
    assert all(r["errors"] == [] for r in up)
    assert org.token_requests() == 1

    private_redis.stop()
    org.sf.revoke_sessions()  # every process now needs a new token, and Redis is gone
    fleet.go("down")
    down = _phase(workers, 1)
    fleet.wait()
    assert all(r["errors"] == [] for r in down), down
    assert sum(r["ok"] for r in down) == 4 * 4 * 3
    # Each process falls back to its own memory cache: at most one login per process.
    assert 2 <= org.token_requests() <= 1 + 4
    for w in workers:
        assert any("Redis token cache unreachable" in line for line in w.stderr), w.stderr


@pytest.mark.parametrize("kind", ["memory", "redis", "file"])
def test_preload_parent_forks_workers_that_work_on_their_first_call(
    org: Org, fleet: Fleet, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "redis":
        spec = _spec(
            "redis", org, request.getfixturevalue("redis_url"), request.getfixturevalue("prefix")
        )
    else:
        spec = "memory" if kind == "memory" else _spec("file", org)
    org.sf.faults.update(latency=0.6, scope="token")
    (parent,) = fleet.start(org.worker_config(spec, mode="preload", children=3))
    report = parent.next("preload", timeout=40)
    fleet.wait()
    assert report["codes"] == [0, 0, 0], "".join(parent.stderr)[-3000:]
    if kind != "memory":
        # The children waited for the parent's in-flight refresh and reused its token.
        assert org.token_requests() == 2
