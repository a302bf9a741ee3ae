from __future__ import annotations

import httpx
import pytest
import requests
from requests.adapters import BaseAdapter

from sfbearer._exceptions import EnvironmentConfigError
from sfbearer.integrations.requests import SalesforceRequestsAuth

from .fakes import INSTANCE


class FakeAdapter(BaseAdapter):
    """Routes requests' PreparedRequests to the fake Salesforce."""

    def __init__(self, fake) -> None:
        super().__init__()
        self.fake = fake
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        reply = self.fake(
            httpx.Request(request.method, request.url, headers=dict(request.headers), content=body)
        )
        response = requests.Response()
        response.status_code = reply.status_code
        response._content = reply.read()
        response.headers.update(reply.headers)
        response.request = request
        response.url = request.url
        response.connection = self
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def session(creds, fake_sf):
    s = requests.Session()
    adapter = FakeAdapter(fake_sf)
    s.mount("https://", adapter)
    s.auth = SalesforceRequestsAuth(creds)
    s.adapter = adapter
    yield s
    s.close()


def test_bearer_header_and_reuse(session, fake_sf) -> None:
    assert session.get(f"{INSTANCE}/services/data/").status_code == 200
    assert session.get(f"{INSTANCE}/services/data/").status_code == 200
    assert fake_sf.token_posts == 1


def test_expired_session_is_healed_once(session, fake_sf) -> None:
    session.get(f"{INSTANCE}/services/data/")
    fake_sf.expire_all()
    response = session.post(f"{INSTANCE}/echo", data=b"payload")
    assert response.status_code == 200
    assert response.content == b"payload"
    assert [r.status_code for r in response.history] == [401]
    assert fake_sf.token_posts == 2


def test_second_401_is_returned(creds, fake_sf) -> None:
    def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return fake_sf(request)
        return httpx.Response(401, json=[{"errorCode": "INVALID_SESSION_ID", "message": "x"}])

    s = requests.Session()
    adapter = FakeAdapter(always_401)
    s.mount("https://", adapter)
    s.auth = SalesforceRequestsAuth(creds)
    assert s.get(f"{INSTANCE}/services/data/").status_code == 401
    assert len([r for r in adapter.sent if "/token" not in r.url]) == 2


def test_refuses_foreign_hosts(session) -> None:
    with pytest.raises(EnvironmentConfigError):
        session.get("https://evil.example.com/")


def test_streamed_body_cannot_be_replayed(session, fake_sf, creds) -> None:
    from sfbearer._exceptions import ApiError

    session.get(f"{INSTANCE}/services/data/")
    fake_sf.expire_all()

    def body():
        yield b"part"

    class Consuming(FakeAdapter):
        def send(self, request, **kwargs):
            if not isinstance(request.body, bytes | str | None):
                request.body = b"".join(request.body)  # what a socket does to a generator
                request.body = iter(())  # ...leaving nothing to send again
            return super().send(request, **kwargs)

    session.mount("https://", Consuming(fake_sf))
    with pytest.raises(ApiError, match="cannot be sent again"):
        session.post(f"{INSTANCE}/echo", data=body())
