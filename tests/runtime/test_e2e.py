"""End to end against the real emulator on a loopback port (real sockets, real server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sfbearer._aclient import AsyncSalesforceClient
from sfbearer._exceptions import ApiError, TokenRequestError, TransportError
from sfbearer.auth import SalesforceAuth
from sfbearer.client import SalesforceClient
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.emulator import Emulator
from sfbearer.grant import RetryPolicy
from sfbearer.keys import KeyPair

USERNAME = "integration@acme.com"


@dataclass
class Org:
    sf: Emulator
    consumer_key: str
    key_pair: KeyPair
    sleeps: list[float]

    def creds(self, **kw: Any) -> JWTBearerCredentials:
        settings: dict[str, Any] = {
            "client_id": self.consumer_key,
            "username": USERNAME,
            "private_key": self.key_pair.private_key,
            "environment": self.sf.url,
            "clock": self.sf.clock.now,  # one fake clock for both sides
            "sleep": self.sleeps.append,
            "retry": RetryPolicy(rng=lambda: 0.0),
        }
        settings.update(kw)
        return JWTBearerCredentials(**settings)

    def token_requests(self) -> int:
        stats = self.sf.stats()["token_requests"]
        return int(stats["ok"]) + int(stats["failed"])


@pytest.fixture
def org(key_pair: KeyPair) -> Iterator[Org]:
    with Emulator() as sf:
        app = sf.add_app(name="runtime", certificate=key_pair.certificate)
        sf.add_user(username=USERNAME)
        sf.authorize(app="runtime", profile="Integration User")
        yield Org(sf, app.consumer_key, key_pair, [])


def test_64_threads_cold_cache_one_token_request(org: Org) -> None:
    org.sf.faults.update(latency=0.2, scope="token")
    creds = org.creds()
    barrier = threading.Barrier(64)

    def call(_: int) -> str:
        barrier.wait()
        return creds.token().access_token

    with ThreadPoolExecutor(64) as pool:
        tokens = set(pool.map(call, range(64)))
    creds.close()
    assert len(tokens) == 1
    assert org.token_requests() == 1


async def test_1000_tasks_cold_cache_one_token_request(org: Org) -> None:
    org.sf.faults.update(latency=0.2, scope="token")
    with org.creds() as creds:
        tokens = await asyncio.gather(*(creds.atoken() for _ in range(1000)))
    assert len({t.access_token for t in tokens}) == 1
    assert org.token_requests() == 1


def test_revoked_sessions_under_32_callers_one_reauth(org: Org) -> None:
    with org.creds() as creds, SalesforceClient(creds) as client:
        client.limits()
        assert org.token_requests() == 1
        assert org.sf.revoke_sessions() == 1
        barrier = threading.Barrier(32)

        def call(_: int) -> int:
            barrier.wait()
            return len(client.limits())

        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(call, range(32)))
    assert all(results)
    assert org.token_requests() == 2


async def test_revoked_sessions_async_one_reauth(org: Org) -> None:
    with org.creds() as creds:
        async with AsyncSalesforceClient(creds) as client:
            await client.limits()
            org.sf.revoke_sessions()
            results = await asyncio.gather(*(client.limits() for _ in range(32)))
    assert all(results)
    assert org.token_requests() == 2


def test_proactive_refresh_at_the_margin_with_both_clocks(org: Org) -> None:
    with org.creds() as creds, SalesforceClient(creds, api_version="68.0") as client:
        first = creds.token()
        client.limits()
        org.sf.clock.advance(minutes=120 - 6)  # outside the 5-minute margin: reused
        assert creds.token() is first
        org.sf.clock.advance(minutes=2)  # inside it: refreshed before Salesforce expires it
        client.limits()
        second = creds.token()
    assert second.access_token != first.access_token
    assert org.token_requests() == 2


def test_same_token_returned_is_kept_with_a_new_estimate(key_pair: KeyPair) -> None:
    with Emulator(reuse_sessions=True) as sf:
        app = sf.add_app(name="runtime", certificate=key_pair.certificate)
        sf.add_user(username=USERNAME)
        sf.authorize(app="runtime", profile="Integration User")
        org = Org(sf, app.consumer_key, key_pair, [])
        with org.creds() as creds:
            first = creds.token()
            sf.clock.advance(minutes=116)
            second = creds.token()
            assert second.access_token == first.access_token
            assert second.expires_at > first.expires_at
            for _ in range(20):
                creds.token()
        assert org.token_requests() == 2


def test_retries_on_503_with_retry_after(org: Org) -> None:
    org.sf.faults.update(error_rate=1.0, error_status=503, retry_after=3, scope="token")
    creds = org.creds(retry=RetryPolicy(max_attempts=3, rng=lambda: 0.0))
    with pytest.raises(TokenRequestError) as info:
        creds.token()
    assert info.value.status == 503
    assert info.value.exit_code == 3  # an outage is "unknown", not a refusal
    assert org.sleeps == [3.0, 3.0]
    org.sf.faults.reset()
    assert creds.token()
    creds.close()


def test_retries_on_dropped_connections(org: Org) -> None:
    org.sf.faults.update(drop_rate=1.0, scope="token")
    creds = org.creds(retry=RetryPolicy(max_attempts=3, rng=lambda: 0.0))
    with pytest.raises(TransportError):
        creds.token()
    assert len(org.sleeps) == 2
    org.sf.faults.reset()
    assert creds.token()
    creds.close()


def test_invalid_grant_is_exactly_one_post(org: Org) -> None:
    with org.creds(username="nobody@acme.com") as creds:
        with pytest.raises(TokenRequestError) as info:
            creds.token()
        with pytest.raises(TokenRequestError):
            creds.token()  # negative-cached: still one POST
    assert info.value.error == "invalid_grant"
    assert info.value.diagnosis
    assert org.token_requests() == 1
    assert org.sleeps == []


def test_not_preauthorized_user_gets_the_diagnosis(org: Org) -> None:
    org.sf.add_user(username="other@acme.com", profile="Standard User")
    with org.creds(username="other@acme.com") as creds, pytest.raises(TokenRequestError) as info:
        creds.token()
    assert "Permission Sets" in info.value.diagnosis or "pre-authorized" in info.value.diagnosis


def test_streaming_through_salesforce_auth(org: Org) -> None:
    for i in range(50):
        org.sf.records.create("Account", {"Name": f"Acme {i}"})
    with (
        org.creds() as creds,
        httpx.Client(auth=SalesforceAuth(creds)) as http,
        http.stream(
            "GET",
            f"{org.sf.url}/services/data/v68.0/query/",
            params={"q": "SELECT Id FROM Account"},
        ) as response,
    ):
        raw = b"".join(response.iter_bytes())
    assert response.status_code == 200
    assert b'"totalSize"' in raw


def test_client_end_to_end(org: Org) -> None:
    with org.creds() as creds, SalesforceClient(creds) as client:
        created = client.sobject("Account").create({"Name": "Acme"})
        record = client.sobject("Account").get(created["id"])
        assert record["Name"] == "Acme"
        client.sobject("Account").update(created["id"], {"Name": "Acme 2"})
        names = [r["Name"] for r in client.query("SELECT Name FROM Account")]
        assert "Acme 2" in names
        client.sobject("Account").delete(created["id"])
        with pytest.raises(ApiError) as info:
            client.sobject("Account").get(created["id"])
        assert info.value.status == 404
        assert client.identity()["username"] == USERNAME
        assert float(client.api_version) >= 60


def test_query_follows_pages(org: Org) -> None:
    for i in range(2100):
        org.sf.records.create("Account", {"Name": f"A{i}"})
    with org.creds() as creds, SalesforceClient(creds) as client:
        pages = list(client.query_pages("SELECT Id FROM Account"))
        assert len(pages) >= 2
        assert sum(len(p["records"]) for p in pages) == 2100


def test_no_secret_in_any_log_at_debug(org: Org, caplog, capfd) -> None:
    secrets: list[str] = []

    class Spy:
        def record(self, event: str, fields: Any) -> None:
            logging.getLogger("spy").debug("%s %s", event, dict(fields))

    with caplog.at_level(logging.DEBUG):
        org.sf.faults.update(error_rate=1.0, error_status=503, scope="token")
        creds = org.creds(audit=Spy(), retry=RetryPolicy(max_attempts=2, rng=lambda: 0.0))
        with pytest.raises(TokenRequestError) as info:
            creds.token()
        secrets.append(str(info.value))
        org.sf.faults.reset()
        with SalesforceClient(creds) as client:
            token = creds.token()
            client.limits()
            org.sf.revoke_sessions()
            client.limits()
            with pytest.raises(ApiError) as api_info:
                client.query("SELECT Bogus FROM Account").__next__()
            creds.revoke()
        creds.close()
    out, err = capfd.readouterr()
    text = caplog.text + out + err + repr(creds) + repr(token) + str(api_info.value)
    text += " ".join(secrets) + repr(caplog.records)
    assert token.access_token not in text
    assert token.access_token.split("!")[1] not in text
    assert "eyJ" not in text  # no JWT (an assertion) anywhere
    assert "PRIVATE KEY" not in text
    assert "token.issued" in caplog.text  # the canary: logging was really on


def test_the_library_guide_example(salesforce_emulator, key_pair: KeyPair) -> None:
    sf = salesforce_emulator
    app = sf.add_app(name="ci", certificate=key_pair.certificate)
    sf.add_user(username="int@acme.com")
    sf.authorize(app="ci", profile="Integration User")
    creds = JWTBearerCredentials(
        client_id=app.consumer_key, username="int@acme.com",
        private_key=key_pair.private_key, environment=sf.url, clock=sf.clock.now,
    )  # fmt: skip
    with creds, SalesforceClient(creds) as client:
        client.limits()
        sf.clock.advance(minutes=118)
        client.limits()
        sf.revoke_sessions()
        client.limits()
    assert sf.stats()["token_requests"]["ok"] == 3


def test_from_profile_with_an_audit_trail(org: Org, key_files, tmp_path) -> None:
    import json

    trail = tmp_path / "audit.jsonl"
    creds = JWTBearerCredentials.from_profile(
        client_id=org.consumer_key,
        username=USERNAME,
        jwt_key_file=str(key_files[0]),
        environment=org.sf.url,
        audit=str(trail),
    )
    with creds, SalesforceClient(creds) as client:
        token = creds.token()
        client.limits()
        org.sf.revoke_sessions()
        client.limits()
        creds.revoke()
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    events = [r["event"] for r in records]
    assert events[:2] == ["assertion.minted", "token.issued"]
    assert "session.reauthenticated" in events
    assert events[-1] == "token.revoked"
    text = trail.read_text()
    assert token.access_token not in text
    assert "eyJ" not in text
    assert all(r["client_id"] == org.consumer_key for r in records)
    minted = records[0]
    assert minted["iss"] == org.consumer_key
    assert minted["sub"] == USERNAME
    assert minted["aud"] == org.sf.url
    ts = dt.datetime.fromisoformat(minted["ts"].replace("Z", "+00:00")).timestamp()
    assert 0 < minted["exp"] - ts <= 181
    assert minted["key_fingerprint"].count(":") == 31


def test_a_failed_token_request_is_audited_with_salesforce_error(
    org: Org, key_files, tmp_path
) -> None:
    import json

    trail = tmp_path / "audit.jsonl"
    creds = JWTBearerCredentials.from_profile(
        client_id=org.consumer_key,
        username="nobody@nowhere.example",
        jwt_key_file=str(key_files[0]),
        environment=org.sf.url,
        audit=str(trail),
    )
    with creds, pytest.raises(TokenRequestError) as info:
        creds.token()
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    failed = [r for r in records if r["event"] == "token.failed"]
    assert len(failed) == 1
    assert failed[0]["error"] == info.value.error == "invalid_grant"
    assert failed[0]["error_description"] == info.value.description
    assert failed[0]["username"] == "nobody@nowhere.example"


@pytest.mark.parametrize("minutes", [-10, 10])
def test_clock_skew_is_explained(org: Org, minutes: int) -> None:
    """Our clock ``minutes`` behind (-) or ahead (+) of Salesforce's."""
    import time

    with org.creds(clock=lambda: time.time() + minutes * 60) as creds:
        if minutes < 0:  # behind: our exp is already past for Salesforce
            with pytest.raises(TokenRequestError) as info:
                creds.token()
            assert info.value.description == "expired authorization code"
            assert "clock" in info.value.diagnosis
            assert org.token_requests() == 1
        else:  # ahead: accepted (as real Salesforce accepts far-future exp); lifetime is local
            token = creds.token()
            assert token.expires_at == pytest.approx(time.time() + minutes * 60 + 7200, abs=60)
