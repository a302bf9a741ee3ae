"""keycheck: each finding and the exit code it leads to."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from sfbearer.keycheck import Finding, check_key_files, worst_exit_code
from sfbearer.keys import KeyPair, make_self_signed_certificate, private_key_pem


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_all_good(key_files: tuple[Path, Path]) -> None:
    findings = check_key_files(*key_files)
    assert [f.check for f in findings] == ["permissions", "key", "certificate", "match", "validity"]
    assert {f.status for f in findings} == {"ok"}
    assert worst_exit_code(findings) == 0


def test_unsafe_permissions_fail_with_chmod_hint(key_files: tuple[Path, Path]) -> None:
    key, cert = key_files
    os.chmod(key, 0o640)
    found = _by_check(check_key_files(key, cert))
    assert found["permissions"].status == "fail"
    assert found["permissions"].hint == f"chmod 600 {os.path.realpath(key)}"
    assert found["key"].status == "ok"  # the rest is still checked
    assert worst_exit_code(list(found.values())) == 2


def test_mismatch_fails(
    key_files: tuple[Path, Path], other_key_pair: KeyPair, tmp_path: Path
) -> None:
    other = tmp_path / "other.crt"
    other.write_bytes(other_key_pair.certificate_info.pem())
    found = _by_check(check_key_files(key_files[0], other))
    assert found["match"].status == "fail"
    assert worst_exit_code(list(found.values())) == 2


def test_expiring_soon_warns_and_expired_fails(
    key_pair: KeyPair, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    cert = tmp_path / "short.crt"
    now = dt.datetime.now(dt.UTC)
    short = make_self_signed_certificate(key_pair.private_key, days=10, now=now)
    from cryptography.hazmat.primitives import serialization

    cert.write_bytes(short.public_bytes(serialization.Encoding.PEM))
    found = _by_check(check_key_files(key_files[0], cert, now=now))
    assert found["validity"].status == "warn"
    assert "days left" in found["validity"].message
    assert worst_exit_code(list(found.values())) == 1
    later = _by_check(check_key_files(key_files[0], cert, now=now + dt.timedelta(days=11)))
    assert later["validity"].status == "fail"
    assert "expired" in later["validity"].message
    early = _by_check(check_key_files(key_files[0], cert, now=now - dt.timedelta(days=1)))
    assert early["validity"].status == "fail"
    assert "not valid before" in early["validity"].message
    relaxed = _by_check(check_key_files(key_files[0], cert, now=now, warn_days=5))
    assert relaxed["validity"].status == "ok"


def test_missing_files_are_errors(tmp_path: Path) -> None:
    findings = check_key_files(tmp_path / "none.key", tmp_path / "none.crt")
    assert [f.status for f in findings] == ["error", "error", "error"]
    assert worst_exit_code(findings) == 78


def test_encrypted_key_without_passphrase_is_an_error_with_passphrase_ok(
    key_pair: KeyPair, tmp_path: Path
) -> None:
    key = tmp_path / "enc.key"
    key.write_bytes(private_key_pem(key_pair.private_key, "pw"))
    os.chmod(key, 0o600)
    cert = tmp_path / "c.crt"
    cert.write_bytes(key_pair.certificate_info.pem())
    assert _by_check(check_key_files(key, cert))["key"].status == "error"
    assert _by_check(check_key_files(key, cert, passphrase="bad"))["key"].status == "error"
    good = check_key_files(key, cert, passphrase="pw")
    assert _by_check(good)["key"].message.endswith("encrypted")
    assert worst_exit_code(good) == 0


def test_wrong_material_fails(tmp_path: Path, key_pair: KeyPair) -> None:
    key = tmp_path / "k"
    key.write_bytes(key_pair.certificate_info.pem())  # a certificate offered as the key
    os.chmod(key, 0o600)
    crt = tmp_path / "c"
    crt.write_bytes(private_key_pem(key_pair.private_key))  # and the key as the certificate
    found = _by_check(check_key_files(key, crt))
    assert found["key"].status == "fail"
    assert found["certificate"].status == "fail"
    assert "match" not in found


def test_symlinked_0400_key_passes(key_pair: KeyPair, tmp_path: Path) -> None:
    real = tmp_path / "..data" / "server.key"
    real.parent.mkdir()
    real.write_bytes(private_key_pem(key_pair.private_key))
    os.chmod(real, 0o400)
    link = tmp_path / "server.key"
    link.symlink_to(real)
    cert = tmp_path / "server.crt"
    cert.write_bytes(key_pair.certificate_info.pem())
    found = _by_check(check_key_files(link, cert))
    assert found["permissions"].status == "ok"
    assert "0400" in found["permissions"].message
    assert "via symlink" in found["permissions"].message


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([], 0),
        (["ok"], 0),
        (["ok", "warn"], 1),
        (["warn", "fail"], 2),
        (["fail", "error", "ok"], 78),
    ],
)
def test_worst_exit_code(statuses: list[str], code: int) -> None:
    assert worst_exit_code([Finding("x", s, "m") for s in statuses]) == code  # type: ignore[arg-type]
