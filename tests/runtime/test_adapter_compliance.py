"""One compliance suite every transport adapter must pass (httpx sync, httpx async, requests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
import requests

from sfbearer._exceptions import EnvironmentConfigError
from sfbearer.auth import SalesforceAuth
from sfbearer.integrations.requests import SalesforceRequestsAuth

from .fakes import INSTANCE
from .test_requests_adapter import FakeAdapter

Send = Callable[[str, str, bytes | None], tuple[int, bytes]]


def _httpx_sync(creds, handler) -> Iterator[Send]:
    with httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(handler)) as c:
        yield lambda m, u, b: (lambda r: (r.status_code, r.content))(c.request(m, u, content=b))


def _httpx_async(creds, handler) -> Iterator[Send]:
    def send(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        async def go() -> tuple[int, bytes]:
            async with httpx.AsyncClient(
                auth=SalesforceAuth(creds), transport=httpx.MockTransport(handler)
            ) as c:
                r = await c.request(method, url, content=body)
                return r.status_code, r.content

        return asyncio.run(go())

    yield send


def _requests(creds, handler) -> Iterator[Send]:
    with requests.Session() as s:
        s.mount("https://", FakeAdapter(handler))
        s.auth = SalesforceRequestsAuth(creds)
        yield lambda m, u, b: (lambda r: (r.status_code, r.content))(s.request(m, u, data=b))


ADAPTERS = {"httpx": _httpx_sync, "httpx-async": _httpx_async, "requests": _requests}


@pytest.fixture(params=sorted(ADAPTERS))
def make_sender(request, creds) -> Iterator[Callable[[object], Send]]:
    opened: list[Iterator[Send]] = []

    def make(handler: object) -> Send:
        gen = ADAPTERS[request.param](creds, handler)
        opened.append(gen)
        return next(gen)

    yield make
    for gen in opened:
        gen.close()


def test_sends_the_bearer_token(make_sender, fake_sf, creds) -> None:
    seen: list[str] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return fake_sf(request)

    send = make_sender(spy)
    assert send("GET", f"{INSTANCE}/services/data/", None)[0] == 200
    assert seen == [f"Bearer {creds.token().access_token}"]


def test_heals_an_expired_session_once_and_replays_the_body(make_sender, fake_sf) -> None:
    send = make_sender(fake_sf)
    send("GET", f"{INSTANCE}/services/data/", None)
    fake_sf.expire_all()
    assert send("POST", f"{INSTANCE}/echo", b'{"a":1}') == (200, b'{"a":1}')
    assert fake_sf.token_posts == 2


def test_second_401_is_returned(make_sender, fake_sf) -> None:
    def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return fake_sf(request)
        return httpx.Response(401, json=[{"errorCode": "INVALID_SESSION_ID", "message": "x"}])

    assert make_sender(always_401)("GET", f"{INSTANCE}/x", None)[0] == 401
    assert fake_sf.token_posts == 2


def test_other_401_is_not_retried(make_sender, fake_sf) -> None:
    def bad_header(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return fake_sf(request)
        return httpx.Response(401, json=[{"errorCode": "INVALID_AUTH_HEADER", "message": "x"}])

    assert make_sender(bad_header)("GET", f"{INSTANCE}/x", None)[0] == 401
    assert fake_sf.token_posts == 1


def test_refuses_other_hosts(make_sender, fake_sf) -> None:
    with pytest.raises(EnvironmentConfigError):
        make_sender(fake_sf)("GET", "https://evil.example.com/", None)
