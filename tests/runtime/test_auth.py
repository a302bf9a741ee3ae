from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sfbearer._exceptions import ApiError, EnvironmentConfigError
from sfbearer.auth import NeedToken, ReadBody, Reauthenticate, SalesforceAuth

from .fakes import INSTANCE

EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_stepping_the_flow_by_hand(creds) -> None:
    auth = SalesforceAuth(creds)
    request = httpx.Request("GET", f"{INSTANCE}/services/data/")
    flow = auth.flow(request)
    assert isinstance(next(flow), NeedToken)
    t1 = creds.token()
    sent = flow.send(t1)
    assert sent is request
    assert request.headers["Authorization"] == f"Bearer {t1.access_token}"
    expired = httpx.Response(401, json=EXPIRED, request=request)
    step = flow.send(expired)
    assert isinstance(step, ReadBody)
    step = flow.send(expired)
    assert isinstance(step, Reauthenticate)
    assert step.stale is t1
    creds.invalidate(t1)
    t2 = creds.token()
    replay = flow.send(t2)
    assert replay.headers["Authorization"] == f"Bearer {t2.access_token}"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401, json=EXPIRED, request=request))


def test_a_200_ends_the_flow_without_reading_the_body(creds) -> None:
    flow = SalesforceAuth(creds).sync_auth_flow(httpx.Request("GET", f"{INSTANCE}/x"))
    next(flow)
    response = httpx.Response(200, stream=httpx.ByteStream(b"streamed"))
    with pytest.raises(StopIteration):
        flow.send(response)
    assert not response.is_stream_consumed


def test_other_401_is_not_replayed(creds) -> None:
    flow = SalesforceAuth(creds).sync_auth_flow(httpx.Request("GET", f"{INSTANCE}/x"))
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401, json=[{"errorCode": "INVALID_AUTH_HEADER", "message": "x"}]))


def test_expired_session_heals_once(creds, fake_sf) -> None:
    with httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)) as http:
        assert http.get(f"{INSTANCE}/services/data/").status_code == 200
        fake_sf.expire_all()
        response = http.get(f"{INSTANCE}/services/data/")
    assert response.status_code == 200
    assert fake_sf.token_posts == 2
    assert [r.status_code for r in response.history] == [401]


def test_second_401_is_returned_not_looped(creds, fake_sf) -> None:
    def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return fake_sf(request)
        fake_sf.api_calls += 1
        return httpx.Response(401, json=EXPIRED)

    with httpx.Client(
        auth=SalesforceAuth(creds), transport=httpx.MockTransport(always_401)
    ) as http:
        response = http.get(f"{INSTANCE}/services/data/")
    assert response.status_code == 401
    assert fake_sf.api_calls == 2
    assert fake_sf.token_posts == 2


def test_burst_of_401s_causes_one_reauth(creds, fake_sf) -> None:
    http = httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf))
    http.get(f"{INSTANCE}/services/data/")
    fake_sf.expire_all()
    fake_sf.delay = 0.05
    barrier = threading.Barrier(32)

    def call(_: int) -> int:
        barrier.wait()
        return http.get(f"{INSTANCE}/services/data/").status_code

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(call, range(32)))
    http.close()
    assert statuses == [200] * 32
    assert fake_sf.token_posts == 2  # the first login + ONE re-authentication


async def test_async_burst_of_401s_causes_one_reauth(creds, fake_sf) -> None:
    async with httpx.AsyncClient(
        auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)
    ) as http:
        await http.get(f"{INSTANCE}/services/data/")
        fake_sf.expire_all()
        responses = await asyncio.gather(
            *(http.get(f"{INSTANCE}/services/data/") for _ in range(200))
        )
    assert {r.status_code for r in responses} == {200}
    assert fake_sf.token_posts == 2


def test_streaming_response_through_auth(creds, fake_sf) -> None:
    with (
        httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)) as http,
        http.stream("GET", f"{INSTANCE}/stream") as response,
    ):
        chunks = list(response.iter_bytes())
    assert sum(len(c) for c in chunks) == 100_000


def test_replay_carries_the_body(creds, fake_sf) -> None:
    with httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)) as http:
        creds.token()
        fake_sf.expire_all()
        response = http.post(f"{INSTANCE}/echo", content=b'{"Name":"Acme"}')
    assert response.content == b'{"Name":"Acme"}'


def test_streamed_body_that_cannot_be_replayed_is_a_clear_error(creds, fake_sf) -> None:
    def body():
        yield b"part"

    class WireTransport(httpx.BaseTransport):
        # Like a real socket transport: consumes the body stream without buffering it.
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            b"".join(request.stream)
            return fake_sf(httpx.Request(request.method, request.url, headers=request.headers))

    with httpx.Client(auth=SalesforceAuth(creds), transport=WireTransport()) as http:
        old = creds.token()
        fake_sf.expire_all()
        with pytest.raises(ApiError, match="cannot be sent again"):
            http.post(f"{INSTANCE}/echo", content=body())
    assert creds.token().access_token != old.access_token  # the new session is ready


@pytest.mark.parametrize(
    "url",
    ["https://evil.example.com/services/data/", "http://acme.my.salesforce.com/services/data/",
     "https://acme.my.salesforce.com:8443/x", "https://other.my.salesforce.com/x"],
)  # fmt: skip
def test_token_only_goes_to_the_instance_and_identity_hosts(creds, fake_sf, url) -> None:
    seen: list[httpx.Request] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake_sf(request)

    with (
        httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(spy)) as http,
        pytest.raises(EnvironmentConfigError, match="refusing to send the access token"),
    ):
        http.get(url)
    assert all("Authorization" not in r.headers for r in seen if "/token" not in r.url.path)


def test_identity_host_is_allowed(creds, fake_sf) -> None:
    with httpx.Client(auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)) as http:
        response = http.get(creds.token().id_url)
    assert response.status_code == 200


async def test_async_streaming_and_replay(creds, fake_sf) -> None:
    async with httpx.AsyncClient(
        auth=SalesforceAuth(creds), transport=httpx.MockTransport(fake_sf)
    ) as http:
        await creds.atoken()
        fake_sf.expire_all()
        async with http.stream("GET", f"{INSTANCE}/stream") as response:
            size = sum([len(c) async for c in response.aiter_bytes()])
    assert size == 100_000
    assert fake_sf.token_posts == 2
