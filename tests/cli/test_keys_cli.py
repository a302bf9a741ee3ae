"""``sfbearer keys ...`` end to end: real files, real permissions, exit codes, no secrets."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sfbearer.cli import _passphrase
from sfbearer.keys import (
    KeyPair,
    load_certificate,
    load_private_key,
    make_self_signed_certificate,
    private_key_pem,
)
from sfbearer.signers import public_key_fingerprint

from .conftest import CliResult, RunCli

SECRET = "pass-CANARY-51c0"


def _ok(result: CliResult, code: int = 0) -> CliResult:
    assert result.code == code, result
    assert "Traceback" not in result.output
    return result


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


# -- keys new ---------------------------------------------------------------------------------


def test_new_writes_key_and_certificate(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "fresh" / "keys"
    result = _ok(
        run_cli("keys", "new", "--out-dir", out, "--common-name", "acme-int", "--days", "90")
    )
    key, cert = out / "server.key", out / "server.crt"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    info = load_certificate(cert)
    assert info.subject == "CN=acme-int"
    assert 89 <= info.days_left <= 90
    assert info.sha256_fingerprint in result.stdout
    assert info.sha1_fingerprint in result.stdout
    assert info.not_after.strftime("%Y-%m-%d") in result.stdout
    assert "upload" in result.stderr
    assert "Use digital signatures" in result.stderr
    assert "PRIVATE KEY" not in result.output


def test_new_json_and_key_size(run_cli: RunCli, tmp_path: Path) -> None:
    result = _ok(run_cli("--json", "keys", "new", "--out-dir", tmp_path, "--key-size", "3072"))
    data = json.loads(result.stdout)
    assert data["key_size"] == 3072
    assert data["encrypted"] is False
    assert data["key"] == str(tmp_path / "server.key")
    assert load_private_key(tmp_path / "server.key").key_size == 3072
    assert data["public_key_sha256"] == public_key_fingerprint(
        load_certificate(tmp_path / "server.crt").certificate.public_key()  # type: ignore[arg-type]
    )


def test_new_refuses_to_overwrite_without_force(run_cli: RunCli, tmp_path: Path) -> None:
    _ok(run_cli("keys", "new", "--out-dir", tmp_path))
    before = (tmp_path / "server.key").read_bytes()
    result = _ok(run_cli("keys", "new", "--out-dir", tmp_path), 78)
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "server.key").read_bytes() == before
    _ok(run_cli("keys", "new", "--out-dir", tmp_path, "--force"))
    assert (tmp_path / "server.key").read_bytes() != before
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600


def test_new_encrypted_with_passphrase_env(run_cli: RunCli, tmp_path: Path) -> None:
    result = _ok(
        run_cli(
            "keys",
            "new",
            "--out-dir",
            tmp_path,
            "--passphrase-env",
            "MY_PASS",
            env={"MY_PASS": SECRET},
        )
    )
    assert SECRET not in result.output
    assert "encrypted" in result.stdout
    data = (tmp_path / "server.key").read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_private_key(tmp_path / "server.key", SECRET).key_size == 2048


def test_new_encrypted_with_default_passphrase_variable(run_cli: RunCli, tmp_path: Path) -> None:
    _ok(run_cli("keys", "new", "--out-dir", tmp_path, env={"SFBEARER_KEY_PASSPHRASE": SECRET}))
    assert load_private_key(tmp_path / "server.key", SECRET).key_size == 2048


def test_new_passphrase_env_unset_is_a_configuration_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = _ok(run_cli("keys", "new", "--out-dir", tmp_path, "--passphrase-env", "NOPE"), 78)
    assert "NOPE" in result.stderr
    assert not (tmp_path / "server.key").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--days", "0"], 64),
        (["--days", "abc"], 64),
        (["--key-size", "1024"], 64),
        (["--common-name", "x" * 65], 78),
        (["--bogus"], 64),
    ],
)
def test_new_bad_arguments(run_cli: RunCli, tmp_path: Path, args: list[str], code: int) -> None:
    result = _ok(run_cli("keys", "new", "--out-dir", tmp_path / "k", *args), code)
    assert result.stderr.count("error:") == 1
    assert not (tmp_path / "k" / "server.key").exists()


def test_new_without_out_dir_is_a_usage_error(run_cli: RunCli) -> None:
    result = _ok(run_cli("keys", "new"), 64)
    assert "--out-dir" in result.stderr


def test_new_out_dir_is_a_file(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    _ok(run_cli("keys", "new", "--out-dir", tmp_path / "f"), 64)


# -- keys show --------------------------------------------------------------------------------


def test_show_certificate(run_cli: RunCli, key_files: tuple[Path, Path], key_pair: KeyPair) -> None:
    result = _ok(run_cli("keys", "show", key_files[1]))
    info = key_pair.certificate_info
    for expected in (
        "X.509 certificate",
        "RSA 2048 bits",
        "CN=sfbearer-test",
        "self-signed",
        format(info.serial, "x"),
        info.sha256_fingerprint,
        info.sha1_fingerprint,
        "days left:",
        "valid",
    ):
        assert expected in result.stdout


def test_show_der_certificate_json(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    der = _write(
        tmp_path / "c.der", key_pair.certificate.public_bytes(serialization.Encoding.DER), 0o644
    )
    data = json.loads(_ok(run_cli("keys", "show", der, "--json")).stdout)
    assert data["subject"] == "CN=sfbearer-test"
    assert data["sha256_fingerprint"] == key_pair.certificate_info.sha256_fingerprint
    assert data["status"] == "valid"


def test_show_private_key_never_prints_key_bytes(
    run_cli: RunCli, key_files: tuple[Path, Path], key_pair: KeyPair
) -> None:
    result = _ok(run_cli("keys", "show", key_files[0]))
    fingerprint = public_key_fingerprint(key_pair.private_key.public_key())
    assert "RSA private key" in result.stdout
    assert "2048" in result.stdout
    assert fingerprint in result.stdout
    assert "0600" in result.stdout
    body = private_key_pem(key_pair.private_key).decode().splitlines()[1]
    assert body not in result.output
    assert "BEGIN" not in result.output
    # the certificate shows the same public key fingerprint, so the pair can be matched by eye
    assert fingerprint in run_cli("keys", "show", key_files[1]).stdout


def test_show_unsafe_key_reports_the_mode(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    os.chmod(key_files[0], 0o644)
    result = _ok(run_cli("keys", "show", key_files[0]))
    assert "0644 (unsafe: chmod 600)" in result.stdout


def test_show_encrypted_key(
    run_cli: RunCli, tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _write(tmp_path / "enc.key", private_key_pem(key_pair.private_key, SECRET))
    ok = _ok(run_cli("keys", "show", key, "--passphrase-env", "P", env={"P": SECRET}))
    assert "encrypted:" in ok.stdout
    assert "yes" in ok.stdout
    assert SECRET not in ok.output
    missing = _ok(run_cli("keys", "show", key))  # what the file shows without it
    assert "unavailable" in missing.stdout
    assert "--passphrase-env" in missing.stderr
    wrong = _ok(
        run_cli("keys", "show", key, env={"SFBEARER_KEY_PASSPHRASE": "wrong-" + SECRET}), 78
    )
    assert "wrong passphrase" in wrong.stderr
    assert SECRET not in wrong.output
    prompts: list[str] = []
    monkeypatch.setattr(_passphrase, "_hidden_prompt", lambda text: prompts.append(text) or SECRET)
    prompted = _ok(run_cli("keys", "show", key, tty=True))
    assert prompts == [f"Passphrase for {key}"]
    assert SECRET not in prompted.output


def test_show_public_key(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    pub = key_pair.private_key.public_key()
    path = _write(
        tmp_path / "pub.pem",
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        0o644,
    )
    result = _ok(run_cli("keys", "show", path))
    assert "RSA public key" in result.stdout
    assert public_key_fingerprint(pub) in result.stdout


@pytest.mark.parametrize("content", [b"hello", b"-----BEGIN FOO-----\nx\n-----END FOO-----\n", b""])
def test_show_not_a_key(run_cli: RunCli, tmp_path: Path, content: bytes) -> None:
    result = _ok(run_cli("keys", "show", _write(tmp_path / "x", content)), 78)
    assert "not a key or a certificate" in result.stderr


def test_show_missing_file_and_directory(run_cli: RunCli, tmp_path: Path) -> None:
    assert "not found" in _ok(run_cli("keys", "show", tmp_path / "nope"), 78).stderr
    assert "directory" in _ok(run_cli("keys", "show", tmp_path), 78).stderr


# -- keys check -------------------------------------------------------------------------------


def test_check_all_good(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    result = _ok(run_cli("keys", "check", "--jwt-key-file", key_files[0], "--cert", key_files[1]))
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("ok") for line in lines)


def test_check_defaults_to_the_certificate_beside_the_key(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    result = _ok(run_cli("keys", "check", "-f", key_files[0]))
    assert "match: the certificate carries" in result.stdout


def test_check_unsafe_permissions(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    os.chmod(key_files[0], 0o644)
    result = _ok(run_cli("keys", "check", "-f", key_files[0]), 2)
    line = next(x for x in result.stdout.splitlines() if "permissions" in x)
    assert line.startswith("FAIL")
    assert f"chmod 600 {os.path.realpath(key_files[0])}" in line


def test_check_kubernetes_style_symlink(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    stamp = tmp_path / "..2026_12_01"
    stamp.mkdir()
    _write(stamp / "server.key", private_key_pem(key_pair.private_key), 0o400)
    _write(stamp / "server.crt", key_pair.certificate_info.pem(), 0o444)
    (tmp_path / "..data").symlink_to(stamp.name)
    for name in ("server.key", "server.crt"):
        (tmp_path / name).symlink_to(f"..data/{name}")
    _ok(run_cli("keys", "check", "-f", tmp_path / "server.key"))


def test_check_mismatch(
    run_cli: RunCli, key_files: tuple[Path, Path], other_key_pair: KeyPair, tmp_path: Path
) -> None:
    other = _write(tmp_path / "other.crt", other_key_pair.certificate_info.pem(), 0o644)
    result = _ok(run_cli("keys", "check", "-f", key_files[0], "--cert", other), 2)
    assert "FAIL  match" in result.stdout


def test_check_expiring_soon_is_a_warning(
    run_cli: RunCli, key_files: tuple[Path, Path], key_pair: KeyPair, tmp_path: Path
) -> None:
    soon = make_self_signed_certificate(key_pair.private_key, days=7)
    cert = _write(tmp_path / "soon.crt", soon.public_bytes(serialization.Encoding.PEM), 0o644)
    result = _ok(run_cli("keys", "check", "-f", key_files[0], "--cert", cert), 1)
    assert "WARN  validity" in result.stdout
    _ok(run_cli("keys", "check", "-f", key_files[0], "--cert", cert, "--warn-days", "3"))


def test_check_expired_fails(
    run_cli: RunCli, key_files: tuple[Path, Path], key_pair: KeyPair, tmp_path: Path
) -> None:
    old = make_self_signed_certificate(
        key_pair.private_key, days=30, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    )
    cert = _write(tmp_path / "old.crt", old.public_bytes(serialization.Encoding.PEM), 0o644)
    result = _ok(run_cli("keys", "check", "-f", key_files[0], "--cert", cert), 2)
    assert "expired on" in result.stdout


def test_check_missing_files_exit_78(run_cli: RunCli, tmp_path: Path) -> None:
    result = _ok(run_cli("keys", "check", "-f", tmp_path / "none.key"), 78)
    assert result.stdout.count("FAIL") == 3


def test_check_json(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    os.chmod(key_files[0], 0o640)
    result = _ok(run_cli("keys", "check", "-f", key_files[0], "--json"), 2)
    data = json.loads(result.stdout)
    assert data["exit_code"] == 2
    assert data["findings"][0]["status"] == "fail"
    assert data["findings"][0]["hint"].startswith("chmod 600 ")


def test_check_encrypted_key(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    _write(tmp_path / "server.key", private_key_pem(key_pair.private_key, SECRET))
    _write(tmp_path / "server.crt", key_pair.certificate_info.pem(), 0o644)
    result = _ok(
        run_cli(
            "keys", "check", "-f", tmp_path / "server.key", env={"SFBEARER_KEY_PASSPHRASE": SECRET}
        )
    )
    assert SECRET not in result.output
    no_pass = _ok(run_cli("keys", "check", "-f", tmp_path / "server.key"), 78)
    assert "no passphrase" in no_pass.stdout


def test_check_requires_the_key(run_cli: RunCli) -> None:
    _ok(run_cli("keys", "check"), 64)


# -- keys csr ---------------------------------------------------------------------------------


def test_csr_to_stdout_and_file(
    run_cli: RunCli, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from cryptography import x509

    printed = _ok(
        run_cli(
            "keys", "csr", "-f", key_files[0], "--common-name", "acme", "--organization", "Acme"
        )
    )
    csr = x509.load_pem_x509_csr(printed.stdout.encode())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "O=Acme,CN=acme"
    out = tmp_path / "server.csr"
    written = _ok(run_cli("keys", "csr", "-f", key_files[0], "--common-name", "acme", "--out", out))
    assert f"wrote {out}" in written.stdout
    assert x509.load_pem_x509_csr(out.read_bytes()).subject.rfc4514_string() == "CN=acme"


def test_csr_refuses_unsafe_key(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    os.chmod(key_files[0], 0o604)
    result = _ok(run_cli("keys", "csr", "-f", key_files[0], "--common-name", "acme"), 78)
    assert "chmod 600" in result.stderr
    assert "BEGIN" not in result.stdout


def test_csr_needs_common_name(run_cli: RunCli, key_files: tuple[Path, Path]) -> None:
    _ok(run_cli("keys", "csr", "-f", key_files[0]), 64)


def test_csr_with_prompted_passphrase(
    run_cli: RunCli, tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _write(tmp_path / "enc.key", private_key_pem(key_pair.private_key, SECRET))
    monkeypatch.setattr(_passphrase, "_hidden_prompt", lambda text: SECRET)
    result = _ok(run_cli("keys", "csr", "-f", key, "--common-name", "x", tty=True))
    assert "CERTIFICATE REQUEST" in result.stdout
    assert SECRET not in result.output
    assert _ok(run_cli("keys", "csr", "-f", key, "--common-name", "x"), 78).stdout == ""


# -- keys import ------------------------------------------------------------------------------


def _p12(tmp_path: Path, key_pair: KeyPair, password: str | None) -> Path:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(
        b"x", key_pair.private_key, key_pair.certificate, None, enc
    )
    return _write(tmp_path / "bundle.p12", data)


def test_import_bundle(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    bundle = _p12(tmp_path, key_pair, SECRET)
    out = tmp_path / "out"
    result = _ok(
        run_cli(
            "keys",
            "import",
            bundle,
            "--out-dir",
            out,
            "--passphrase-env",
            "P12",
            env={"P12": SECRET},
        )
    )
    assert SECRET not in result.output
    assert (out / "server.key").stat().st_mode & 0o777 == 0o600
    assert (
        load_private_key(out / "server.key").private_numbers()
        == key_pair.private_key.private_numbers()
    )
    assert load_certificate(out / "server.crt").certificate == key_pair.certificate
    assert key_pair.certificate_info.sha256_fingerprint in result.stdout
    again = _ok(
        run_cli(
            "keys", "import", bundle, "--out-dir", out, env={"SFBEARER_KEY_PASSPHRASE": SECRET}
        ),
        78,
    )
    assert "already exists" in again.stderr
    _ok(
        run_cli(
            "keys",
            "import",
            bundle,
            "--out-dir",
            out,
            "--force",
            env={"SFBEARER_KEY_PASSPHRASE": SECRET},
        )
    )


def test_import_passphrase_problems(
    run_cli: RunCli, tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _p12(tmp_path, key_pair, SECRET)
    wrong = _ok(
        run_cli(
            "keys",
            "import",
            bundle,
            "--out-dir",
            tmp_path / "a",
            env={"SFBEARER_KEY_PASSPHRASE": "x"},
        ),
        78,
    )
    assert "wrong passphrase" in wrong.stderr
    missing = _ok(run_cli("keys", "import", bundle, "--out-dir", tmp_path / "a"), 78)
    assert "passphrase" in missing.stderr
    assert not (tmp_path / "a").exists()
    monkeypatch.setattr(_passphrase, "_hidden_prompt", lambda text: SECRET)
    _ok(run_cli("keys", "import", bundle, "--out-dir", tmp_path / "a", tty=True))
    assert (tmp_path / "a" / "server.key").exists()


def test_import_unencrypted_bundle(run_cli: RunCli, tmp_path: Path, key_pair: KeyPair) -> None:
    _ok(run_cli("keys", "import", _p12(tmp_path, key_pair, None), "--out-dir", tmp_path / "o"))


def test_import_not_a_bundle(run_cli: RunCli, tmp_path: Path) -> None:
    _ok(
        run_cli("keys", "import", _write(tmp_path / "x.p12", b"nope"), "--out-dir", tmp_path / "o"),
        78,
    )
    _ok(run_cli("keys", "import", tmp_path / "missing.p12", "--out-dir", tmp_path / "o"), 78)


def test_keys_unknown_subcommand(run_cli: RunCli) -> None:
    _ok(run_cli("keys", "bogus"), 64)


def test_keys_help_lists_subcommands(run_cli: RunCli) -> None:
    result = _ok(run_cli("keys", "--help"))
    for name in ("new", "show", "check", "csr", "import"):
        assert name in result.stdout
