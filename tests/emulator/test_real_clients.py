"""Real clients against the emulator over TLS: simple-salesforce's own JWT login and its REST calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, write_key_pair

requests = pytest.importorskip("requests")
simple_salesforce = pytest.importorskip("simple_salesforce")


class LoopbackAdapter(requests.adapters.HTTPAdapter):  # type: ignore[misc]
    """Sends requests for a hard-wired Salesforce host to the emulator's loopback port."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)

    def send(self, request: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        request.url = urlunsplit((parts.scheme, self.target.netloc, parts.path, parts.query, ""))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Emulator]:
    with Emulator(tls=True) as sf:
        yield sf


@pytest.fixture
def configured(
    tls_emulator: Emulator, key_pair: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulator, str, Path]:
    # As a user would: trust the emulator's CA (requests prefers this over Session.verify).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_emulator.ca_path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = tls_emulator.add_app(name="simple", certificate=key_pair.certificate)
    tls_emulator.add_user(username="simple@acme.com")
    tls_emulator.authorize(app="simple", user="simple@acme.com")
    key_path, _ = write_key_pair(key_pair, tmp_path / "keys")
    return tls_emulator, app.consumer_key, key_path


def _session(sf: Emulator) -> Any:
    session = requests.Session()
    session.verify = str(sf.ca_path)
    adapter = LoopbackAdapter(sf.url)
    session.mount("https://login.salesforce.com", adapter)
    return session


def test_tls_serves_with_its_ca(tls_emulator: Emulator) -> None:
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    assert tls_emulator.ca_pem is not None
    assert tls_emulator.ca_pem.startswith(b"-----BEGIN CERTIFICATE")
    response = requests.get(
        tls_emulator.url + "/services/data/", verify=str(tls_emulator.ca_path), timeout=10
    )
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_emulator.url + "/services/data/", timeout=10)  # not trusted by default


def _crud(sf: Any) -> None:
    created = sf.Account.create({"Name": "Simple Co"})
    assert created["success"] is True
    record_id = created["id"]
    assert sf.Account.update(record_id, {"Name": "Simple Co 2"}) == 204
    assert sf.Account.get(record_id)["Name"] == "Simple Co 2"
    result = sf.query(f"SELECT Id, Name FROM Account WHERE Id = '{record_id}'")
    assert result["totalSize"] == 1
    assert result["records"][0]["Name"] == "Simple Co 2"
    assert sf.Account.delete(record_id) == 204
    assert sf.query(f"SELECT Id FROM Account WHERE Id = '{record_id}'")["totalSize"] == 0
    assert (
        sf.query_all(f"SELECT Id FROM Account WHERE Id = '{record_id}'", include_deleted=True)[
            "totalSize"
        ]
        == 1
    )


def test_simple_salesforce_own_jwt_login(configured: tuple[Emulator, str, Path]) -> None:
    emulator, consumer_key, key_path = configured
    sf = simple_salesforce.Salesforce(
        username="simple@acme.com",
        consumer_key=consumer_key,
        privatekey_file=str(key_path),
        session=_session(emulator),
    )
    assert sf.session_id.startswith(emulator.org_id + "!")
    assert sf.sf_instance == urlsplit(emulator.url).netloc
    _crud(sf)
    assert emulator.stats()["token_requests"]["by_user"]["simple@acme.com"] >= 1


def test_simple_salesforce_with_our_session(configured: tuple[Emulator, str, Path]) -> None:
    import httpx
    import jwt

    emulator, consumer_key, _ = configured
    claims = {
        "iss": consumer_key,
        "sub": "simple@acme.com",
        "aud": emulator.url,
        "exp": int(emulator.clock.now()) + 120,
    }
    from .conftest import GRANT

    assertion = jwt.encode(claims, configured_key(configured), algorithm="RS256")
    import ssl

    trust = ssl.create_default_context(cafile=str(emulator.ca_path))
    token = httpx.post(
        emulator.token_url, data={"grant_type": GRANT, "assertion": assertion}, verify=trust
    ).json()
    session = requests.Session()
    session.verify = str(emulator.ca_path)
    sf = simple_salesforce.Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session
    )
    _crud(sf)


def test_simple_salesforce_sees_authentication_failure(
    configured: tuple[Emulator, str, Path],
) -> None:
    emulator, _, key_path = configured
    with pytest.raises(
        simple_salesforce.exceptions.SalesforceAuthenticationFailed, match="invalid_client_id"
    ):
        simple_salesforce.Salesforce(
            username="simple@acme.com",
            consumer_key="3MVG9-not-registered-anywhere",
            privatekey_file=str(key_path),
            session=_session(emulator),
        )


def configured_key(configured: tuple[Emulator, str, Path]) -> Any:
    from sfbearer.keys import load_private_key

    return load_private_key(configured[2])
