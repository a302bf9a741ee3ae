"""Logins and wall time of a fleet: N processes x M threads x K API calls on one identity.

Run from the repository root::

    python bench/fleet.py                          # 1, 4, 8 processes x 16 threads x 20 calls
    python bench/fleet.py --processes 2 8 --threads 4 32 --calls 50
    python bench/fleet.py --quick                  # a smoke test
    python bench/fleet.py --redis-url redis://127.0.0.1:6379/0   # an existing Redis

Every run starts the embedded emulator on a loopback port (token endpoint latency 150 ms,
roughly a real login), one worker *process* per N (each with its own credentials and REST
client, like gunicorn workers or pods), releases them together, and counts the token
requests the emulator received. Caches: ``memory`` (each process on its own), ``file:``
(one host) and ``redis://`` (a private ``redis-server`` on a free port unless
``--redis-url`` is given). The target: one login per identity per token lifetime with the
file and Redis caches, whatever N and M; the memory cache needs one per process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

USERNAME = "bench@acme.com"
TOKEN_LATENCY = 0.15


# -- the worker process ----------------------------------------------------------------------
def worker(config_path: str) -> None:
    from sfbearer.client import SalesforceClient
    from sfbearer.credentials import JWTBearerCredentials
    from sfbearer.keys import load_private_key

    cfg = json.loads(Path(config_path).read_text())
    creds = JWTBearerCredentials(
        client_id=cfg["client_id"], username=USERNAME,
        private_key=load_private_key(cfg["key_path"]), environment=cfg["url"], cache=cfg["cache"],
    )  # fmt: skip
    client = SalesforceClient(creds, api_version="68.0")
    print("ready", flush=True)
    while not os.path.exists(cfg["go"]):
        time.sleep(0.002)
    failures = 0

    def run(_: int) -> int:
        nonlocal failures
        for _ in range(cfg["calls"]):
            try:
                client.limits()
            except Exception:
                failures += 1
        return 0

    with ThreadPoolExecutor(cfg["threads"]) as pool:
        list(pool.map(run, range(cfg["threads"])))
    print(json.dumps({"failures": failures}), flush=True)


# -- the driver -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: pass --redis-url or --caches memory file")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


def run_one(
    cache: str, processes: int, threads: int, calls: int, workdir: Path, key_path: Path, pem: Any
) -> dict[str, Any]:
    from sfbearer.emulator import Emulator

    with Emulator() as sf:
        app = sf.add_app(name="bench", certificate=pem)
        sf.add_user(username=USERNAME)
        sf.authorize(app="bench", profile="Integration User")
        sf.faults.update(latency=TOKEN_LATENCY, scope="token")
        run_dir = Path(tempfile.mkdtemp(dir=workdir))
        go = run_dir / "go"
        cfg = {
            "url": sf.url, "client_id": app.consumer_key, "key_path": str(key_path),
            "cache": cache, "threads": threads, "calls": calls, "go": str(go),
        }  # fmt: skip
        (run_dir / "cfg.json").write_text(json.dumps(cfg))
        command = [sys.executable, __file__, "--worker", str(run_dir / "cfg.json")]
        procs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)
        ]
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit("a worker failed to start")
        before = sf.stats()["token_requests"]["ok"]
        started = time.perf_counter()
        go.touch()
        failures = 0
        for proc in procs:
            assert proc.stdout is not None
            failures += json.loads(proc.stdout.readline())["failures"]
            proc.wait()
            proc.stdout.close()
        wall = time.perf_counter() - started
        logins = sf.stats()["token_requests"]["ok"] - before
    return {"logins": logins, "wall": wall, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[16])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--caches", nargs="+", default=["memory", "file", "redis"])
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.quick:
        args.processes, args.threads, args.calls = [2], [4], 5

    from sfbearer.keys import generate_key_pair, write_key_pair

    workdir = Path(tempfile.mkdtemp(prefix="sfbearer-fleet-bench-"))
    pair = generate_key_pair(common_name="bench", days=30)
    key_path, _ = write_key_pair(pair, workdir / "keys")
    redis_proc = None
    try:
        redis_url = args.redis_url
        if "redis" in args.caches and not redis_url:
            redis_proc, redis_url = start_redis(str(workdir))
        rows = []
        header = f"{'cache':<7} {'N proc':>6} {'M thr':>6} {'K calls':>7} {'API calls':>9} "
        header += f"{'logins':>6} {'wall s':>7} {'calls/s':>8} {'failed':>6}"
        print(header)
        print("-" * len(header))
        for cache_kind in args.caches:
            for n in args.processes:
                for m in args.threads:
                    if cache_kind == "memory":
                        spec = "memory"
                    elif cache_kind == "file":
                        spec = f"file:{workdir / f'cache-{n}-{m}'}"
                    else:
                        spec = f"{redis_url}?prefix=bench-{n}-{m}-{time.time_ns()}:"
                    result = run_one(spec, n, m, args.calls, workdir, key_path, pair.certificate)
                    total = n * m * args.calls
                    line = (
                        f"{cache_kind:<7} {n:>6} {m:>6} {args.calls:>7} {total:>9} "
                        f"{result['logins']:>6} {result['wall']:>7.2f} "
                        f"{total / result['wall']:>8.0f} {result['failures']:>6}"
                    )
                    print(line, flush=True)
                    rows.append(line)
        print(
            f"\ntoken endpoint latency {TOKEN_LATENCY * 1000:.0f} ms; one identity; every "
            "process starts cold. Target: 1 login with file and Redis, whatever N and M."
        )
    finally:
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
