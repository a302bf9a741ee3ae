from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sfbearer._exceptions import (
    ConfigError,
    EnvironmentConfigError,
    TokenRequestError,
    TransportError,
)
from sfbearer.cache import MemoryCache
from sfbearer.environments import Environment
from sfbearer.grant import RetryPolicy
from sfbearer.token import TokenState

from .fakes import CLIENT_ID, USERNAME, body, decode_claims, drop, error


def test_first_call_posts_once_then_reuses(creds, fake_sf, audit) -> None:
    tok = creds.token()
    assert tok is creds.token()
    assert fake_sf.token_posts == 1
    assert tok.instance_url == "https://acme.my.salesforce.com"
    assert audit.names() == ["assertion.minted", "token.issued"]
    fields = audit.events[1][1]
    assert fields["client_id"] == CLIENT_ID
    assert fields["token_hash"] == tok.fingerprint
    assert tok.access_token not in repr(audit.events)


def test_assertion_is_strict_and_fresh_each_attempt(make_creds, fake_sf, clock) -> None:
    fake_sf.script = [error(503), error(503)]
    make_creds().token()
    assert fake_sf.token_posts == 3
    claims = [decode_claims(a) for a in fake_sf.assertions]
    assert len({c["jti"] for c in claims}) == 3
    for c in claims:
        assert c["iss"] == CLIENT_ID
        assert c["sub"] == USERNAME
        assert c["aud"] == "https://login.salesforce.com"
        assert isinstance(c["exp"], int)
        assert c["exp"] - c["iat"] <= 180
    # later attempts are minted later (after the fake sleeps)
    assert claims[2]["iat"] > claims[0]["iat"]


def test_retry_after_is_honoured_within_the_cap(make_creds, fake_sf, clock) -> None:
    fake_sf.script = [error(503, **{"Retry-After": "4"}), error(429, **{"Retry-After": "999"})]
    make_creds(retry=RetryPolicy(retry_after_cap=20, deadline=100)).token()
    assert clock.sleeps == [4.0, 20.0]


def test_backoff_then_give_up(make_creds, fake_sf, clock) -> None:
    fake_sf.script = [error(500)] * 10
    with pytest.raises(TokenRequestError) as info:
        make_creds(retry=RetryPolicy(max_attempts=3, rng=lambda: 1.0)).token()
    assert fake_sf.token_posts == 3
    assert clock.sleeps == [0.5, 1.0]
    assert info.value.retryable


def test_total_deadline_bounds_the_retries(make_creds, fake_sf, clock) -> None:
    fake_sf.script = [error(503, **{"Retry-After": "25"})] * 10
    with pytest.raises(TokenRequestError):
        make_creds(retry=RetryPolicy(max_attempts=10, deadline=30)).token()
    assert fake_sf.token_posts == 2
    assert sum(clock.sleeps) <= 30


def test_dropped_connections_are_retried_then_transport_error(make_creds, fake_sf) -> None:
    fake_sf.script = [drop, drop]
    assert make_creds().token()
    assert fake_sf.token_posts == 3
    fake2 = [drop] * 10
    fake_sf.script = fake2
    creds = make_creds(retry=RetryPolicy(max_attempts=2, rng=lambda: 0.0))
    with pytest.raises(TransportError, match="could not reach"):
        creds.token()


def test_invalid_grant_is_one_post_and_negative_cached(make_creds, fake_sf, clock, audit) -> None:
    fake_sf.script = [error(400, "invalid_grant", "user hasn't approved this consumer")] * 5
    creds = make_creds()
    with pytest.raises(TokenRequestError) as info:
        creds.token()
    assert fake_sf.token_posts == 1
    assert "pre-authorized" in info.value.diagnosis
    for _ in range(20):  # a hot loop
        with pytest.raises(TokenRequestError):
            creds.token()
    assert fake_sf.token_posts == 1
    assert "token.failed" in audit.names()
    clock.advance(11)
    with pytest.raises(TokenRequestError):
        creds.token()
    assert fake_sf.token_posts == 2


def test_opt_in_invalid_grant_retry_for_new_sandboxes(make_creds, fake_sf) -> None:
    fake_sf.script = [error(400, "invalid_grant", "user hasn't approved this consumer")] * 2
    creds = make_creds(retry=RetryPolicy(invalid_grant_retries=3, rng=lambda: 0.0))
    assert creds.token()
    assert fake_sf.token_posts == 3


