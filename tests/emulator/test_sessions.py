"""Sessions, identity, revocation, transport details, faults and the admin API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sfbearer.emulator import Emulator, EmulatorConfig
from sfbearer.keys import KeyPair

from .conftest import GRANT, Org, error_of, make_org


def test_chunked_body_is_accepted(org: Org) -> None:
    body = f"grant_type={GRANT}&assertion={org.mint()}".encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    response = org.client.post(
        "/services/oauth2/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200, response.text


def test_oversized_chunked_body_gets_a_json_error(org: Org) -> None:
    def chunks() -> Iterator[bytes]:
        yield f"grant_type={GRANT}&assertion=".encode()
        for _ in range(100):
            yield b"A" * 4096

    response = org.client.post(
        "/services/oauth2/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_get_on_token_endpoint(org: Org) -> None:
    assert error_of(org.client.get("/services/oauth2/token")) == (
        400, "invalid_request", "must use HTTP POST")  # fmt: skip


def test_session_expires_after_inactivity_and_use_extends_it(sf_org: Org) -> None:
    org = sf_org
    token = org.login()
    for _ in range(3):  # 3 × 100 min of activity: each use extends the 120-min session
        org.sf.clock.advance(minutes=100)
        assert org.api("GET", "/services/data/v68.0/limits", token).status_code == 200
    org.sf.clock.advance(minutes=121)
    response = org.api("GET", "/services/data/v68.0/limits", token)
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_app_session_timeout(sf_org: Org) -> None:
    org = sf_org
    org.sf.update_app(org.app, session_timeout=15)
    token = org.login()
    org.sf.clock.advance(minutes=14)
    assert org.api("GET", "/services/data/v68.0/", token).status_code == 200
    org.sf.clock.advance(minutes=16)
    assert org.api("GET", "/services/data/v68.0/", token).status_code == 401


def test_revoke_endpoint(org: Org) -> None:
    token = org.login()
    assert org.client.post("/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert org.api("GET", "/services/data/v68.0/", token).status_code == 401
    again = org.client.post("/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400
    assert token not in again.text


def test_revoke_sessions_of_one_user_or_all(fresh_org: Org) -> None:
    org = fresh_org
    org.sf.add_user(username="two@acme.com")
    mine, theirs = org.login(), org.login(sub="two@acme.com")
    assert org.sf.stats()["active_sessions"] == 2
    assert org.sf.revoke_sessions(user="two@acme.com") == 1
    assert org.api("GET", "/services/data/v68.0/", mine).status_code == 200
    assert org.api("GET", "/services/data/v68.0/", theirs).status_code == 401
    assert org.sf.revoke_sessions() == 1
    assert org.api("GET", "/services/data/v68.0/", mine).status_code == 401
    assert org.sf.stats()["active_sessions"] == 0


def test_relogin_returns_new_session_by_default(sf_org: Org) -> None:
    assert sf_org.login() != sf_org.login()


def test_relogin_returns_same_session_when_configured(key_pair: KeyPair) -> None:
    with Emulator(reuse_sessions=True) as sf:
        for org in make_org(sf, key_pair):
            first = org.login()
            assert org.login() == first
            sf.revoke_sessions()
            assert org.login() != first


def test_token_without_api_scope(sf_org: Org) -> None:
    org = sf_org
    org.sf.update_app(org.app, scopes="refresh_token,web")
    token = org.login()
    response = org.api("GET", "/services/data/v68.0/limits", token)
    assert response.status_code == 401
    assert response.json()[0]["message"] == "This session is not valid for use with the REST API"
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_missing_auth_header(sf_org: Org) -> None:
    response = sf_org.client.get("/services/data/v68.0/limits")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_AUTH_HEADER"


def test_identity_url_with_header_and_query_parameter(org: Org) -> None:
    body = org.post(org.mint()).json()
    identity, token = body["id"], body["access_token"]
    by_header = httpx.get(identity, headers={"Authorization": f"Bearer {token}"})
    by_query = httpx.get(identity, params={"oauth_token": token, "format": "json"})
    assert by_header.status_code == by_query.status_code == 200
    doc = by_header.json()
    assert doc == by_query.json()
    assert doc["username"] == org.username
    assert doc["organization_id"] == org.sf.org_id
    assert doc["urls"]["rest"].endswith("/services/data/v{version}/")
    assert httpx.get(identity).status_code == 403
    assert httpx.get(identity, params={"oauth_token": "00Dx!bogus"}).text == "Bad_OAuth_Token"
    wrong_org = identity.replace(org.sf.org_id, "00D000000000001AAA")
    assert httpx.get(wrong_org, params={"oauth_token": token}).text == "Wrong_Org"


def test_userinfo(org: Org) -> None:
    token = org.login()
    info = org.api("GET", "/services/oauth2/userinfo", token).json()
    assert info["preferred_username"] == org.username
    assert info["organization_id"] == org.sf.org_id
    assert org.client.get("/services/oauth2/userinfo").status_code == 403


def test_injected_503_with_retry_after(sf_org: Org) -> None:
    org = sf_org
    org.sf.faults.update(error_rate=1.0, error_status=503, retry_after=7, scope="token")
    response = org.post(org.mint())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"] == "temporarily_unavailable"
    org.sf.faults.reset()
    assert org.post(org.mint()).status_code == 200


def test_injected_500_on_api_only(sf_org: Org) -> None:
    org = sf_org
    token = org.login()
    org.sf.faults.update(error_rate=1.0, error_status=500, scope="api")
    response = org.api("GET", "/services/data/v68.0/", token)
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert response.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert org.post(org.mint()).status_code == 200  # token endpoint not in scope


def test_share_of_errors_is_a_share(sf_org: Org) -> None:
    org = sf_org
    org.sf.faults.update(error_rate=0.5, seed=1, scope="api")
    codes = [org.client.get("/services/data/v68.0/").status_code for _ in range(60)]
    assert 10 < codes.count(503) < 50


def test_latency(sf_org: Org) -> None:
    org = sf_org
    org.sf.faults.update(latency=0.2)
    start = time.monotonic()
    org.client.get("/services/data/")
    assert time.monotonic() - start >= 0.2


def test_dropped_connection(sf_org: Org) -> None:
    org = sf_org
    org.sf.faults.update(drop_rate=1.0)
    with httpx.Client(base_url=org.sf.url) as client, pytest.raises(httpx.TransportError):
        client.post("/services/oauth2/token", data={"grant_type": GRANT, "assertion": org.mint()})
    org.sf.faults.reset()
    assert org.post(org.mint()).status_code == 200


def test_fault_settings_are_validated(sf_org: Org) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        sf_org.sf.faults.update(error_rate=2)
    with pytest.raises(ValueError, match="unknown"):
        sf_org.sf.faults.update(nonsense=1)
    assert sf_org.sf.faults.error_rate == 0


def test_admin_api(fresh_org: Org, other_key_pair: KeyPair) -> None:
    from cryptography.hazmat.primitives import serialization

    org = fresh_org
    pem = other_key_pair.certificate.public_bytes(serialization.Encoding.PEM).decode()
    app = org.client.post("/__emulator/apps", json={"name": "second", "certificate": pem}).json()
    assert app["consumer_key"].startswith("3MVG9")
    assert (
        org.client.post(
            "/__emulator/apps", json={"name": "x", "certificate": "/etc/passwd"}
        ).status_code
        == 400
    )
    user = org.client.post("/__emulator/users", json={"username": "adm@acme.com"}).json()
    assert user["id"].startswith("005")
    auth = org.client.post("/__emulator/authorize", json={"app": "second", "user": "adm@acme.com"})
    assert auth.status_code == 200
    token = org.post(
        org.mint(key=other_key_pair.private_key, iss=app["consumer_key"], sub="adm@acme.com")
    )
    assert token.status_code == 200
    stats = org.client.get("/__emulator/stats").json()
    assert stats["token_requests"]["by_app"] == {"second": 1}
    faults = org.client.post("/__emulator/faults", json={"latency": 0.01}).json()
    assert faults["latency"] == 0.01
    assert org.client.post("/__emulator/faults", json={"reset": True}).json()["latency"] == 0
    assert org.client.post("/__emulator/revoke-sessions", json={}).json() == {"revoked": 1}
    clock = org.client.post("/__emulator/clock", json={"advance_seconds": 60}).json()
    assert clock["offset"] == 60


async def test_admin_api_refuses_non_loopback_clients(fresh_org: Org) -> None:
    from sfbearer.emulator.app import build_app

    app = build_app(fresh_org.sf.ctx)
    for host, status in (("203.0.113.5", 403), ("127.0.0.1", 200)):
        transport = httpx.ASGITransport(app=app, client=(host, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            assert (await client.get("/__emulator/stats")).status_code == status


def test_unknown_paths_are_salesforce_404s(sf_org: Org) -> None:
    response = sf_org.client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_seed_file(tmp_path: Path, key_pair: KeyPair) -> None:
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "server.crt").write_bytes(
        key_pair.certificate.public_bytes(serialization.Encoding.PEM)
    )
    seed = tmp_path / "seed.toml"
    seed.write_text(
        """
