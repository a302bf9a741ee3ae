"""``sfbearer certs rotate|promote``: output, --json, exit codes, --check, no secret printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sfbearer.config import Profile, get_profile, save_profile
from sfbearer.keys import KeyPair, private_key_pem, write_key_pair

from .conftest import APP, Org, RunCli


def _offline(key: Path) -> None:
    save_profile(
        Profile(
            name="prod", client_id="3MVG9abcdefgh", username="i@acme.com", jwt_key_file=str(key)
        )
    )


def test_rotate_prints_both_plans_and_no_key(
    run_cli: RunCli, key_files: tuple[Path, Path], key_pair: KeyPair
) -> None:
    _offline(key_files[0])
    result = run_cli("certs", "rotate", "-p", "prod", "--days", "30")
    assert result.code == 0, result
    out = result.stdout
    assert "(a) cutover" in out
    assert "(b) zero downtime" in out
    assert "sfbearer certs promote -p prod --client-id NEW_CONSUMER_KEY --check" in out
    pending = get_profile("prod").next_jwt_key_file
    assert pending is not None
    assert pending in out
    assert "PRIVATE KEY" not in result.output
    new_pem = Path(pending).read_text()
    assert new_pem.splitlines()[1] not in result.output
    assert private_key_pem(key_pair.private_key).decode().splitlines()[1] not in result.output


def test_rotate_json_and_the_refusal_of_a_second_one(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    _offline(key_files[0])
    result = run_cli("certs", "rotate", "-p", "prod", "--key-size", "3072", "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["profile"] == "prod"
    assert data["current"]["key"] == str(key_files[0])
    assert Path(data["next"]["key"]).exists()
    assert data["next"]["sha1_fingerprint"].count(":") == 19
    assert set(data["plans"]) == {"cutover", "zero_downtime"}

    again = run_cli("certs", "rotate", "-p", "prod")
    assert again.code == 78
    assert "already has a pending key" in again.stderr
    assert "--replace-pending" in again.stderr
    replaced = run_cli("certs", "rotate", "-p", "prod", "--replace-pending")
    assert replaced.code == 0, replaced
    assert "its files are kept" in replaced.stderr
    assert Path(data["next"]["key"]).exists()


def test_promote_without_pending_and_unknown_profile(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    _offline(key_files[0])
    nothing = run_cli("certs", "promote", "-p", "prod")
    assert nothing.code == 78
    assert "no pending key" in nothing.stderr
    assert "sfbearer certs rotate -p prod" in nothing.stderr
    unknown = run_cli("certs", "promote", "-p", "nope")
    assert unknown.code == 78
    assert "Traceback" not in unknown.output


def test_rotate_refuses_a_bad_signer_uri_cleanly(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    _offline(key_files[0])
    result = run_cli("certs", "rotate", "-p", "prod", "--signer", "awskms:")
    assert result.code == 78, result
    assert result.stderr.startswith("error: ")
    assert get_profile("prod").next_jwt_key_file is None


def test_promote_json_switches_and_keeps_the_old_pair(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    key, cert = key_files
    _offline(key)
    assert run_cli("certs", "rotate", "-p", "prod").code == 0
    pending = get_profile("prod").next_jwt_key_file
    result = run_cli("certs", "promote", "-p", "prod", "-i", "3MVG9second", "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["promoted"] is True
    assert data["key"] == pending
    assert data["client_id"] == "3MVG9second"
    assert data["previous_client_id"] == "3MVG9abcdefgh"
    assert data["previous_key"] == str(key)
    assert key.exists()
    assert cert.exists()


def _message_column(line: str) -> int:
    """Where the message of a ``[FAIL] name      message`` line starts."""
    match = re.match(r"^\[.{4}\] (.*?) {2,}(\S)", line)
    assert match is not None, line
    return match.start(2)


def test_promote_check_refuses_until_the_new_certificate_is_uploaded(
    org: Org, prod: Profile, run_cli: RunCli
) -> None:
    assert run_cli("certs", "rotate", "-p", "prod").code == 0
    refused = run_cli("certs", "promote", "-p", "prod", "--check")
    assert refused.code == 2, refused
    assert "[FAIL] token" in refused.stderr
    assert "invalid_grant" in refused.stderr
    assert "nothing was switched" in refused.stderr
    assert get_profile("prod").jwt_key_file == str(org.key)
    # doctor's columns: every message starts in the same column, as doctor prints them
    rows = [line for line in refused.stderr.splitlines() if line.startswith("[")]
    assert len(rows) > 3
    starts = {_message_column(line) for line in rows}
    assert len(starts) == 1, rows
    doctor = run_cli("doctor", "-p", "prod")
    doctor_rows = [ln for ln in doctor.output.splitlines() if ln.startswith("[")]
    assert doctor_rows
    assert {_message_column(line) for line in doctor_rows} == starts

    pending = get_profile("prod")
    org.sf.update_app(APP, certificate=Path(pending.next_cert_file or ""))
    result = run_cli("certs", "promote", "-p", "prod", "--check", "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["promoted"] is True
    assert {c["check"]: c["status"] for c in data["checks"]}["token"] == "ok"
    assert get_profile("prod").jwt_key_file == pending.next_jwt_key_file
    doctor = run_cli("doctor", "-p", "prod")
    assert doctor.code == 0, doctor


def test_an_encrypted_key_with_no_passphrase_source_is_a_clear_error(
    run_cli: RunCli, tmp_path: Path, key_pair: KeyPair
) -> None:
    key, _ = write_key_pair(key_pair, tmp_path / "enc", passphrase="s3cret-pass")
    _offline(key)
    result = run_cli("certs", "rotate", "-p", "prod")
    assert result.code == 78, result
    assert "encrypted" in result.stderr
    assert "s3cret" not in result.output
    assert sorted(p.name for p in key.parent.iterdir()) == ["server.crt", "server.key"]
