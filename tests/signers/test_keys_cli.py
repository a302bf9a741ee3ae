"""``sfbearer keys new|show|check`` with signer URIs: a real SoftHSM token and moto's KMS.

The key is created in (or opened from) the vault, only ``server.crt`` is written, and that
certificate is signed by the vault key: ``openssl verify -check_ss_sig`` proves it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from sfbearer.assertion import decode_assertion
from sfbearer.signers import resolve_signer

from .conftest import USER_PIN, Kms, SoftHsm, openssl_verifies, private_key_object

pytest.importorskip("pkcs11")


def _cert_key_id(cert: Path) -> str:
    from sfbearer.signers import public_key_fingerprint

    public_key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    return public_key_fingerprint(public_key)  # type: ignore[arg-type]


def test_keys_new_creates_the_key_in_the_token_and_writes_only_the_certificate(
    softhsm: SoftHsm, run_cli, tmp_path: Path
) -> None:
    uri = softhsm.uri("cli-new", **{"pin-source": "env:HSM_PIN"})
    out = tmp_path / "keys"
    done = run_cli(
        "keys", "new", "--signer", uri, "--out-dir", out, "--common-name", "acme-hsm",
        env={"HSM_PIN": USER_PIN},
    )  # fmt: skip
    assert done.code == 0, done
    assert sorted(p.name for p in out.iterdir()) == ["server.crt"]  # no key file
    assert "created now" in done.stdout
    assert "PKCS#11" in done.stdout
    assert USER_PIN not in done.output
    cert = out / "server.crt"
    openssl_verifies(None, cert)
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    assert loaded.subject.rfc4514_string() == "CN=acme-hsm"
    signer = resolve_signer(uri, pin=USER_PIN)
    assert _cert_key_id(cert) == signer.key_id

    # The key in the token is sensitive and cannot be extracted.
    from pkcs11 import Attribute

    key, _ = private_key_object(softhsm, "cli-new")
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.SENSITIVE] is True

    # Again into the same directory: refused before anything happens.
    again = run_cli("keys", "new", "--signer", uri, "--out-dir", out, env={"HSM_PIN": USER_PIN})
    assert again.code == 78
    assert "already exists" in again.stderr
    # Into another directory: the existing key is certified, not replaced.
    other = run_cli(
        "--json", "keys", "new", "--signer", uri, "--out-dir", tmp_path / "second",
        env={"HSM_PIN": USER_PIN},
    )  # fmt: skip
    assert other.code == 0, other
    data = json.loads(other.stdout)
    assert data["key_created"] is False
    assert (
        data["public_key_sha256"] == signer.key_id == _cert_key_id(tmp_path / "second/server.crt")
    )


def test_keys_show_and_check_a_signer_uri(
    softhsm: SoftHsm, run_cli, tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    uri = softhsm.uri("cli-check", **{"pin-source": "env:HSM_PIN"})
    env = {"HSM_PIN": USER_PIN}
    assert run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path, env=env).code == 0
    cert = tmp_path / "server.crt"

    shown = run_cli("--json", "keys", "show", uri, env=env)
    assert shown.code == 0, shown
    info = json.loads(shown.stdout)
    assert info["key"] == "RSA 2048 bits"
    assert info["public_key_sha256"] == _cert_key_id(cert)
    assert "cli-check" in info["location"]

    checked = run_cli("--json", "keys", "check", "-f", uri, "--cert", cert, env=env)
    assert checked.code == 0, checked
    findings = {f["check"]: f["status"] for f in json.loads(checked.stdout)["findings"]}
    assert findings == {
        "signer": "ok",
        "signature": "ok",
        "certificate": "ok",
        "match": "ok",
        "validity": "ok",
    }

    # The certificate of another key: the match fails (exit 2).
    _, foreign_cert = key_files
    mismatch = run_cli("keys", "check", "-f", uri, "--cert", foreign_cert, env=env)
    assert mismatch.code == 2, mismatch
    assert "FAIL  match: the certificate does not belong to this signer" in mismatch.stdout

    # No --cert: a usage error, there is no file for the certificate to sit beside.
    assert run_cli("keys", "check", "-f", uri, env=env).code == 64


def test_a_wrong_pin_is_a_configuration_error_that_never_shows_the_pin(
    softhsm: SoftHsm, run_cli, tmp_path: Path
) -> None:
    uri = softhsm.uri("cli-new", **{"pin-source": "env:HSM_PIN"})
    done = run_cli("keys", "show", uri, env={"HSM_PIN": "0000-wrong"})
    assert done.code == 78, done
    assert "wrong PIN" in done.stderr
    assert "0000-wrong" not in done.output
    assert "Traceback" not in done.output
    checked = run_cli("keys", "check", "-f", uri, "--cert", tmp_path / "x.crt",
                      env={"HSM_PIN": "0000-wrong"})  # fmt: skip
    assert checked.code == 78
    assert "wrong PIN" in checked.stdout


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hidden prompt answers the PIN and records what it asked."""
    from sfbearer.cli import _passphrase

    asked: list[str] = []

    def answer(text: str) -> str:
        asked.append(text)
        return USER_PIN

    monkeypatch.setattr(_passphrase, "_hidden_prompt", answer)
    return asked


