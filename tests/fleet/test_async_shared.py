"""Async callers over a shared cache: tasks of several credentials objects, one login."""

from __future__ import annotations

import asyncio

import pytest

from sfbearer.cache.file import FileCache
from sfbearer.cache.redis_cache import RedisCache
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.keys import load_private_key

from .conftest import USERNAME, Org


@pytest.mark.parametrize("kind", ["redis", "file"])
async def test_tasks_of_four_credentials_sharing_a_cache_cause_one_login(
    org: Org, kind: str, request: pytest.FixtureRequest
) -> None:
    org.sf.faults.update(latency=0.3, scope="token")
    key = load_private_key(org.key_path)

    def cache() -> RedisCache | FileCache:
        if kind == "file":
            return FileCache(org.workdir / "async-cache")
        url = request.getfixturevalue("redis_url")
        return RedisCache.from_url(f"{url}?prefix={request.getfixturevalue('prefix')}")

    # Four credentials, each with its own cache object: as far apart as four processes.
    settings = {"client_id": org.consumer_key, "username": USERNAME, "private_key": key}
    creds = [
        JWTBearerCredentials(**settings, environment=org.sf.url, cache=cache()) for _ in range(4)
    ]
    tokens = await asyncio.gather(*(c.atoken() for c in creds for _ in range(50)))
    assert len({t.access_token for t in tokens}) == 1
    assert org.token_requests() == 1
    for c in creds:
        c.close()
        if isinstance(c.cache, RedisCache):
            c.cache.close()
