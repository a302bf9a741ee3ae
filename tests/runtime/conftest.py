"""Fixtures for the runtime tests: a fake Salesforce behind httpx.MockTransport, fake time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sfbearer.credentials import JWTBearerCredentials
from sfbearer.grant import RetryPolicy
from sfbearer.keys import KeyPair

from .fakes import CLIENT_ID, USERNAME, FakeClock, FakeSalesforce


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def record(self, event: str, fields: Any) -> None:
        self.events.append((event, dict(fields)))

    def names(self) -> list[str]:
        return [e for e, _ in self.events]


@pytest.fixture
def fake_sf() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit() -> Recorder:
    return Recorder()


@pytest.fixture
def make_creds(
    fake_sf: FakeSalesforce, clock: FakeClock, key_pair: KeyPair, audit: Recorder
) -> Iterator[Callable[..., JWTBearerCredentials]]:
    made: list[JWTBearerCredentials] = []

    def make(**kw: Any) -> JWTBearerCredentials:
        settings: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "username": USERNAME,
            "private_key": key_pair.private_key,
            "environment": "production",
            "http": httpx.Client(transport=httpx.MockTransport(fake_sf)),
            "clock": clock,
            "sleep": clock.sleep,
            "audit": audit,
            "retry": RetryPolicy(rng=lambda: 1.0),
        }
        settings.update(kw)
        creds = JWTBearerCredentials(**settings)
        made.append(creds)
        return creds

    yield make
    for c in made:
        c.close()


@pytest.fixture
def creds(make_creds: Callable[..., JWTBearerCredentials]) -> JWTBearerCredentials:
    return make_creds()
