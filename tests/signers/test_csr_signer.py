"""``sfbearer keys csr -f URI``: a certificate signing request signed inside the vault.

The request is checked by ``openssl req -verify``, a verifier independent of ours, and its
public key must be the vault key's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from sfbearer.signers import public_key_fingerprint

from .conftest import USER_PIN, Kms, SoftHsm, require_service

pytest.importorskip("pkcs11")


def _openssl_req_verifies(path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        require_service("openssl", "the openssl command is not installed")
    assert openssl is not None
    done = subprocess.run(
        [openssl, "req", "-in", str(path), "-noout", "-verify"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verify OK" in done.stdout + done.stderr


def test_keys_csr_with_an_hsm_key(softhsm: SoftHsm, hsm_signer, run_cli, tmp_path: Path) -> None:
    uri = softhsm.uri("sfbearer-jwt", **{"pin-source": "env:HSM_PIN"})
    out = tmp_path / "server.csr"
    done = run_cli(
        "keys", "csr", "-f", uri, "--common-name", "acme-hsm", "--out", out,
        env={"HSM_PIN": USER_PIN},
    )  # fmt: skip
    assert done.code == 0, done
    assert USER_PIN not in done.output
    assert "keys check -f 'pkcs11:" in done.stderr
    _openssl_req_verifies(out)
    request = x509.load_pem_x509_csr(out.read_bytes())
    assert request.subject.rfc4514_string() == "CN=acme-hsm"
    assert public_key_fingerprint(request.public_key()) == hsm_signer.key_id  # type: ignore[arg-type]
    printed = run_cli(
        "keys", "csr", "-f", uri, "--common-name", "acme-hsm", env={"HSM_PIN": USER_PIN}
    )
    assert printed.code == 0, printed
    assert printed.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----")


def test_keys_csr_with_a_kms_key(kms: Kms, run_cli, tmp_path: Path) -> None:
    key = kms.rsa_key()
    out = tmp_path / "server.csr"
    done = run_cli(
        "keys", "csr", "-f", f"awskms:{key['KeyId']}", "--common-name", "acme-kms", "--out", out
    )
    assert done.code == 0, done
    _openssl_req_verifies(out)
    assert x509.load_pem_x509_csr(out.read_bytes()).subject.rfc4514_string() == "CN=acme-kms"


def test_keys_csr_with_a_signer_refuses_organization(
    softhsm: SoftHsm, run_cli, tmp_path: Path
) -> None:
    out = tmp_path / "server.csr"
    refused = run_cli(
        "keys", "csr", "-f", softhsm.uri("sfbearer-jwt"), "--common-name", "acme",
        "--organization", "Acme", "--out", out,
    )  # fmt: skip
    assert refused.code == 64, refused
    assert "--organization" in refused.stderr
    assert "signer" in refused.stderr
    assert "hint:" in refused.stderr
    assert not out.exists()


def test_keys_csr_with_an_unknown_hsm_object_is_a_signer_error(
    softhsm: SoftHsm, run_cli, tmp_path: Path
) -> None:
    uri = softhsm.uri("no-such-key", **{"pin-source": "env:HSM_PIN"})
    out = tmp_path / "server.csr"
    failed = run_cli(
        "keys", "csr", "-f", uri, "--common-name", "acme", "--out", out, env={"HSM_PIN": USER_PIN}
    )
    assert failed.code == 78, failed
    assert "not found: pkcs11" not in failed.stderr  # the vault is asked, not the file system
    assert "Traceback" not in failed.output
    assert "hint:" in failed.stderr
    assert not out.exists()
