"""The emulator's token exchange and trivial endpoint driven in-process, without sockets.

uvicorn's HTTP protocol object is fed the same raw requests as ``bench/emulator.py`` sends, over
a transport that keeps what is written, so the kernel and the load generator drop out and
other work on the machine moves the figures much less. Endpoints alternate in batches; the
10th percentile of the per-request time of the batches is reported:

    .venv/bin/python bench/emulator_inprocess.py [--batches 50] [--size 100]

Run it on two versions of the code in turn (e.g. ``PYTHONPATH=other-checkout/src``) to
compare them; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import urllib.parse
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from sfbearer.emulator import Emulator
from sfbearer.emulator.app import build_app
from sfbearer.emulator.config import EmulatorConfig
from sfbearer.keys import generate_key_pair

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONSUMER_KEY = "3MVG9bench.consumer.key.for.the.emulator.benchmark"
USERNAME = "bench@acme.com"
URL = "http://127.0.0.1:8080"


class KeepTransport(asyncio.Transport):
    """A transport that keeps what the server writes (and never reads or blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def raw_request(method: str, target: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def main_async(batches: int, size: int) -> None:
    pair = generate_key_pair()
    pem = pair.certificate.public_bytes(serialization.Encoding.PEM)
    config = EmulatorConfig(login_rate_limit=10**9, daily_api_limit=10**9)
    emulator = Emulator(config=config)
    emulator.ctx.set_base_url(URL)
    emulator.add_app(name="bench", certificate=pem, consumer_key=CONSUMER_KEY)
    emulator.add_user(username=USERNAME)
    emulator.authorize(app="bench", user=USERNAME)
    server_config = uvicorn.Config(
        build_app(emulator.ctx), log_level="warning", access_log=False, lifespan="off",
        server_header=False,
    )  # fmt: skip
    server_config.load()
    transport = KeepTransport()
    protocol = H11Protocol(server_config, ServerState(), app_state={})
    protocol.connection_made(transport)

    now = int(time.time())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token_requests = []
    for i in range(500):
        claims = {"iss": CONSUMER_KEY, "sub": USERNAME, "aud": URL, "exp": now + 170,
                  "iat": now, "jti": f"j{i}"}  # fmt: skip
        assertion = jwt.encode(claims, pair.private_key, algorithm="RS256")
        body = urllib.parse.urlencode({"grant_type": GRANT, "assertion": assertion}).encode()
        token_requests.append(raw_request("POST", "/services/oauth2/token", form, body))
    plans = {"trivial": [raw_request("GET", "/__emulator/ping", {})], "token": token_requests}

    async def run(requests: list[bytes], count: int) -> None:
        for i in range(count):
            transport.written.clear()
            protocol.data_received(requests[i % len(requests)])
            while protocol.cycle is not None and not protocol.cycle.response_complete:
                await asyncio.sleep(0)
            await asyncio.sleep(0)
            if b" 200 " not in transport.written[0]:
                raise SystemExit(f"unexpected answer: {transport.written[0][:80]!r}")

    for requests in plans.values():  # warm up
        await run(requests, size)
    times: dict[str, list[float]] = {name: [] for name in plans}
    for _ in range(batches):
        for name, requests in plans.items():
            start = time.perf_counter()
            await run(requests, size)
            times[name].append((time.perf_counter() - start) / size * 1e6)
    p10 = {name: statistics.quantiles(v, n=10)[0] for name, v in times.items()}
    print(
        f"trivial {p10['trivial']:.1f} µs/request, token {p10['token']:.1f} µs/request "
        f"(10th percentile of {batches} batches of {size}); "
        f"ratio token/trivial {p10['trivial'] / p10['token']:.3f}"
    )
    emulator.ctx.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--size", type=int, default=100, help="requests per batch")
    args = parser.parse_args()
    asyncio.run(main_async(args.batches, args.size))


if __name__ == "__main__":
    main()
