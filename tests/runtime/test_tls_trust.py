"""An untrusted TLS certificate is named as such, with the fix — never "could not reach"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from org_setup import integration
from sfbearer import JWTBearerCredentials, TransportError
from sfbearer.emulator import Emulator
from sfbearer.keys import load_private_key

USER = "tls@acme.example"


@pytest.fixture
def tls_org(key_files: tuple[Path, Path]) -> Iterator[tuple[Emulator, str]]:
    with Emulator(tls=True) as sf:
        yield sf, integration(sf, app="tls", username=USER, cert=key_files[1])


def test_the_token_exchange_names_the_untrusted_certificate_and_does_not_retry(
    tls_org: tuple[Emulator, str], key_files: tuple[Path, Path]
) -> None:
    sf, client_id = tls_org
    sleeps: list[float] = []
    creds = JWTBearerCredentials(
        client_id=client_id,
        username=USER,
        private_key=load_private_key(key_files[0]),
        environment=sf.url,
        sleep=sleeps.append,
    )
    with creds, pytest.raises(TransportError) as info:
        creds.token()
    assert "TLS certificate of 127.0.0.1 is not trusted" in info.value.message
    assert "SFBEARER_CA_BUNDLE" in info.value.hint
    assert sleeps == []  # a trust problem is not retried
    assert sf.stats()["token_requests"]["ok"] == 0
    # With the CA trusted, the same credentials work.
    trusted = JWTBearerCredentials(
        client_id=client_id,
        username=USER,
        private_key=load_private_key(key_files[0]),
        environment=sf.url,
        ca_bundle=str(sf.ca_path),
    )
    with trusted:
        assert trusted.token().instance_url == sf.url


def test_rest_transport_errors_name_the_untrusted_certificate(
    tls_org: tuple[Emulator, str],
) -> None:
    import httpx

    from sfbearer._rest import transport_error

    sf, _ = tls_org
    with pytest.raises(httpx.ConnectError) as raised:
        httpx.get(sf.url + "/services/data/")  # the system store does not know the local CA
    error = transport_error(raised.value, sf.url)
    assert error.message.startswith("the TLS certificate of 127.0.0.1 is not trusted")
    refused = transport_error(httpx.ConnectError("connection refused"), "https://127.0.0.1:1")
    assert refused.message == "could not reach 127.0.0.1: ConnectError"


def test_cli_token_and_emulator_admin_say_what_is_wrong(
    tls_org: tuple[Emulator, str], key_files: tuple[Path, Path], run_cli
) -> None:
    sf, client_id = tls_org
    args = ("token", "-i", client_id, "-o", USER, "-f", key_files[0], "-r", sf.url)
    untrusted = run_cli(*args)
    assert untrusted.code == 3, untrusted
    assert "not trusted" in untrusted.stderr
    assert "SFBEARER_CA_BUNDLE" in untrusted.stderr
    assert "could not reach" not in untrusted.stderr
    trusted = run_cli(*args, env={"SFBEARER_CA_BUNDLE": str(sf.ca_path)})
    assert trusted.code == 0, trusted

    admin = run_cli("emulator", "stats", "--url", sf.url)
    assert admin.code != 0
    assert "not trusted" in admin.stderr
    assert "--ca" in admin.stderr
    assert run_cli("emulator", "stats", "--url", sf.url, "--ca", sf.ca_path).code == 0