[[apps]]
name = "seeded"
certificate = "server.crt"
consumer_key = "3MVG9seeded.consumer.key.000000000"

[[users]]
username = "seed@acme.com"

[[authorizations]]
app = "seeded"
profile = "Integration User"

[[records.Account]]
Name = "Seeded Co"
"""
    )
    with Emulator(seed=seed) as sf, httpx.Client(base_url=sf.url) as client:
        org = Org(
            sf, key_pair, "3MVG9seeded.consumer.key.000000000", client, "seeded", "seed@acme.com"
        )
        token = org.login()
        q = org.api(
            "GET", "/services/data/v68.0/query", token, params={"q": "SELECT Name FROM Account"}
        )
        assert [r["Name"] for r in q.json()["records"]] == ["Seeded Co"]


def test_state_persists_across_restarts(tmp_path: Path, key_pair: KeyPair) -> None:
    state = tmp_path / "org.db"
    with Emulator(state=state) as sf:
        for org in make_org(sf, key_pair):
            token = org.login()
            org.api("POST", "/services/data/v68.0/sobjects/Account", token, json={"Name": "Kept"})
            consumer_key, org_id = org.consumer_key, sf.org_id
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    with Emulator(state=state) as sf, httpx.Client(base_url=sf.url) as client:
        assert sf.org_id == org_id
        org = Org(sf, key_pair, consumer_key, client)
        token = org.login()
        q = org.api(
            "GET", "/services/data/v68.0/query", token, params={"q": "SELECT Name FROM Account"}
        )
        assert q.json()["totalSize"] == 1
        assert sf.stats()["token_requests"]["ok"] == 2


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="validation"):
        EmulatorConfig(validation="lenient")


def test_pytest_fixture(salesforce_emulator: Emulator, key_pair: KeyPair) -> None:
    for org in make_org(salesforce_emulator, key_pair):
        assert org.login().startswith(salesforce_emulator.org_id)


def test_clock_refuses_non_finite_or_absurd_moves(fresh_org: Org) -> None:
    for value in ("nan", "inf", 1e12):
        response = fresh_org.client.post("/__emulator/clock", json={"advance_seconds": value})
        assert response.status_code == 400
    assert fresh_org.sf.clock.offset == 0
    with pytest.raises(ValueError, match="100 years"):
        fresh_org.sf.clock.advance(days=365 * 101)


def test_concurrent_logins_and_calls_are_all_counted(fresh_org: Org) -> None:
    from concurrent.futures import ThreadPoolExecutor

    org = fresh_org
    assertions = [org.mint() for _ in range(60)]

    def login_and_call(assertion: str) -> int:
        with httpx.Client(base_url=org.sf.url) as client:
            token = client.post(
                "/services/oauth2/token", data={"grant_type": GRANT, "assertion": assertion}
            )
            api = client.get(
                "/services/data/v68.0/",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            return api.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert set(pool.map(login_and_call, assertions)) == {200}
    stats = org.sf.stats()
    assert stats["token_requests"]["ok"] == 60
    assert stats["api_calls"] == 60
    assert stats["active_sessions"] == 60


def test_pytest_plugin_imports_lightly() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sfbearer.emulator.pytest_plugin; "
        "heavy = {'starlette', 'uvicorn', 'sqlite3', 'jwt', 'httpx'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
