"""A certificate, CSR or public key passed as the private key is named for what it is before
its file mode is looked at: ``chmod 600`` would not make it the right file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cli_result import RunCli
from sfbearer import KeyFileError, load_private_key
from sfbearer.keys import KeyPair

USER = "wrongfile@acme.example"


def _public_files(tmp_path: Path, key_pair: KeyPair) -> dict[str, Path]:
    """The public things people mistake for the key, each world-readable (0644)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(key_pair.private_key, hashes.SHA256())
    )
    public = key_pair.private_key.public_key()
    contents = {
        "certificate": key_pair.certificate.public_bytes(serialization.Encoding.PEM),
        "der-certificate": key_pair.certificate.public_bytes(serialization.Encoding.DER),
        "csr": csr.public_bytes(serialization.Encoding.PEM),
        "public-key": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh-public-key": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }
    files = {}
    for name, data in contents.items():
        path = tmp_path / f"{name}.pem"
        path.write_bytes(data)
        os.chmod(path, 0o644)
        files[name] = path
    return files


_KINDS = {
    "certificate": "holds a certificate, not a private key",
    "der-certificate": "holds a certificate, not a private key",
    "csr": "holds a certificate signing request, not a private key",
    "public-key": "holds a public key, not a private key",
    "openssh-public-key": "holds an OpenSSH public key, not a private key",
}


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_the_library_names_the_wrong_file_before_its_mode(
    tmp_path: Path, key_pair: KeyPair, kind: str
) -> None:
    path = _public_files(tmp_path, key_pair)[kind]
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path)
    assert _KINDS[kind] in caught.value.message
    assert "chmod" not in caught.value.hint
    assert "mode" not in caught.value.message


def test_a_private_key_with_a_loose_mode_is_still_refused_for_its_mode(
    key_files: tuple[Path, Path],
) -> None:
    key, _ = key_files
    os.chmod(key, 0o644)
    with pytest.raises(KeyFileError, match="mode 0644"):
        load_private_key(key)


def test_keys_check_reports_the_certificate_not_its_mode(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    assert os.stat(cert).st_mode & 0o077  # 0644, as keys new writes it
    result = run_cli("keys", "check", "-f", cert, "--cert", cert)
    assert result.code == 2, result
    assert "holds a certificate, not a private key" in result.stdout
    assert "chmod" not in result.output
    assert "permissions" not in result.stdout


@pytest.mark.parametrize("command", ["assertion", "init"])
def test_assertion_and_init_refuse_the_certificate_first(
    run_cli: RunCli, key_files: tuple[Path, Path], command: str
) -> None:
    _, cert = key_files
    connection = ("-i", "3MVG9x", "-o", USER, "-f", cert, "-r", "production")
    argv = (
        ("assertion", "new", *connection) if command == "assertion" else ("init", "w", *connection)
    )
    result = run_cli(*argv)
    assert result.code == 78, result
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert "holds a certificate, not a private key" in lines[0]
    assert lines[1] == "hint: pass the private key (server.key); the certificate goes to Salesforce"
    assert "chmod" not in result.stderr


def test_openssl_output_is_recognised_too(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    """A DER certificate as openssl writes it (not only as cryptography does)."""
    _, cert = key_files
    der = tmp_path / "server.der"
    try:
        subprocess.run(
            ["openssl", "x509", "-in", cert, "-outform", "DER", "-out", der],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        pytest.skip("openssl is not installed")
    with pytest.raises(KeyFileError, match="holds a certificate"):
        load_private_key(der)
