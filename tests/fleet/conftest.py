"""Fixtures for the fleet tests: a real Redis, the emulator, and fleets of worker processes.

Redis: ``SFBEARER_TEST_REDIS_URL`` when set (CI starts one); otherwise a private
``redis-server`` on a free loopback port when the binary exists; otherwise the Redis tests
skip with the reason — or fail, when ``SFBEARER_REQUIRE_SERVICES=1`` says services must be
there. Every test gets its own key prefix, so tests never see each other's keys.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, write_key_pair

USERNAME = "fleet@acme.com"
WORKER = Path(__file__).with_name("fleet_worker.py")
_TEST_REDIS_VAR = "SFBEARER_TEST_REDIS_URL"
# Read at import: the suite's autouse fixture clears SFBEARER_* variables for each test.
_CI_REDIS_URL = os.environ.get(_TEST_REDIS_VAR, "")


def _required() -> bool:
    return os.environ.get("SFBEARER_REQUIRE_SERVICES") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private ``redis-server`` this test run starts, stops and restarts at will."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _skip_or_fail(reason: str) -> None:
    if _required():
        pytest.fail(f"{reason}, and SFBEARER_REQUIRE_SERVICES=1 requires Redis")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _session_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    url = _CI_REDIS_URL or os.environ.get(_TEST_REDIS_VAR)
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(_session_redis: str | None) -> str:
    """The URL of a real Redis (see the module docstring)."""
    if _session_redis is None:
        _skip_or_fail(f"no Redis: {_TEST_REDIS_VAR} is not set and redis-server is not installed")
    assert _session_redis is not None
    import redis

    client = redis.Redis.from_url(_session_redis, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _skip_or_fail(f"Redis at {_session_redis} does not answer ({type(exc).__name__})")
    finally:
        client.close()
    return _session_redis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to stop and restart (never the shared one)."""
    if shutil.which("redis-server") is None:
        _skip_or_fail("redis-server is not installed (this test stops and restarts its own)")
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    import redis

    value = f"sfbearer-test:{secrets.token_hex(6)}:"
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=value + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


# -- the emulator and fleets of processes --------------------------------------------------
@dataclass
class Org:
    sf: Emulator
    consumer_key: str
    key_path: Path
    workdir: Path

    def token_requests(self) -> int:
        stats = self.sf.stats()["token_requests"]
        return int(stats["ok"]) + int(stats["failed"])

    def worker_config(self, cache: str, **extra: Any) -> dict[str, Any]:
        return {
            "url": self.sf.url,
            "client_id": self.consumer_key,
            "username": USERNAME,
            "key_path": str(self.key_path),
            "cache": cache,
            **extra,
        }


@pytest.fixture
def org(key_pair: KeyPair, tmp_path: Path) -> Iterator[Org]:
    key_path, _ = write_key_pair(key_pair, tmp_path / "keys")
    with Emulator() as sf:
        app = sf.add_app(name="fleet", certificate=key_pair.certificate)
        sf.add_user(username=USERNAME)
        sf.authorize(app="fleet", profile="Integration User")
        yield Org(sf, app.consumer_key, key_path, tmp_path)


@dataclass
class Worker:
    process: subprocess.Popen[str]
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    stderr: list[str] = field(default_factory=list)
    pumps: list[threading.Thread] = field(default_factory=list)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        for pump in self.pumps:
            pump.join(timeout=10)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()

    def next(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next JSON line with this ``event`` (fails with the worker's stderr on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(
                    f"worker {self.process.pid}: no {event!r} in {timeout} s; "
                    f"stderr: {''.join(self.stderr)[-2000:]}"
                ) from None
            if line.get("event") == event:
                return line


class Fleet:
    """Worker processes started from one config; the test drives them through go files."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workers: list[Worker] = []
        self._count = 0

    def go_file(self, name: str) -> str:
        return str(self.workdir / f"go-{name}")

    def go(self, name: str) -> None:
        Path(self.go_file(name)).touch()

    def start(self, config: dict[str, Any], count: int = 1) -> list[Worker]:
        started = []
        for _ in range(count):
            self._count += 1
            path = self.workdir / f"worker-{self._count}.json"
            path.write_text(json.dumps(config))
            env = {k: v for k, v in os.environ.items() if not k.startswith("COV_")}
            process = subprocess.Popen(
                [sys.executable, str(WORKER), str(path)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )  # fmt: skip
            worker = Worker(process)
            worker.pumps = [
                threading.Thread(target=_pump_json, args=(process, worker), daemon=True),
                threading.Thread(target=_pump_text, args=(process, worker), daemon=True),
            ]
            for pump in worker.pumps:
                pump.start()
            self.workers.append(worker)
            started.append(worker)
        return started

    def wait(self, timeout: float = 60.0) -> None:
        for worker in self.workers:
            code = worker.process.wait(timeout=timeout)
            assert code in (0, -9), f"worker exited {code}: {''.join(worker.stderr)[-2000:]}"

    def stop(self) -> None:
        for worker in self.workers:
            worker.close()


def _pump_json(process: subprocess.Popen[str], worker: Worker) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        if raw.strip():
            worker.lines.put(json.loads(raw))


def _pump_text(process: subprocess.Popen[str], worker: Worker) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        worker.stderr.append(raw)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    workdir = tmp_path / "fleet"
    workdir.mkdir()
    made = Fleet(workdir)
    yield made
    made.stop()
