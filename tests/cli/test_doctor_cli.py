"""`sfbearer doctor` against the real emulator: each real cause gives its diagnosis and exit code."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from org_setup import integration
from sfbearer.config import Profile, save_profile
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, write_key_pair

USER = "integration@doctor.example"
APP = "doctor-app"


@pytest.fixture
def sf() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def setup(sf: Emulator, key_files: tuple[Path, Path]):
    """A correctly set-up least-privilege integration; tests then break one thing."""

    def make(*, scopes: str = "api,refresh_token", authorize: bool = True, **profile_changes):
        key, cert = key_files
        app = sf.add_app(name=APP, certificate=cert, scopes=scopes)
        sf.add_user(username=USER)
        if authorize:
            sf.authorize(app=APP, user=USER)
        fields = {
            "name": "doc",
            "client_id": app.consumer_key,
            "username": USER,
            "environment": sf.url,
            "jwt_key_file": str(key),
            "cert_file": str(cert),
            **profile_changes,
        }
        save_profile(Profile(**fields), force=True)
        return app

    return make


def doctor(run_cli, *extra: str):
    result = run_cli("doctor", "-p", "doc", "--json", *extra)
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.code
    return result.code, {c["check"]: c for c in report["checks"]}


def test_a_least_privilege_integration_passes_with_0(run_cli, setup) -> None:
    setup()
    code, checks = doctor(run_cli)
    assert code == 0, checks
    for name in (
        "configuration",
        "key file",
        "key",
        "certificate",
        "environment",
        "clock",
        "token",
        "identity",
        "scopes",
        "limits",
    ):
        assert checks[name]["status"] == "ok", checks[name]
    assert "least privilege" in checks["scopes"]["message"]


def test_text_output_shows_each_check_and_a_summary(run_cli, setup) -> None:
    setup()
    result = run_cli("doctor", "-p", "doc")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[ok  ] configuration")
    assert lines[-1] == "doctor: all checks passed"


def test_user_not_pre_authorized(run_cli, setup) -> None:
    setup(authorize=False)
    code, checks = doctor(run_cli)
    assert code == 2
    token = checks["token"]
    assert token["status"] == "fail"
    assert "approved" in token["message"] or "admin approved" in token["message"]
    assert "pre-authorized" in token["hint"].lower() or "profile" in token["hint"].lower()


def test_wrong_audience(run_cli, setup) -> None:
    setup(audience="https://test.salesforce.com")
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"] == "invalid_grant: audience is invalid"
    assert "audience" in checks["token"]["hint"]


def test_certificate_of_another_key(
    run_cli, setup, sf: Emulator, tmp_path: Path, other_key_pair: KeyPair
) -> None:
    setup()
    _, other_cert = write_key_pair(other_key_pair, tmp_path / "other")
    sf.update_app(APP, certificate=other_cert)  # Salesforce holds another key's certificate
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"] == "invalid_grant: invalid assertion"
    assert "certificate" in checks["token"]["hint"]


def test_local_certificate_of_another_key(
    run_cli, setup, tmp_path: Path, other_key_pair: KeyPair
) -> None:
    _, other_cert = write_key_pair(other_key_pair, tmp_path / "other")
    setup(cert_file=str(other_cert))
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["certificate match"]["status"] == "fail"


def test_expired_certificate(
    run_cli, setup, sf: Emulator, key_pair: KeyPair, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key_pair.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now - dt.timedelta(days=2))
        .sign(key_pair.private_key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    path = tmp_path / "expired.crt"
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    setup(cert_file=str(path))
    sf.update_app(APP, certificate=path)
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["certificate validity"]["status"] == "fail"
    assert "expired" in checks["certificate validity"]["message"]
    assert "sfbearer certs rotate -p doc" in checks["certificate validity"]["hint"]


def test_world_readable_key(run_cli, setup, key_files: tuple[Path, Path]) -> None:
    setup()
    os.chmod(key_files[0], 0o644)
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["key file"]["status"] == "fail"
    assert f"chmod 600 {os.path.realpath(key_files[0])}" in checks["key file"]["hint"]
    assert checks["token"]["status"] == "skip"  # no login attempt with an unsafe key


def test_missing_refresh_token_scope(run_cli, setup) -> None:
    setup(scopes="api")
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"].startswith("invalid_request: refresh_token scope is required")


def test_inactive_user(run_cli, setup, sf: Emulator) -> None:
    setup()
    sf.update_user(USER, active=False)
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"] == "invalid_grant: authentication failure"


def test_login_rate_limit(run_cli, setup, sf: Emulator) -> None:
    setup()
    sf.faults.update(login_rate_exhausted=True)
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"] == "invalid_grant: login rate exceeded"
    assert "3,600" in checks["token"]["hint"] or "3600" in checks["token"]["hint"]


def test_unknown_consumer_key(run_cli, setup) -> None:
    setup(client_id="3MVG9" + "x" * 80)
    code, checks = doctor(run_cli)
    assert code == 2
    assert checks["token"]["message"] == "invalid_client_id: client identifier invalid"
    assert "Consumer Key" in checks["token"]["hint"]


def test_broad_scopes_are_a_warning(run_cli, setup) -> None:
    setup(scopes="api,refresh_token,full,web")
    code, checks = doctor(run_cli)
    assert code == 1
    assert checks["scopes"]["status"] == "warn"
    assert "full" in checks["scopes"]["message"]
    assert "web" in checks["scopes"]["message"]


def test_sandbox_username_against_production_is_a_warning(run_cli, setup, sf: Emulator) -> None:
    setup(username="integration@acme.com.uat", audience="https://login.salesforce.com")
    code, checks = doctor(run_cli)
    assert checks["environment"]["status"] == "warn"
    assert "sandbox" in checks["environment"]["message"]
    assert code == 2  # the user does not exist in this org either


def test_unreachable_is_3(run_cli, setup, sf: Emulator) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    setup(environment=f"http://127.0.0.1:{port}")
    code, checks = doctor(run_cli)
    assert code == 3
    assert checks["clock"]["status"] == "unreachable"


def test_missing_profile_is_a_failed_configuration_check(run_cli) -> None:
    result = run_cli("doctor", "-p", "nope", "--json")
    report = json.loads(result.stdout)
    assert result.code == 2
    assert report["checks"][0]["check"] == "configuration"
    assert report["checks"][0]["status"] == "fail"


def test_probe_audiences_says_what_it_spends_and_finds_the_right_one(
    run_cli, setup, sf: Emulator
) -> None:
    setup(audience="https://test.salesforce.com")
    result = run_cli("doctor", "-p", "doc", "--probe-audiences")
    # the configured audience (test), login, and the org's own URL: 3 distinct candidates
    assert "this spends 3 login attempts" in result.stderr
    accepted = [line for line in result.stdout.splitlines() if "accepted" in line]
    assert any("https://login.salesforce.com" in line for line in accepted)
    assert any(sf.url in line for line in accepted)
    assert sf.stats()["token_requests"]["failed"] >= 2


def test_an_encrypted_key_is_opened_with_a_prompted_passphrase(
    run_cli, setup, key_pair: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfbearer.cli import _passphrase

    key, cert = write_key_pair(key_pair, tmp_path / "enc", passphrase="s3cret-canary")
    setup(jwt_key_file=str(key), cert_file=str(cert))
    asked: list[str] = []
    monkeypatch.setattr(
        _passphrase, "_hidden_prompt", lambda text: asked.append(text) or "s3cret-canary"
    )
    result = run_cli("doctor", "-p", "doc", tty=True)
    assert result.code == 0, result
    assert len(asked) == 1
    assert "s3cret-canary" not in result.output
    # Without a terminal nobody is asked, and the key check says what is missing.
    asked.clear()
    code, checks = doctor(run_cli)
    assert asked == []
    assert code == 2
    assert checks["key"]["status"] == "fail", checks
    assert "passphrase" in checks["key"]["message"]


def test_the_certificate_can_be_named_by_flag_or_variable(
    run_cli, setup, key_pair: KeyPair, tmp_path: Path
) -> None:
    # The key alone in one directory, its certificate somewhere else.
    key_dir, cert_dir = tmp_path / "k", tmp_path / "c"
    key, cert = write_key_pair(key_pair, key_dir)
    cert_dir.mkdir()
    moved = cert_dir / "uploaded.crt"
    cert.rename(moved)
    setup(jwt_key_file=str(key), cert_file=None)
    code, checks = doctor(run_cli)
    assert checks["certificate"]["status"] == "fail"
    assert code == 2
    code, checks = doctor(run_cli, "--cert", str(moved))
    assert code == 0, checks
    assert checks["certificate"]["status"] == "ok"
    by_env = run_cli("doctor", "-p", "doc", env={"SFBEARER_CERT_FILE": str(moved)})
    assert by_env.code == 0, by_env


def test_a_token_endpoint_outage_is_unknown_not_failed(run_cli, setup, sf: Emulator) -> None:
    setup()
    sf.faults.update(error_rate=1.0, error_status=503, retry_after=0, scope="token")
    code, checks = doctor(run_cli)
    assert checks["token"]["status"] == "unreachable", checks["token"]
    assert code == 3


def test_an_unusable_ca_bundle_is_a_check_with_its_path_and_fix(
    run_cli, setup, tmp_path: Path
) -> None:
    setup()
    missing = tmp_path / "nope.pem"
    assert doctor(run_cli)[0] == 0
    result = run_cli("doctor", "-p", "doc", "--json", env={"SFBEARER_CA_BUNDLE": str(missing)})
    report = json.loads(result.stdout)
    found = {c["check"]: c for c in report["checks"]}
    assert result.code == 2
    assert str(missing) in found["connection settings"]["message"]
    assert "PEM" in found["connection settings"]["hint"]
    assert found["token"]["status"] == "skip"


def test_an_untrusted_tls_certificate_is_named_not_called_unreachable(
    run_cli, key_files: tuple[Path, Path]
) -> None:
    key, cert = key_files
    with Emulator(tls=True) as tls:
        integration(tls, app=APP, username=USER, cert=cert, key=key, profile="tls")
        result = run_cli("doctor", "-p", "tls")
        assert result.code == 3, result
        assert "is not trusted" in result.stdout
        assert "not attempted: its TLS certificate is not trusted" in result.stdout
        trusted = run_cli("doctor", "-p", "tls", env={"SFBEARER_CA_BUNDLE": str(tls.ca_path)})
        assert trusted.code == 0, trusted


def test_an_unsafe_encrypted_key_is_refused_without_asking_its_passphrase(
    run_cli, setup, key_pair: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfbearer.cli import _passphrase

    key, cert = write_key_pair(key_pair, tmp_path / "loose", passphrase="s3cret-canary")
    os.chmod(key, 0o644)
    setup(jwt_key_file=str(key), cert_file=str(cert))
    asked: list[str] = []
    monkeypatch.setattr(_passphrase, "_hidden_prompt", lambda text: asked.append(text) or "x")
    result = run_cli("doctor", "-p", "doc", tty=True)
    assert asked == []
    assert result.code == 2
    assert "0644" in result.stdout
    token = run_cli("token", "-p", "doc", tty=True)
    assert asked == []
    assert token.code == 78
    assert "0644" in token.stderr
