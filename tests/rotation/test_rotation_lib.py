"""``rotate`` / ``promote_pending``: files, modes, profile fields, refusals, passphrases."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from sfbearer._exceptions import KeyFileError, ProfileError, SignerError
from sfbearer.config import Profile, config_path, get_profile, load_profiles, save_profile
from sfbearer.keys import (
    KeyPair,
    generate_key_pair,
    key_matches_certificate,
    load_certificate,
    load_private_key,
    write_key_pair,
)
from sfbearer.rotation import next_names, pending_pair, promote_pending, rotate

NOW = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)


def _profile(key: Path, **extra: object) -> Profile:
    profile = Profile(
        name="prod",
        client_id="3MVG9current",
        username="int@acme.com",
        jwt_key_file=str(key),
        **extra,  # type: ignore[arg-type]
    )
    save_profile(profile)
    return profile


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_next_names_are_dated_and_never_stack() -> None:
    day = dt.date(2026, 12, 1)
    assert next_names("server.key", "server.crt", day) == (
        "server-20261201.key",
        "server-20261201.crt",
    )
    assert next_names("acme-20251201.key", "acme-20251201.crt", day)[0] == "acme-20261201.key"
    taken = {"server-20261201.key", "server-20261201-2.crt"}
    assert next_names("server.key", "server.crt", day, taken.__contains__) == (
        "server-20261201-3.key",
        "server-20261201-3.crt",
    )
    assert next_names("id_rsa", "cert.pem", day) == ("id_rsa-20261201.key", "cert-20261201.pem")


def test_rotate_makes_the_next_pair_beside_and_leaves_the_current_one(
    key_files: tuple[Path, Path], key_pair: KeyPair
) -> None:
    key, cert = key_files
    before = (key.read_bytes(), cert.read_bytes())
    _profile(key)
    plan = rotate("prod", days=90, now=NOW)

    new_key, new_cert = Path(plan.next.key), plan.next.certificate
    assert new_key == key.parent / "server-20261201.key"
    assert new_cert == key.parent / "server-20261201.crt"
    assert (_mode(new_key), _mode(new_cert)) == (0o600, 0o644)
    assert (key.read_bytes(), cert.read_bytes()) == before
    info = load_certificate(new_cert)
    private = load_private_key(new_key)
    assert key_matches_certificate(private.public_key(), info.certificate)
    assert not key_matches_certificate(key_pair.private_key.public_key(), info.certificate)
    assert info.subject == "CN=sfbearer-test"  # the current certificate's name is kept
    assert info.not_after == (NOW + dt.timedelta(days=90)).replace(microsecond=0)
    assert private.key_size == 2048

    saved = get_profile("prod")
    assert (saved.jwt_key_file, saved.client_id) == (str(key), "3MVG9current")
    assert (saved.next_jwt_key_file, saved.next_cert_file) == (str(new_key), str(new_cert))
    assert pending_pair(saved) is not None
    text = config_path().read_text()
    assert "next_jwt_key_file" in text
    assert "BEGIN" not in text


def test_the_plan_names_both_options_with_the_exact_values(key_files: tuple[Path, Path]) -> None:
    _profile(key_files[0])
    plan = rotate("prod", now=NOW)
    fingerprint = plan.next.info.sha1_fingerprint if plan.next.info else "?"
    cutover = "\n".join(plan.cutover)
    assert str(plan.next.certificate) in cutover
    assert fingerprint in cutover
    assert "sfbearer certs promote -p prod" in cutover
    assert "invalid_grant" in cutover
    zero = "\n".join(plan.zero_downtime)
    assert "second External Client App" in zero
    assert "int@acme.com" in zero
    assert "sfbearer certs promote -p prod --client-id NEW_CONSUMER_KEY --check" in zero
    data = plan.as_dict()
    assert data["next"]["key"] == plan.next.key
    assert data["current"]["client_id"] == "3MVG9current"
    assert len(data["plans"]["cutover"]) == len(plan.cutover)


def test_a_second_rotation_is_refused_while_one_is_pending(key_files: tuple[Path, Path]) -> None:
    _profile(key_files[0])
    first = rotate("prod", now=NOW)
    with pytest.raises(ProfileError, match="already has a pending key"):
        rotate("prod", now=NOW)
    second = rotate("prod", now=NOW, replace_pending=True)
    assert second.replaced_pending == (first.next.key, str(first.next.certificate))
    assert Path(first.next.key).exists()
    assert first.next.certificate.exists()
    assert second.next.key.endswith("server-20261201-2.key")
    assert get_profile("prod").next_jwt_key_file == second.next.key


def test_key_size_follows_the_current_key_unless_given(tmp_path: Path) -> None:
    pair = generate_key_pair(key_size=3072, common_name="big")
    key, _ = write_key_pair(pair, tmp_path / "big")
    _profile(key)
    plan = rotate("prod", now=NOW)
    assert load_private_key(plan.next.key).key_size == 3072
    plan = rotate("prod", now=NOW, key_size=2048, replace_pending=True)
    assert load_private_key(plan.next.key).key_size == 2048


def test_an_encrypted_key_is_followed_by_one_with_the_same_passphrase(
    tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = write_key_pair(key_pair, tmp_path / "enc", passphrase="correct horse")
    _profile(key, passphrase_env="ACME_PASS")
    monkeypatch.setenv("ACME_PASS", "Tr0ub4dor-q")
    with pytest.raises(KeyFileError) as wrong:
        rotate("prod", now=NOW)
    assert "Tr0ub4dor" not in f"{wrong.value} {wrong.value.hint}"
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == ["server.crt", "server.key"]
    assert get_profile("prod").next_jwt_key_file is None

    monkeypatch.setenv("ACME_PASS", "correct horse")
    plan = rotate("prod", now=NOW)
    assert b"ENCRYPTED" in Path(plan.next.key).read_bytes()
    load_private_key(plan.next.key, "correct horse")

    monkeypatch.delenv("ACME_PASS")
    with pytest.raises(KeyFileError):
        rotate("prod", now=NOW, replace_pending=True)


def test_a_lost_current_key_can_still_be_rotated(key_files: tuple[Path, Path]) -> None:
    key, _ = key_files
    _profile(key)
    key.unlink()  # lost or compromised and removed: exactly when rotation is needed
    plan = rotate("prod", now=NOW)
    assert Path(plan.next.key).exists()


def test_a_key_from_a_variable_needs_a_directory(
    tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfbearer.keys import private_key_pem

    monkeypatch.setenv("ACME_KEY", private_key_pem(key_pair.private_key).decode())
    save_profile(
        Profile(name="prod", client_id="3MVG9x", username="int@acme.com", jwt_key_env="ACME_KEY")
    )
    with pytest.raises(ProfileError, match="variable ACME_KEY") as refused:
        rotate("prod", now=NOW)
    assert "--out-dir" in refused.value.hint
    plan = rotate("prod", now=NOW, out_dir=tmp_path / "next")
    assert Path(plan.next.key).parent == tmp_path / "next"
    promoted = promote_pending("prod")
    assert promoted.profile.jwt_key_env is None
    assert promoted.profile.jwt_key_file == plan.next.key


def test_kms_keys_are_never_created_by_sfbearer(tmp_path: Path) -> None:
    save_profile(
        Profile(
            name="prod",
            client_id="3MVG9x",
            username="int@acme.com",
            jwt_key_file="awskms:alias/sfbearer?region=eu-west-1",
            cert_file=str(tmp_path / "kms.crt"),
        )
    )
    with pytest.raises(SignerError) as refused:
        rotate("prod", now=NOW)
    assert "--signer awskms:" in refused.value.hint
    assert list(tmp_path.iterdir()) == []


def test_promote_switches_and_keeps_the_old_pair(key_files: tuple[Path, Path]) -> None:
    key, cert = key_files
    _profile(key)
    plan = rotate("prod", now=NOW)
    result = promote_pending("prod")
    saved = get_profile("prod")
    assert saved == result.profile
    assert (saved.jwt_key_file, saved.cert_file) == (plan.next.key, str(plan.next.certificate))
    assert (saved.previous_jwt_key_file, saved.previous_cert_file) == (str(key), str(cert))
    assert saved.client_id == "3MVG9current"
    assert saved.previous_client_id is None
    assert saved.next_jwt_key_file is None
    assert saved.next_cert_file is None
    assert key.exists()
    assert cert.exists()
    with pytest.raises(ProfileError, match="no pending key"):
        promote_pending("prod")


def test_promote_with_a_new_client_id_records_the_old_one(key_files: tuple[Path, Path]) -> None:
    _profile(key_files[0])
    rotate("prod", now=NOW)
    with pytest.raises(ProfileError, match="empty"):
        promote_pending("prod", client_id="  ")
    result = promote_pending("prod", client_id="3MVG9second")
    assert result.profile.client_id == "3MVG9second"
    assert result.profile.previous_client_id == "3MVG9current"
    assert result.previous_client_id == "3MVG9current"


def test_promote_refuses_when_the_pending_files_are_gone(key_files: tuple[Path, Path]) -> None:
    _profile(key_files[0])
    plan = rotate("prod", now=NOW)
    plan.next.certificate.unlink()
    with pytest.raises(ProfileError, match="cannot be read"):
        promote_pending("prod")
    Path(plan.next.key).unlink()
    with pytest.raises(ProfileError, match="does not exist"):
        promote_pending("prod")
    assert get_profile("prod").jwt_key_file == str(key_files[0])


def test_configuration_files_without_the_new_fields_still_load(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text(
        'default = "prod"\n[profiles.prod]\nclient_id = "3MVG9"\nusername = "u@acme.com"\n'
        'jwt_key_file = "server.key"\n'
    )
    profile = load_profiles(old)["prod"]
    assert profile.next_jwt_key_file is None
    assert profile.previous_client_id is None
    assert pending_pair(profile) is None