@pytest.mark.parametrize(
    "reply",
    [body(200, b"<html>portal</html>"), body(200, b"{}", "application/json"),
     body(200, b'{"access_token":"x","token_type":"MAC","instance_url":"https://a.my.salesforce.com","id":"https://login.salesforce.com/id/a/b"}', "application/json")],
)  # fmt: skip
def test_bad_200_raises_and_caches_nothing(make_creds, fake_sf, reply) -> None:
    fake_sf.script = [reply]
    creds = make_creds()
    with pytest.raises(TokenRequestError, match="invalid_response"):
        creds.token()
    assert creds.cache.get(creds.cache_key) is None
    assert fake_sf.token_posts == 1


def test_redirect_is_never_followed(make_creds, fake_sf) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            307, headers={"Location": "https://evil.example/services/oauth2/token"}
        )

    fake_sf.script = [redirect]
    http = httpx.Client(transport=httpx.MockTransport(fake_sf), follow_redirects=True)
    with pytest.raises(TokenRequestError) as info:
        make_creds(http=http).token()
    assert info.value.error == "redirect"
    assert fake_sf.token_posts == 1


@pytest.mark.parametrize(
    "environment",
    [
        "http://login.salesforce.com",
        "https://evil.example.com",
        "https://login.salesforce.com.evil.io",
    ],
)
def test_untrusted_token_url_is_refused_before_signing(make_creds, environment) -> None:
    class Boom:
        key_id = "k"

        def sign(self, message: bytes) -> bytes:
            raise AssertionError("signed for an untrusted host")

        def public_key(self):  # pragma: no cover
            raise AssertionError

    with pytest.raises(EnvironmentConfigError):
        make_creds(environment=environment, private_key=Boom())


def test_environment_object_built_by_hand_is_still_checked(make_creds) -> None:
    env = Environment("custom", "https://evil.example.com", "https://evil.example.com")
    with pytest.raises(EnvironmentConfigError):
        make_creds(environment=env)


@pytest.mark.parametrize(
    ("instance", "id_host"),
    [("https://evil.example.com", "https://login.salesforce.com"),
     ("http://acme.my.salesforce.com", "https://login.salesforce.com"),
     ("https://acme.my.salesforce.com", "https://evil.example.com")],
)  # fmt: skip
def test_token_for_an_untrusted_instance_is_refused(make_creds, fake_sf, instance, id_host) -> None:
    fake_sf.instance_url, fake_sf.id_host = instance, id_host
    creds = make_creds()
    with pytest.raises(EnvironmentConfigError):
        creds.token()
    assert creds.cache.get(creds.cache_key) is None


def test_allow_listed_instance_is_accepted(make_creds, fake_sf) -> None:
    fake_sf.instance_url = "https://sf-proxy.corp.example"
    assert make_creds(allow_hosts=["sf-proxy.corp.example"]).token()


def test_proactive_refresh_at_the_margin(creds, fake_sf, clock, audit) -> None:
    first = creds.token()
    clock.advance(7200 - 301)
    assert creds.token() is first
    clock.advance(2)  # inside the 5 minute margin
    second = creds.token()
    assert second.access_token != first.access_token
    assert fake_sf.token_posts == 2
    assert audit.names()[-1] == "token.refreshed"


def test_failed_proactive_refresh_serves_the_valid_token(creds, fake_sf, clock, caplog) -> None:
    first = creds.token()
    clock.advance(7200 - 200)
    fake_sf.script = [error(400, "invalid_grant", "authentication failure")]
    with caplog.at_level(logging.WARNING, "sfbearer"):
        assert creds.token() is first
    assert "proactive token refresh failed" in caplog.text
    # not retried on every call
    assert creds.token() is first
    assert fake_sf.token_posts == 2
    clock.advance(31)
    assert creds.token().access_token != first.access_token
    assert fake_sf.token_posts == 3


def test_failure_after_expiry_raises(creds, fake_sf, clock) -> None:
    creds.token()
    clock.advance(7200)
    fake_sf.script = [error(400, "invalid_grant", "authentication failure")]
    with pytest.raises(TokenRequestError):
        creds.token()


def test_same_token_returned_gets_a_new_estimate_not_a_loop(creds, fake_sf, clock) -> None:
    fake_sf.same_token = True
    first = creds.token()
    clock.advance(7200 - 100)
    second = creds.token()
    assert second.access_token == first.access_token
    assert second.expires_at == clock.now + 7200
    assert second.state(clock.now) is TokenState.FRESH
    for _ in range(10):
        creds.token()
    assert fake_sf.token_posts == 2


def test_invalidate_drops_only_that_token(creds, fake_sf) -> None:
    first = creds.token()
    assert creds.invalidate(first) is True
    second = creds.token()
    assert creds.invalidate(first) is False  # a late 401 for the old token
    assert creds.token() is second
    assert fake_sf.token_posts == 2


