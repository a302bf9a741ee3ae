"""Fixtures for the many-identities tests: one org, twenty integration users, one config file.

The org (the emulator on a loopback port) has five External Client Apps:

* ``agents-shared``: eight identities share it (and its key), pre-authorized through the
  permission set ``Agents API`` that only those eight users hold;
* ``integrations``: six identities share it (and another key), each user pre-authorized
  one by one;
* ``solo-14`` ... ``solo-19``: one identity each, with a key of its own, pre-authorized
  through a permission set of its own.

The configuration file is written the way people write it: the six solo profiles with
``sfbearer init``, the fourteen shared-app profiles with :func:`sfbearer.config.save_profile`.
Every profile names the same audit trail and the same file cache directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfbearer.cli import main
from sfbearer.config import Profile, load_profiles, save_profile
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, generate_key_pair, write_key_pair
from sfbearer.signers import public_key_fingerprint

# Read at import: the suite's autouse fixture clears SFBEARER_* variables for each test.
_CI_REDIS_URL = os.environ.get("SFBEARER_TEST_REDIS_URL", "")

IDENTITIES = 20
SHARED_AGENTS = range(0, 8)  # app "agents-shared"
SHARED_INTEGRATIONS = range(8, 14)  # app "integrations"
SOLO = range(14, 20)  # an app and a key each


def profile_name(index: int) -> str:
    return f"agent-{index:02d}"


def username(index: int) -> str:
    return f"agent{index:02d}@acme.com"


def app_name(index: int) -> str:
    if index in SHARED_AGENTS:
        return "agents-shared"
    if index in SHARED_INTEGRATIONS:
        return "integrations"
    return f"solo-{index}"


@dataclass(frozen=True)
class Identity:
    """What the test knows about one identity, independently of sfbearer."""

    profile: str
    username: str
    user_id: str
    app: str
    client_id: str
    key_fingerprint: str


@dataclass
class Org:
    """The emulated org, the configuration written for it, and where the trail goes."""

    sf: Emulator
    identities: dict[str, Identity]  # by profile name
    config: Path
    audit: Path
    cache_dir: Path

    def by_user(self) -> dict[str, int]:
        """Successful and failed token requests per username (the emulator's own counter)."""
        return dict(self.sf.stats()["token_requests"]["by_user"])

    def session_user(self, access_token: str) -> str | None:
        """The user id the emulator holds ``access_token``'s session for (None: unknown)."""
        session = self.sf.ctx.sessions.lookup(access_token, touch=False)
        return None if session is None else str(session.user_id)


@pytest.fixture(scope="session")
def solo_key_pairs() -> list[KeyPair]:
    return [generate_key_pair(common_name=f"solo-{i}", days=30) for i in SOLO]


def _run_cli(*args: str) -> None:
    code = main(list(args))
    assert code == 0, f"sfbearer {' '.join(args)} exited {code}"


@pytest.fixture
def org(
    tmp_path: Path,
    key_pair: KeyPair,
    other_key_pair: KeyPair,
    solo_key_pairs: list[KeyPair],
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Org]:
    audit = tmp_path / "trail" / "audit.jsonl"
    cache_dir = tmp_path / "cache"
    pairs: dict[str, KeyPair] = {"agents-shared": key_pair, "integrations": other_key_pair}
    pairs.update({f"solo-{i}": p for i, p in zip(SOLO, solo_key_pairs, strict=True)})
    key_paths = {
        name: write_key_pair(pair, tmp_path / "keys" / name)[0] for name, pair in pairs.items()
    }
    with Emulator() as sf:
        apps = {
            name: sf.add_app(name=name, certificate=pair.certificate)
            for name, pair in pairs.items()
        }
        sf.authorize(app="agents-shared", permission_set="Agents API")
        for i in range(IDENTITIES):
            grants: tuple[str, ...] = ()
            if i in SHARED_AGENTS:
                grants = ("Agents API",)
            elif i in SOLO:
                grants = (f"Solo {i} API",)
            sf.add_user(username=username(i), permission_sets=grants)
            if i in SHARED_INTEGRATIONS:
                sf.authorize(app="integrations", user=username(i))
            elif i in SOLO:
                sf.authorize(app=app_name(i), permission_set=f"Solo {i} API")

        common = {"audit": str(audit), "cache": f"file:{cache_dir}"}
        for i in range(IDENTITIES):
            app = app_name(i)
            if i in SOLO:
                _run_cli(
                    "init", profile_name(i), "--client-id", apps[app].consumer_key,
                    "--username", username(i), "--environment", sf.url,
                    "--jwt-key-file", str(key_paths[app]), "--audit", common["audit"],
                    "--cache", common["cache"],
                )  # fmt: skip
            else:
                save_profile(
                    Profile(
                        name=profile_name(i),
                        client_id=apps[app].consumer_key,
                        username=username(i),
                        environment=sf.url,
                        jwt_key_file=str(key_paths[app]),
                        **common,
                    )
                )
        capsys.readouterr()  # init's output is not what these tests look at
        from sfbearer.config import config_path

        assert sorted(load_profiles()) == [profile_name(i) for i in range(IDENTITIES)]
        identities = {}
        for i in range(IDENTITIES):
            user = sf.ctx.registry.get_user_by_username(username(i))
            identities[profile_name(i)] = Identity(
                profile=profile_name(i),
                username=username(i),
                user_id=user.id,
                app=app_name(i),
                client_id=apps[app_name(i)].consumer_key,
                key_fingerprint=public_key_fingerprint(pairs[app_name(i)].private_key.public_key()),
            )
        yield Org(sf, identities, config_path(), audit, cache_dir)


# -- a real Redis, for the shared Redis cache ------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``SFBEARER_TEST_REDIS_URL`` (CI), else a private ``redis-server``, else skip (or fail
    when ``SFBEARER_REQUIRE_SERVICES=1``)."""
    if _CI_REDIS_URL:
        yield _CI_REDIS_URL
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("SFBEARER_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed and SFBEARER_REQUIRE_SERVICES=1")
        pytest.skip("no Redis: SFBEARER_TEST_REDIS_URL is not set and redis-server is missing")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)


# -- watching what each client sends and what Salesforce answers ---------------------------
@dataclass
class Seen:
    """Every bearer token one identity's clients sent, and whose userinfo came back for it."""

    tokens: list[str] = field(default_factory=list)
    userinfo: list[tuple[str, str, str]] = field(default_factory=list)  # token, user, user_id


def _bearer(request: httpx.Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    assert scheme == "Bearer", f"no bearer token on {request.url}"
    assert value, f"an empty bearer token on {request.url}"
    return value


def _note(seen: Seen, request: httpx.Request, response: httpx.Response) -> None:
    token = _bearer(request)
    seen.tokens.append(token)
    if request.url.path == "/services/oauth2/userinfo" and response.status_code == 200:
        body: dict[str, Any] = json.loads(response.content)
        seen.userinfo.append((token, body["preferred_username"], body["user_id"]))


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that notes the token of every request and userinfo's answer."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        # Plain HTTP on loopback: no TLS context to build (it costs ~50 ms per transport).
        self.inner = httpx.HTTPTransport(verify=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        _note(self.seen, request, response)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """:class:`RecordingTransport` for ``AsyncSalesforceClient``."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        self.inner = httpx.AsyncHTTPTransport(verify=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        _note(self.seen, request, response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
