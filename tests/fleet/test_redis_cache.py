"""The Redis token cache against a real Redis server."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet

from sfbearer._exceptions import ConfigError, TransportError
from sfbearer.cache import make_cache
from sfbearer.cache.redis_cache import RedisCache

from .conftest import RedisServer
from .test_file_cache import KEY, OTHER, make_token


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make(redis_url: str, prefix: str) -> Any:
    made: list[RedisCache] = []

    def factory(**kw: Any) -> RedisCache:
        cache = RedisCache.from_url(f"{redis_url}?prefix={prefix}", **kw)
        made.append(cache)
        return cache

    yield factory
    for cache in made:
        cache.close()


def test_round_trip_with_a_ttl_of_the_estimated_remaining_life(
    make: Any, redis_client: Any, prefix: str
) -> None:
    now = time.time()
    cache = make(clock=lambda: now)
    token = make_token(expires_at=now + 600)
    assert cache.get(KEY) is None
    cache.put(KEY, token)
    assert cache.get(KEY) == token
    assert make().get(KEY) == token  # another process's view
    ttl = redis_client.pttl(f"{prefix}token:{KEY}")
    assert 590_000 < ttl <= 600_000
    stored = redis_client.hget(f"{prefix}token:{KEY}", "sha256").decode()
    assert stored == hashlib.sha256(token.access_token.encode()).hexdigest()
    assert cache.get(OTHER) is None


def test_an_expired_token_is_not_stored(make: Any, redis_client: Any, prefix: str) -> None:
    now = time.time()
    make(clock=lambda: now).put(KEY, make_token(expires_at=now - 1))
    assert redis_client.exists(f"{prefix}token:{KEY}") == 0


def test_compare_and_delete_keeps_a_newer_token(make: Any) -> None:
    a, b = make(), make()
    old, new = make_token("00Dxx!AQ.old"), make_token("00Dxx!AQ.new")
    a.put(KEY, old)
    b.put(KEY, new)  # another process refreshed meanwhile
    assert a.invalidate(KEY, old) is False
    assert b.get(KEY) == new
    assert a.invalidate(KEY, new) is True
    assert b.get(KEY) is None


def test_works_with_a_decoding_client_passed_in(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    cache = make_cache(client)
    assert isinstance(cache, RedisCache)
    cache.prefix = prefix
    token = make_token()
    cache.put(KEY, token)
    assert cache.get(KEY) == token
    assert cache.invalidate(KEY, token) is True
    client.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"sha256": "0" * 64, "fmt": "json", "data": "{"},
        {"sha256": "0" * 64, "fmt": "json", "data": '{"format": "other"}'},
        {"sha256": "0" * 64, "fmt": "xml", "data": "<token/>"},
        {"fmt": "json", "data": "[]"},
    ],
)
def test_corrupt_or_foreign_entries_are_ignored_and_overwritten(
    make: Any, redis_client: Any, prefix: str, fields: dict[str, str]
) -> None:
    redis_client.hset(f"{prefix}token:{KEY}", mapping=fields)
    cache = make()
    assert cache.get(KEY) is None
    cache.put(KEY, make_token())
    assert cache.get(KEY) == make_token()


def test_an_entry_whose_hash_does_not_match_is_ignored(
    make: Any, redis_client: Any, prefix: str
) -> None:
    cache = make()
    cache.put(KEY, make_token())
    redis_client.hset(f"{prefix}token:{KEY}", "sha256", "f" * 64)
    assert cache.get(KEY) is None
    redis_client.hset(f"{prefix}token:{KEY}", "sha256", "")
    assert cache.get(KEY) is None


def test_encryption_at_rest(
    make: Any, redis_client: Any, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    cache = make(encryption_key=key)
    token = make_token("00DCANARYCANARY!AQ.secret")
    cache.put(KEY, token)
    raw = b"".join(redis_client.hgetall(f"{prefix}token:{KEY}").values())
    assert b"CANARY" not in raw
    assert b"acme" not in raw
    assert make(encryption_key=key.decode()).get(KEY) == token
    with caplog.at_level(logging.WARNING, "sfbearer.cache"):
        assert make().get(KEY) is None  # no key: ignored
        assert make(encryption_key=Fernet.generate_key()).get(KEY) is None  # wrong key
    assert "CANARY" not in caplog.text
    # Rotation: the new key encrypts, the old one still decrypts.
    rotated = make(encryption_key=[Fernet.generate_key(), key])
    assert rotated.get(KEY) == token


def test_an_encrypting_cache_never_trusts_a_record_in_clear(make: Any) -> None:
    make().put(KEY, make_token())  # planted by someone without the key
    assert make(encryption_key=Fernet.generate_key()).get(KEY) is None


def test_a_bad_encryption_key_is_a_config_error_that_does_not_echo_it(make: Any) -> None:
    with pytest.raises(ConfigError, match="not a Fernet key") as info:
        make(encryption_key="not-a-key-SECRETVALUE")
    assert "SECRETVALUE" not in str(info.value) + info.value.hint
    with pytest.raises(ConfigError):
        make(encryption_key=[])


def test_url_settings(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("FLEET_TEST_KEY", key)
    cache = make_cache(
        f"{redis_url}?prefix=billing:&lock_ttl=2.5&encryption_key_env=FLEET_TEST_KEY"
    )
    assert isinstance(cache, RedisCache)
    assert (cache.prefix, cache.lock_ttl) == ("billing:", 2.5)
    assert "encrypted" in repr(cache)
    assert key not in repr(cache)
    cache.close()
    monkeypatch.delenv("FLEET_TEST_KEY")
    with pytest.raises(ConfigError, match="FLEET_TEST_KEY is not set"):
        make_cache(f"{redis_url}?encryption_key_env=FLEET_TEST_KEY")
    with pytest.raises(ConfigError, match="lock_ttl"):
        make_cache(f"{redis_url}?lock_ttl=soon")
    with pytest.raises(ConfigError, match="lock_ttl"):
        make_cache(f"{redis_url}?lock_ttl=0")


# -- the lock --------------------------------------------------------------------------------
def test_the_lock_excludes_other_processes_and_is_released_by_its_owner(
    make: Any, redis_client: Any, prefix: str
) -> None:
    a, b = make(), make(lock_timeout=0.3)
    with a.lock(KEY) as held:
        owner = redis_client.get(f"{prefix}lock:{KEY}").decode()
        assert owner == held.owner
        assert len(owner) == 32
        with pytest.raises(TransportError, match="held the Redis token lock"), b.lock(KEY):
            pass
    assert redis_client.exists(f"{prefix}lock:{KEY}") == 0
    with b.lock(KEY):
        pass


def test_a_holder_whose_lease_lapsed_does_not_release_the_next_holders_lock(
    make: Any, redis_client: Any, prefix: str
) -> None:
    cache = make(lock_ttl=0.3)
    lock_key = f"{prefix}lock:{KEY}"
    held = cache.lock(KEY)
    held.__enter__()
    held._stop.set()  # a stalled holder: no more renewals
    held._renewer.join()
    time.sleep(0.4)
    assert redis_client.exists(lock_key) == 0
    redis_client.set(lock_key, "someone-else", px=5000)
    held.__exit__(None, None, None)
    assert redis_client.get(lock_key) == b"someone-else"


def test_the_holder_renews_its_lease_while_it_works(
    make: Any, redis_client: Any, prefix: str
) -> None:
    cache, other = make(lock_ttl=0.3), make(lock_ttl=0.3, lock_timeout=0.2)
    with cache.lock(KEY) as held:
        time.sleep(1.0)  # over three leases
        assert redis_client.get(f"{prefix}lock:{KEY}").decode() == held.owner
        with pytest.raises(TransportError), other.lock(KEY):
            pass
    assert held.renewals >= 3
    assert not held.lost


def test_a_crashed_holders_lock_frees_within_its_lease(
    make: Any, redis_client: Any, prefix: str
) -> None:
    # What a crashed process leaves: a lock nobody renews.
    redis_client.set(f"{prefix}lock:{KEY}", "dead-process", px=800)
    started = time.monotonic()
    with make().lock(KEY):
        waited = time.monotonic() - started
    assert 0.5 < waited < 2.5  # not before the lease ends; soon after it (loose: CI is shared)


def test_waiters_take_the_lock_one_after_another(make: Any) -> None:
    caches = [make() for _ in range(6)]
    inside, most = 0, 0
    guard = threading.Lock()

    def work(cache: RedisCache) -> None:
        nonlocal inside, most
        for _ in range(5):
            with cache.lock(KEY):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.005)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


# -- Redis down, Redis back ---------------------------------------------------------------
def test_redis_down_falls_back_to_memory_then_redis_back_is_used_again(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeMonotonic()
    cache = RedisCache.from_url(private_redis.url, monotonic=clock, retry_interval=5.0)
    first, second, third = (make_token(f"00Dxx!AQ.{n}") for n in ("one", "two", "three"))
    cache.put(KEY, first)
    private_redis.stop()
    with caplog.at_level(logging.WARNING, "sfbearer.cache"):
        assert cache.get(KEY) == first  # from this process's copy
        cache.put(KEY, second)
        assert cache.get(KEY) == second
        with cache.lock(KEY) as held:  # a process lock now
            assert not held.distributed
        assert cache.invalidate(KEY, second) is True
        assert cache.get(KEY) is None
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # one warning per outage, not per call
    caplog.clear()

    private_redis.start()  # same port, empty
    cache.put(KEY, third)
    with redis.Redis.from_url(private_redis.url) as direct:
        assert direct.exists(f"sfbearer:token:{KEY}") == 0
    clock.now += 5.0  # the retry interval passed
    with caplog.at_level(logging.WARNING, "sfbearer.cache"):
        assert cache.get(KEY) is None  # Redis is the truth again
        cache.put(KEY, third)
    assert "reachable again" in caplog.text
    other = RedisCache.from_url(private_redis.url)
    assert other.get(KEY) == third
    with cache.lock(KEY) as held:
        assert held.distributed
    other.close()
    cache.close()