def test_64_threads_cold_cache_one_post(creds, fake_sf) -> None:
    fake_sf.delay = 0.05
    barrier = threading.Barrier(64)

    def call(_: int) -> str:
        barrier.wait()
        return creds.token().access_token

    with ThreadPoolExecutor(64) as pool:
        tokens = set(pool.map(call, range(64)))
    assert fake_sf.token_posts == 1
    assert len(tokens) == 1


async def test_1000_tasks_cold_cache_one_post(creds, fake_sf) -> None:
    fake_sf.delay = 0.05
    tokens = await asyncio.gather(*(creds.atoken() for _ in range(1000)))
    assert fake_sf.token_posts == 1
    assert len({t.access_token for t in tokens}) == 1


async def test_atoken_does_not_block_the_event_loop(creds, fake_sf) -> None:
    fake_sf.delay = 0.2
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1

    await asyncio.gather(creds.atoken(), ticker())
    assert ticks == 10


async def test_cancelled_waiter_does_not_cancel_the_refresh(creds, fake_sf) -> None:
    fake_sf.delay = 0.1
    task = asyncio.ensure_future(creds.atoken())
    other = asyncio.ensure_future(creds.atoken())
    await asyncio.sleep(0.02)
    task.cancel()
    assert (await other).access_token
    assert fake_sf.token_posts == 1


def test_shared_cache_reuses_anothers_token(make_creds, fake_sf, audit) -> None:
    cache = MemoryCache()
    a, b = make_creds(cache=cache), make_creds(cache=cache)
    assert a.token().access_token == b.token().access_token
    assert fake_sf.token_posts == 1
    assert "token.reused" in audit.names()


def test_revoke_logs_out_and_clears(creds, fake_sf, audit) -> None:
    tok = creds.token()
    assert creds.revoke() is True
    assert fake_sf.revoked == [tok.access_token]
    assert creds.cache.get(creds.cache_key) is None
    assert audit.names()[-1] == "token.revoked"
    assert creds.revoke() is False
    assert creds.token().access_token != tok.access_token


@pytest.mark.parametrize(
    "kwargs",
    [{"client_id": ""}, {"username": " "}, {"session_timeout": dt.timedelta(seconds=5)},
     {"refresh_margin": dt.timedelta(hours=1), "session_timeout": dt.timedelta(hours=1)},
     {"timeout": 0}, {"cache": "bogus:x"}, {"private_key": "pem"},
     {"environment": "narnia"}, {"session_timeout": 120}, {"refresh_margin": 60.0}],
)  # fmt: skip
def test_bad_configuration_is_a_config_error(make_creds, kwargs) -> None:
    with pytest.raises(ConfigError):
        make_creds(**kwargs)


def test_configuration_is_immutable(creds) -> None:
    with pytest.raises(AttributeError):
        creds.username = "other@acme.com"
    other = creds.with_changes(username="other@acme.com")
    assert other.username == "other@acme.com"
    assert other.cache_key != creds.cache_key


def test_repr_has_no_secret(creds) -> None:
    tok = creds.token()
    assert tok.access_token not in repr(creds)
    assert CLIENT_ID in repr(creds)


def test_make_cache_specs() -> None:
    from sfbearer.cache import MemoryCache, make_cache

    cache = MemoryCache()
    assert make_cache(cache) is cache
    assert isinstance(make_cache("memory"), MemoryCache)
    assert isinstance(make_cache(None), MemoryCache)
    with pytest.raises(ConfigError, match="unknown token cache"):
        make_cache("memcached://x")
    with pytest.raises(ConfigError):
        make_cache(object())  # type: ignore[arg-type]


def test_memory_cache_compare_and_invalidate(creds) -> None:
    cache = MemoryCache()
    first = creds.token()
    cache.put("k", first)
    newer = first.with_new_estimate(first.received_at + 1, dt.timedelta(hours=2))
    other = type(first).from_dict({**first.to_dict(), "access_token": "00D!other"})
    assert cache.invalidate("k", other) is False
    assert cache.get("k") is first
    cache.put("k", newer)
    assert cache.invalidate("k", first) is True  # same access token: it is that session
    assert cache.get("k") is None
    assert cache.invalidate("missing", first) is False


@pytest.mark.parametrize(
    "kwargs",
    [{"ca_bundle": "/nonexistent/ca.pem"}, {"proxy": "not a url"}, {"proxy": "ftp://x"}],
)
def test_bad_transport_settings_are_config_errors(make_creds, kwargs) -> None:
    with pytest.raises(ConfigError):
        make_creds(http=None, **kwargs)


def test_ca_bundle_that_is_not_pem(make_creds, tmp_path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="CA bundle"):
        make_creds(http=None, ca_bundle=str(bad))
