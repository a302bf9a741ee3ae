"""What the runtime costs per call, and what it saves, next to the usual ways of doing it.

Run from the repository root (one run prints every ratio)::

    python bench/runtime.py            # the full run
    python bench/runtime.py --quick    # fewer rounds, for a smoke test

(1) Per-request cost of ``SalesforceAuth`` with a cached token ÷ the same ``httpx.Client``
    sending a static ``Authorization`` header: against the emulator on loopback (median of
    many interleaved batches, target ≤ 1.03), and on ``httpx.MockTransport``, where nothing
    but our code differs (target ≤ 1.20).
(2) 1,000 API calls from 8 threads: token requests made and wall time, sfbearer (one
    credentials object, one pooled client) vs simple-salesforce used the usual way (a
    ``Salesforce`` per worker, JWT login). Target: 1 login vs their 8; wall time ≤ 1.0×.
(3) A new process, from start to the first API result: sfbearer ÷ simple-salesforce
    (median of interleaved pairs, target ≤ 0.7).

simple-salesforce always logs in at ``https://login.salesforce.com``; a requests transport
adapter mounted for that host sends its login to the emulator (over TLS, so the URLs it
builds work unchanged). Its assertion keeps ``aud=https://login.salesforce.com``, which the
emulator accepts as real Salesforce does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from sfbearer.auth import SalesforceAuth
from sfbearer.client import SalesforceClient
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.emulator import Emulator
from sfbearer.keys import generate_key_pair, private_key_pem, write_key_pair

USERNAME = "integration@acme.com"
VERSION = "68.0"


class LoginToEmulator(HTTPAdapter):
    """Sends requests for https://login.salesforce.com to the emulator instead."""

    def __init__(self, emulator_url: str) -> None:
        super().__init__()
        self.emulator_url = emulator_url

    def send(self, request: Any, **kwargs: Any) -> Any:
        request.url = request.url.replace("https://login.salesforce.com", self.emulator_url, 1)
        return super().send(request, **kwargs)


def simple_salesforce_session(emulator_url: str) -> requests.Session:
    session = requests.Session()
    session.mount("https://login.salesforce.com", LoginToEmulator(emulator_url))
    return session


def _serve(conn: Any, certificate_pem: bytes, tls: bool) -> None:
    """The emulator in a process of its own, so it never competes for this one's GIL."""
    with Emulator(tls=tls) as sf:
        app = sf.add_app(name="bench", certificate=certificate_pem)
        sf.add_user(username=USERNAME)
        sf.authorize(app="bench", profile="Integration User")
        conn.send((sf.url, str(sf.ca_path) if tls else "", app.consumer_key))
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "revoke":
                conn.send(sf.revoke_sessions())
            elif command == "token_requests":
                stats = sf.stats()["token_requests"]
                conn.send(int(stats["ok"]) + int(stats["failed"]))


class RemoteEmulator:
    """Starts :func:`_serve` in a child process and talks to it over a pipe."""

    def __init__(self, certificate_pem: bytes, *, tls: bool) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, certificate_pem, tls))
        self._process.start()
        self.url, self.ca_path, self.consumer_key = self._conn.recv()

    def token_requests(self) -> int:
        self._conn.send("token_requests")
        return int(self._conn.recv())

    def revoke_sessions(self) -> None:
        self._conn.send("revoke")
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(10)


def median_ratio(
    ours: Callable[[], None], theirs: Callable[[], None], *, batches: int, per_batch: int
) -> tuple[float, float, float]:
    """The median of per-pair ratios over interleaved batches (ABBA order), and each side's
    median per-call seconds: a noisy neighbour or a drifting CPU clock hurts both alike."""
    ours_t: list[float] = []
    theirs_t: list[float] = []
    for i in range(batches):
        pair = [(ours, ours_t), (theirs, theirs_t)]
        if i % 2:
            pair.reverse()
        for fn, sink in pair:
            start = time.perf_counter()
            for _ in range(per_batch):
                fn()
            sink.append((time.perf_counter() - start) / per_batch)
    ratio = statistics.median(a / b for a, b in zip(ours_t, theirs_t, strict=True))
    return ratio, statistics.median(ours_t), statistics.median(theirs_t)


