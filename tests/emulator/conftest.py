"""Fixtures for the emulator's tests: running emulators with one working JWT app and user."""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
USERNAME = "int@acme.com"


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def raw_jws(header: Any, claims: Any, signature: bytes = b"sig") -> str:
    """A compact JWS with any header/claims (JSON-encoded unless already str/bytes)."""

    def seg(part: Any) -> str:
        return b64(part if isinstance(part, bytes | str) else json.dumps(part))

    return f"{seg(header)}.{seg(claims)}.{b64(signature)}"


@dataclass
class Org:
    """A running emulator with a working app and user of its own, plus helpers."""

    sf: Emulator
    key_pair: KeyPair
    consumer_key: str
    client: httpx.Client
    app: str = "ci"
    username: str = USERNAME

    @property
    def strict(self) -> bool:
        return self.sf.config.validation == "strict"

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.sf.clock.now())
        claims: dict[str, Any] = {
            "iss": self.consumer_key,
            "sub": self.username,
            "aud": "https://login.salesforce.com",
            "exp": now + 180,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not ...}

    def mint(
        self, *, key: Any = None, headers: dict[str, Any] | None = None, **overrides: Any
    ) -> str:
        return jwt.encode(
            self.claims(**overrides),
            key or self.key_pair.private_key,
            algorithm="RS256",
            headers=headers,
        )

    def post(self, assertion: str | None = None, **form: str) -> httpx.Response:
        data = {"grant_type": GRANT, **form}
        if assertion is not None:
            data["assertion"] = assertion
        return self.client.post("/services/oauth2/token", data=data)

    def login(self, **overrides: Any) -> str:
        response = self.post(self.mint(**overrides))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def create(self, token: str, sobject: str, **fields: Any) -> str:
        """POST a record over REST (v68.0); its id (the answer must be 201)."""
        response = self.api("POST", f"/services/data/v68.0/sobjects/{sobject}", token, json=fields)
        assert response.status_code == 201, response.text
        record_id: str = response.json()["id"]
        return record_id

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def make_org(
    sf: Emulator,
    key_pair: KeyPair,
    app: str = "ci",
    username: str = USERNAME,
    client: httpx.Client | None = None,
) -> Iterator[Org]:
    """A working app + user (profile ``Integration User`` pre-authorized) on ``sf``."""
    record = sf.add_app(name=app, certificate=key_pair.certificate)
    sf.add_user(username=username)
    sf.authorize(app=app, profile="Integration User")
    if client is not None:
        yield Org(sf, key_pair, record.consumer_key, client, app, username)
        return
    with httpx.Client(base_url=sf.url, timeout=10) as own:
        yield Org(sf, key_pair, record.consumer_key, own, app, username)


@pytest.fixture(scope="session")
def shared_emulators() -> Iterator[dict[str, Emulator]]:
    """One running emulator per validation profile for the whole session (fast)."""
    with Emulator() as sf, Emulator(validation="strict") as strict:
        yield {"salesforce": sf, "strict": strict}
        for url in (sf.url, strict.url):
            client = _CLIENTS.pop(url, None)
            if client is not None:
                client.close()


_CLIENTS: dict[str, httpx.Client] = {}


def _shared(sf: Emulator, key_pair: KeyPair) -> Iterator[Org]:
    """A new app and user on a shared emulator; faults, clock and config restored after."""
    config = sf.ctx.config
    tag = uuid.uuid4().hex[:10]
    # One client per shared emulator: creating an httpx client (its SSL context) is slow.
    client = _CLIENTS.get(sf.url)
    if client is None:
        client = _CLIENTS[sf.url] = httpx.Client(base_url=sf.url, timeout=10)
    try:
        yield from make_org(
            sf, key_pair, app=f"app-{tag}", username=f"u{tag}@acme.com", client=client
        )
    finally:
        sf.ctx.config = config
        sf.faults.reset()
        sf.clock.reset()


@pytest.fixture(params=["salesforce", "strict"])
def org(
    request: pytest.FixtureRequest, shared_emulators: dict[str, Emulator], key_pair: KeyPair
) -> Iterator[Org]:
    """An org in each validation profile (own app and user on a shared emulator)."""
    yield from _shared(shared_emulators[request.param], key_pair)


@pytest.fixture
def sf_org(shared_emulators: dict[str, Emulator], key_pair: KeyPair) -> Iterator[Org]:
    """The default (salesforce) validation profile."""
    yield from _shared(shared_emulators["salesforce"], key_pair)


@pytest.fixture
def strict_org(shared_emulators: dict[str, Emulator], key_pair: KeyPair) -> Iterator[Org]:
    yield from _shared(shared_emulators["strict"], key_pair)


@pytest.fixture
def fresh_org(key_pair: KeyPair) -> Iterator[Org]:
    """A brand-new emulator (for counters and org-wide switches)."""
    with Emulator() as sf:
        yield from make_org(sf, key_pair)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def now() -> int:
    return int(time.time())


@contextlib.contextmanager
def simple_salesforce_over_tls(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch, emulator: Emulator | None = None
) -> Iterator[tuple[Any, Any]]:
    """simple-salesforce, unchanged, on a fresh TLS emulator (or ``emulator``, started with
    ``tls=True``) with one authorized app: yields the ``simple_salesforce`` module and a
    ``Salesforce`` built from our token, trusting the emulator's CA as a user would
    (``REQUESTS_CA_BUNDLE``)."""
    requests = pytest.importorskip("requests")
    simple_salesforce = pytest.importorskip("simple_salesforce")
    with contextlib.nullcontext(emulator) if emulator else Emulator(tls=True) as sf:
        trust = ssl.create_default_context(cafile=str(sf.ca_path))
        with httpx.Client(base_url=sf.url, verify=trust, timeout=10) as client:
            token = next(make_org(sf, key_pair, client=client)).login()
        # requests prefers this variable over Session.verify.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sf.ca_path))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        with requests.Session() as session:
            # No keep-alive connection may outlive the emulator, which stops right after.
            session.headers["Connection"] = "close"
            yield (
                simple_salesforce,
                simple_salesforce.Salesforce(
                    instance_url=sf.url, session_id=token, session=session
                ),
            )
