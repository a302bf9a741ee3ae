"""Emulator throughput: token exchanges/s and simple queries/s, each as a ratio to a trivial endpoint.

The emulator runs in its own process (``sfbearer emulator serve``); concurrent keep-alive
clients (asyncio streams speaking plain HTTP/1.1) load it over loopback. The three endpoints are measured in the same
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

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


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on raw asyncio streams.

    Far cheaper per request than a full client library, so the emulator (not the load
    generator) is what gets measured.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> RawConnection:
        parts = urllib.parse.urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def raw_request(
    method: str, target: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def server_cpu(pid: int) -> float | None:
    """The emulator process's CPU seconds so far (user + system), where /proc tells."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    name: str, url: str, clients: int, seconds: float, requests: list[bytes], pid: int
) -> float:
    """Requests per second with ``clients`` concurrent keep-alive connections."""
    conns = [await RawConnection.open(url) for _ in range(clients)]
    for conn in conns:  # warm up
        await conn.request(requests[0])
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int, conn: RawConnection) -> None:
        nonlocal done, errors
        i = n
        while time.perf_counter() < deadline:
            status, _ = await conn.request(requests[i % len(requests)])
            i += clients
            errors += status >= 300
            done += 1

    cpu_before = server_cpu(pid)
    start = time.perf_counter()
    await asyncio.gather(*(worker(n, c) for n, c in enumerate(conns)))
    rate = done / (time.perf_counter() - start)
    cpu_after = server_cpu(pid)
    for conn in conns:
        conn.close()
    # The server's CPU per request: less sensitive to other load than the rate is.
    cpu = (
        f", server CPU {(cpu_after - cpu_before) / done * 1e6:4.0f} µs/req"
        if cpu_before is not None and cpu_after is not None and done
        else ""
    )
    print(f"{name:>16}: {rate:8.0f} req/s  ({done} requests, {errors} errors{cpu})")
    if errors:
        raise SystemExit(f"{name}: {errors} failed requests")
    return rate


async def main_async(
    url: str, key: object, clients: int, seconds: float, rounds: int, pid: int
) -> dict[str, float]:
    now = int(time.time())
    form = "application/x-www-form-urlencoded"
    token_requests = []
    for i in range(500):
        claims = {
            "iss": CONSUMER_KEY,
            "sub": USERNAME,
            "aud": url,
            "exp": now + 170,
            "iat": now,
            "jti": f"j{i}",
        }
        body = urllib.parse.urlencode(
            {"grant_type": GRANT, "assertion": jwt.encode(claims, key, algorithm="RS256")}
        )
        token_requests.append(
            raw_request(
                "POST", "/services/oauth2/token", headers={"Content-Type": form}, body=body.encode()
            )
        )
    conn = await RawConnection.open(url)
    status, body = await conn.request(token_requests[0])
    conn.close()
    assert status == 200, body
    token = json.loads(body)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    def get_query(soql: str) -> bytes:
        target = "/services/data/v68.0/query/?" + urllib.parse.urlencode({"q": soql})
        return raw_request("GET", target, headers=auth)

    # The simple query: what the Salesforce CLI asks right after a login (one row).
    simple = get_query("SELECT Name, InstanceName, IsSandbox, OrganizationType FROM Organization")
    # For information: a filtered, sorted scan of the 100 seeded accounts.
    scan = get_query(
        "SELECT Id, Name FROM Account WHERE Name LIKE 'Account 01%' ORDER BY Name LIMIT 5"
    )
    plans = {
        "trivial": ("trivial endpoint", [raw_request("GET", "/__emulator/ping")]),
        "token": ("token exchange", token_requests),
        "query": ("simple query", [simple]),
        "scan": ("100-row scan", [scan]),
    }
    # Interleaved rounds, median per endpoint: load from other processes on the machine then
    # hits all three alike instead of skewing one phase.
    rates: dict[str, list[float]] = {name: [] for name in plans}
    for _ in range(rounds):
        for name, (label, requests) in plans.items():
            rates[name].append(await measure(label, url, clients, seconds / rounds, requests, pid))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint, all rounds")
    parser.add_argument("--rounds", type=int, default=3)
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
            # Other work on the machine changes the ratios (see docs/benchmarks.md): say how busy.
            print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            r = asyncio.run(
                main_async(url, pair.private_key, args.clients, args.seconds, args.rounds, proc.pid)
            )
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    token_ratio, query_ratio = r["token"] / r["trivial"], r["query"] / r["trivial"]
    print(
        f"median req/s: trivial {r['trivial']:.0f}, token {r['token']:.0f}, query {r['query']:.0f}"
    )
    print(f"ratio token/trivial: {token_ratio:.2f}  (target >= 0.5)")
    print(f"ratio query/trivial: {query_ratio:.2f}  (target >= 0.5)")
    print(f"ratio 100-row scan/trivial: {r['scan'] / r['trivial']:.2f}  (for information)")
    if min(token_ratio, query_ratio) < 0.5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