def bench_per_request(emulator_url: str, creds: JWTBearerCredentials, quick: bool) -> None:
    token = creds.token()
    url = f"{emulator_url}/services/data/"
    static = {"Authorization": f"Bearer {token.access_token}"}
    batches, per_batch = (20, 10) if quick else (200, 20)
    with httpx.Client(auth=SalesforceAuth(creds)) as ours, httpx.Client(headers=static) as theirs:
        for client in (ours, theirs):
            for _ in range(20):
                client.get(url).raise_for_status()
        ratio, a, b = median_ratio(
            lambda: ours.get(url).raise_for_status(),
            lambda: theirs.get(url).raise_for_status(),
            batches=batches,
            per_batch=per_batch,
        )
    print(f"(1a) emulator: SalesforceAuth {a * 1e6:.0f} us vs static header {b * 1e6:.0f} us "
          f"per request -> ratio {ratio:.3f} (target <= 1.03)")  # fmt: skip

    reply = httpx.Response(200, json=[{"version": VERSION}])

    def handler(request: httpx.Request) -> httpx.Response:
        return reply

    transport = httpx.MockTransport(handler)
    mock_url = f"{token.instance_url}/services/data/"
    batches, per_batch = (10, 200) if quick else (60, 500)
    with (
        httpx.Client(auth=SalesforceAuth(creds), transport=transport) as ours,
        httpx.Client(headers=static, transport=transport) as theirs,
    ):
        ratio, a, b = median_ratio(
            lambda: ours.get(mock_url), lambda: theirs.get(mock_url),
            batches=batches, per_batch=per_batch,
        )  # fmt: skip
    print(f"(1b) MockTransport: SalesforceAuth {a * 1e6:.1f} us vs static header "
          f"{b * 1e6:.1f} us per request -> ratio {ratio:.3f} (target <= 1.20)")  # fmt: skip


