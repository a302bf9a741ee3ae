"""Emulator throughput: token exchanges/s and simple queries/s, each as a ratio to a trivial endpoint.

The emulator runs in its own process (``sfbearer emulator serve``); concurrent keep-alive
clients (asyncio + httpx) load it over loopback. The three endpoints are measured in the same
run on the same stack, so the ratios hold across machines:

    .venv/bin/python bench/emulator.py [--clients 16] [--seconds 3]

Target: both ratios >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from sfbearer.keys import generate_key_pair

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONSUMER_KEY = "3MVG9bench.consumer.key.for.the.emulator.benchmark"
USERNAME = "bench@acme.com"


def start_emulator(workdir: Path, cert_pem: bytes) -> tuple[subprocess.Popen[str], str]:
    (workdir / "server.crt").write_bytes(cert_pem)
    seed = {
        "apps": [{"name": "bench", "certificate": "server.crt", "consumer_key": CONSUMER_KEY}],
        "users": [{"username": USERNAME}],
        "authorizations": [{"app": "bench", "user": USERNAME}],
        "records": {"Account": [{"Name": f"Account {i:03d}"} for i in range(100)]},
    }
    (workdir / "seed.json").write_text(json.dumps(seed))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sfbearer.cli import run; run()", "emulator", "serve",
         "--seed", str(workdir / "seed.json"), "--login-rate-limit", "100000000",
         "--daily-api-limit", "100000000", "-q"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def measure(
    name: str,
    clients: int,
    seconds: float,
    make: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    url: str,
) -> float:
    """Requests per second with ``clients`` concurrent keep-alive connections."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for i in range(clients):  # warm up the connections
            await make(client, i)
        done = 0
        errors = 0
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal done, errors
            i = n
            while time.perf_counter() < deadline:
                response = await make(client, i)
                i += clients
                if response.status_code >= 300:
                    errors += 1
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        rate = done / (time.perf_counter() - start)
    print(f"{name:>16}: {rate:8.0f} req/s  ({done} requests, {errors} errors)")
    if errors:
        raise SystemExit(f"{name}: {errors} failed requests")
    return rate


async def main_async(url: str, key: object, clients: int, seconds: float) -> dict[str, float]:
    now = int(time.time())
    assertions = [
        jwt.encode(
            {
                "iss": CONSUMER_KEY,
                "sub": USERNAME,
                "aud": url,
                "exp": now + 170,
                "iat": now,
                "jti": f"j{i}",
            },
            key,
            algorithm="RS256",
        )
        for i in range(500)
    ]
    async with httpx.AsyncClient(base_url=url) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": GRANT, "assertion": assertions[0]}
            )
        ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    q = {"q": "SELECT Id, Name FROM Account WHERE Name LIKE 'Account 01%' ORDER BY Name LIMIT 5"}

    results = {
        "trivial": await measure(
            "trivial endpoint", clients, seconds, lambda c, i: c.get("/__emulator/ping"), url
        ),
        "token": await measure(
            "token exchange",
            clients,
            seconds,
            lambda c, i: c.post(
                "/services/oauth2/token",
                data={"grant_type": GRANT, "assertion": assertions[i % len(assertions)]},
            ),
            url,
        ),
        "query": await measure(
            "simple query",
            clients,
            seconds,
            lambda c, i: c.get("/services/data/v68.0/query/", params=q, headers=auth),
            url,
        ),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    pair = generate_key_pair()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_emulator(
            Path(tmp), pair.certificate.public_bytes(serialization.Encoding.PEM)
        )
        try:
            print(
                f"emulator at {url}; {args.clients} concurrent keep-alive clients, {args.seconds:g} s per endpoint"
            )
            r = asyncio.run(main_async(url, pair.private_key, args.clients, args.seconds))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    token_ratio, query_ratio = r["token"] / r["trivial"], r["query"] / r["trivial"]
    print(f"ratio token/trivial: {token_ratio:.2f}  (target >= 0.5)")
    print(f"ratio query/trivial: {query_ratio:.2f}  (target >= 0.5)")
    if min(token_ratio, query_ratio) < 0.5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