def test_the_pin_is_prompted_hidden_on_a_terminal_when_the_uri_has_no_pin_source(
    softhsm: SoftHsm, run_cli, tmp_path: Path, prompts: list[str]
) -> None:
    uri = softhsm.uri("cli-prompt")
    done = run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path, tty=True)
    assert done.code == 0, done
    assert prompts == ["User PIN for token 'sfbearer-main'"]
    assert USER_PIN not in done.output
    openssl_verifies(None, tmp_path / "server.crt")
    # Without a terminal there is nobody to ask: a clear error naming the fix. (The token
    # above is now logged in for this process's life, so ask one that never was.)
    again = run_cli("keys", "show", softhsm.uri("cli-prompt", token="sfbearer-locked"))
    assert again.code == 78
    assert "needs a PIN" in again.stderr
    assert "pin-source" in again.stderr


def test_assertion_new_prompts_for_the_pin_of_a_profile_signer(
    softhsm: SoftHsm, run_cli, prompts: list[str]
) -> None:
    uri = softhsm.uri("cli-prompt-2")
    from sfbearer.signers.pkcs11 import generate_pkcs11_key

    signer = generate_pkcs11_key(uri, 2048, pin=USER_PIN)
    done = run_cli(
        "assertion", "new", "-i", "3MVG9acme", "-o", "int@acme.com", "-f", uri,
        "-r", "production", tty=True,
    )  # fmt: skip
    assert done.code == 0, done
    assert len(prompts) == 1
    token = done.stdout.strip().splitlines()[-1]
    decoded = decode_assertion(token, certificate=signer.public_key())
    assert decoded.verified
    assert decoded.claims["sub"] == "int@acme.com"


def test_keys_new_signer_refuses_bad_combinations(run_cli, tmp_path: Path) -> None:
    bad = run_cli("keys", "new", "--signer", "server.key", "--out-dir", tmp_path)
    assert bad.code == 64
    assert "pkcs11: or awskms:" in bad.stderr
    both = run_cli(
        "keys", "new", "--signer", "awskms:alias/x", "--passphrase-env", "P", "--out-dir", tmp_path
    )
    assert both.code == 64
    assert "--passphrase-env" in both.stderr
    assert list(tmp_path.iterdir()) == []


def test_keys_new_with_a_kms_key(kms: Kms, run_cli, tmp_path: Path) -> None:
    key = kms.rsa_key("RSA_3072")
    kms.client.create_alias(AliasName="alias/sfbearer-cli", TargetKeyId=key["KeyId"])
    uri = "awskms:alias/sfbearer-cli?region=eu-west-1"
    done = run_cli("--json", "keys", "new", "--signer", uri, "--out-dir", tmp_path)
    assert done.code == 0, done
    data = json.loads(done.stdout)
    assert data["key_created"] is False
    assert data["key_size"] == 3072
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.crt"]
    openssl_verifies(None, tmp_path / "server.crt")
    checked = run_cli("keys", "check", "-f", uri, "--cert", tmp_path / "server.crt")
    assert checked.code == 0, checked
    assert "ok    signature: a test signature verifies" in checked.stdout

    missing = run_cli("keys", "new", "--signer", "awskms:alias/none?region=eu-west-1",
                      "--out-dir", tmp_path / "none")  # fmt: skip
    assert missing.code == 78
    assert "NotFoundException" in missing.stderr
    assert not (tmp_path / "none").exists()


def test_doctor_asks_for_the_pin_and_passes_with_an_hsm_key(
    softhsm: SoftHsm, run_cli, tmp_path: Path, prompts: list[str]
) -> None:
    from org_setup import integration
    from sfbearer.emulator import Emulator

    uri = softhsm.uri("cli-doctor")
    assert run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path, tty=True).code == 0
    with Emulator() as sf:
        cert = tmp_path / "server.crt"
        integration(sf, app="hsm", username="hsm@acme.com", cert=cert, key=uri, profile="hsm")
        prompts.clear()
        done = run_cli("doctor", "-p", "hsm", tty=True)
    assert done.code == 0, done
    assert prompts == ["User PIN for token 'sfbearer-main'"]
    assert "[ok  ] token" in done.stdout


def test_bad_input_is_refused_before_a_key_is_made_in_the_token(
    softhsm: SoftHsm, run_cli, tmp_path: Path
) -> None:
    from sfbearer._exceptions import SignerError

    uri = softhsm.uri("never-made", **{"pin-source": "env:HSM_PIN"})
    env = {"HSM_PIN": USER_PIN}
    blank = run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path / "a",
                    "--common-name", "", env=env)  # fmt: skip
    assert blank.code == 64, blank
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    nowhere = run_cli("keys", "new", "--signer", uri, "--out-dir", blocked / "sub", env=env)
    assert nowhere.code == 78, nowhere
    with pytest.raises(SignerError, match="no private key matches"):
        resolve_signer(uri, pin=USER_PIN)  # nothing was created in the token

    # An existing key is certified as it is; asking for a bigger one says so.
    made = run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path / "b", env=env)
    assert made.code == 0, made
    again = run_cli("keys", "new", "--signer", uri, "--out-dir", tmp_path / "c",
                    "--key-size", "4096", env=env)  # fmt: skip
    assert again.code == 0, again
    assert "the existing key has 2048 bits" in again.stderr
