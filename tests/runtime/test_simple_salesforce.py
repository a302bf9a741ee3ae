"""simple-salesforce on sfbearer's credentials, against the emulator over TLS (real sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sfbearer.credentials import JWTBearerCredentials
from sfbearer.emulator import Emulator
from sfbearer.integrations.simple_salesforce import connect
from sfbearer.keys import KeyPair

USERNAME = "integration@acme.com"


@pytest.fixture
def tls_org(key_pair: KeyPair) -> Iterator[tuple[Emulator, JWTBearerCredentials]]:
    with Emulator(tls=True) as sf:
        app = sf.add_app(name="ss", certificate=key_pair.certificate)
        sf.add_user(username=USERNAME)
        sf.authorize(app="ss", profile="Integration User")
        sf.records.create("Account", {"Name": "Acme"})
        creds = JWTBearerCredentials(
            client_id=app.consumer_key,
            username=USERNAME,
            private_key=key_pair.private_key,
            environment=sf.url,
            ca_bundle=str(sf.ca_path),
        )
        with creds:
            yield sf, creds


def test_connect_queries_and_renews_an_expired_session(tls_org, monkeypatch) -> None:
    sf, creds = tls_org
    # requests lets these variables override a session's own CA bundle
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sf.ca_path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    session = requests.Session()
    client = connect(creds, version="68.0", session=session)
    assert client.query("SELECT Name FROM Account")["records"][0]["Name"] == "Acme"
    old = client.session_id
    sf.revoke_sessions()
    assert client.query("SELECT Name FROM Account")["totalSize"] == 1
    assert client.session_id != old  # simple-salesforce's own view follows the renewal
    stats = sf.stats()["token_requests"]
    assert stats["ok"] == 2
    session.close()