def bench_threads(sf: RemoteEmulator, key_pem: str, key_file: Path, quick: bool) -> None:
    from simple_salesforce import Salesforce

    calls, workers = 1000, 8
    os.environ["REQUESTS_CA_BUNDLE"] = sf.ca_path  # requests lets it override a session's

    def ours() -> int:
        with (
            JWTBearerCredentials(
                client_id=sf.consumer_key, username=USERNAME, private_key=_load(key_file),
                environment=sf.url, ca_bundle=sf.ca_path,
            ) as creds,
            SalesforceClient(creds, api_version=VERSION) as client,
            ThreadPoolExecutor(workers) as pool,
        ):  # fmt: skip
            return sum(len(r) > 0 for r in pool.map(lambda _: client.limits(), range(calls)))

    def theirs() -> int:
        def worker(_: int) -> int:
            with simple_salesforce_session(sf.url) as session:
                client = Salesforce(
                    username=USERNAME, consumer_key=sf.consumer_key, privatekey=key_pem,
                    session=session, version=VERSION,
                )  # fmt: skip
                return sum(len(client.restful("limits/")) > 0 for _ in range(calls // workers))

        with ThreadPoolExecutor(workers) as pool:
            return sum(pool.map(worker, range(workers)))

    walls: dict[str, list[float]] = {"ours": [], "theirs": []}
    logins: dict[str, list[int]] = {"ours": [], "theirs": []}
    ratios = []
    for i in range(1 if quick else 3):
        order = [("ours", ours), ("theirs", theirs)]
        if i % 2:
            order.reverse()
        for name, fn in order:
            sf.revoke_sessions()
            before = sf.token_requests()
            start = time.perf_counter()
            assert fn() == calls
            walls[name].append(time.perf_counter() - start)
            logins[name].append(sf.token_requests() - before)
        ratios.append(walls["ours"][-1] / walls["theirs"][-1])
    print(f"(2) {calls} API calls from {workers} threads: sfbearer {max(logins['ours'])} token "
          f"request(s), {statistics.median(walls['ours']):.2f} s; simple-salesforce "
          f"{min(logins['theirs'])} token requests, {statistics.median(walls['theirs']):.2f} s "
          f"-> wall ratio {statistics.median(ratios):.2f} (target: 1 vs 8, <= 1.0)")  # fmt: skip


def _load(path: Path) -> Any:
    from sfbearer.keys import load_private_key

    return load_private_key(path)


OURS_SCRIPT = """\
import sys
from sfbearer.client import SalesforceClient
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.keys import load_private_key
url, ca, client_id, username, key_file = sys.argv[1:6]
creds = JWTBearerCredentials(client_id=client_id, username=username,
    private_key=load_private_key(key_file), environment=url, ca_bundle=ca)
with SalesforceClient(creds, api_version="68.0") as sf:
    print(sf.limits()["DailyApiRequests"]["Max"])
"""

THEIRS_SCRIPT = """\
import sys
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
url, ca, client_id, username, key_file = sys.argv[1:6]
class ToEmulator(HTTPAdapter):
    def send(self, request, **kwargs):
        request.url = request.url.replace("https://login.salesforce.com", url, 1)
        return super().send(request, **kwargs)
session = requests.Session()
session.mount("https://login.salesforce.com", ToEmulator())
sf = Salesforce(username=username, consumer_key=client_id, privatekey_file=key_file,
    session=session, version="68.0")
print(sf.restful("limits/")["DailyApiRequests"]["Max"])
"""


def bench_first_result(sf: RemoteEmulator, key_file: Path, quick: bool) -> None:
    args = [sf.url, sf.ca_path, sf.consumer_key, USERNAME, str(key_file)]
    env = {**os.environ, "REQUESTS_CA_BUNDLE": sf.ca_path}

    def run(script: str) -> float:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0 or not done.stdout.strip():
            raise SystemExit(f"child failed:\n{done.stderr}")
        return elapsed

    run(OURS_SCRIPT), run(THEIRS_SCRIPT)  # warm the OS caches and .pyc files
    ratios, ours_t, theirs_t = [], [], []
    for i in range(3 if quick else 9):
        pair = [(OURS_SCRIPT, ours_t), (THEIRS_SCRIPT, theirs_t)]
        if i % 2:
            pair.reverse()
        for script, sink in pair:
            sink.append(run(script))
        ratios.append(ours_t[-1] / theirs_t[-1])
    print(f"(3) process start -> first API result: sfbearer {statistics.median(ours_t):.3f} s, "
          f"simple-salesforce {statistics.median(theirs_t):.3f} s -> ratio "
          f"{statistics.median(ratios):.2f} (target <= 0.7)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test)")
    quick = parser.parse_args().quick
    pair = generate_key_pair(common_name="bench")
    key_pem = private_key_pem(pair.private_key).decode()
    cert_pem = pair.certificate_info.pem()
    print(f"python {sys.version.split()[0]}, httpx {httpx.__version__}, {os.cpu_count()} CPUs; "
          "the emulator runs in a process of its own")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        key_file, _ = write_key_pair(pair, Path(tmp))
        plain = RemoteEmulator(cert_pem, tls=False)
        try:
            with JWTBearerCredentials(
                client_id=plain.consumer_key, username=USERNAME, private_key=pair.private_key,
                environment=plain.url,
            ) as creds:  # fmt: skip
                bench_per_request(plain.url, creds, quick)
        finally:
            plain.stop()
        tls = RemoteEmulator(cert_pem, tls=True)
        try:
            bench_threads(tls, key_pem, key_file, quick)
            bench_first_result(tls, key_file, quick)
        finally:
            tls.stop()


if __name__ == "__main__":
    main()
