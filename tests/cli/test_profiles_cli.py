"""``sfbearer init`` and ``sfbearer profiles list|show|remove|default``."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography import x509

from sfbearer.config import config_path, default_profile_name, get_profile, load_profiles
from sfbearer.keys import KeyPair, key_matches_certificate, load_private_key

CID = "3MVG9" + "Z" * 40
USER = "integration@acme.com"


def _init(run_cli, name: str, *extra: object, env: str = "production"):
    return run_cli("init", name, "-i", CID, "-o", USER, "-r", env, *extra)


def test_init_with_a_key(run_cli, key_files: tuple[Path, Path]) -> None:
    key, cert = key_files
    result = _init(run_cli, "prod", "-f", key)
    assert result.code == 0, result
    profile = get_profile("prod")
    assert (profile.client_id, profile.username, profile.environment) == (CID, USER, "production")
    assert profile.jwt_key_file == str(key)
    assert profile.certificate_path() == cert  # server.crt beside the key
    assert "profile:      prod (default)" in result.stdout
    assert f"certificate:  {cert} (SHA-1 " in result.stdout
    assert "next steps:" in result.stderr
    assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
    assert default_profile_name() == "prod"


def test_init_generates_a_key_pair_in_the_config_dir(run_cli) -> None:
    result = _init(run_cli, "uat", "--json", env="sandbox")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    keys_dir = config_path().parent / "keys" / "uat"
    key_path, cert_path = keys_dir / "server.key", keys_dir / "server.crt"
    assert data["generated"] is True
    assert data["key"] == str(key_path)
    assert data["certificate"] == str(cert_path)
    assert data["token_url"] == "https://test.salesforce.com/services/oauth2/token"
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(keys_dir.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert key_matches_certificate(load_private_key(key_path).public_key(), cert)
    # and the profile works end to end: the assertion verifies with the generated certificate
    minted = run_cli("-p", "uat", "assertion", "new")
    assert minted.code == 0, minted
    claims = pyjwt.decode(
        minted.stdout, cert.public_key(), algorithms=["RS256"],
        audience="https://test.salesforce.com",
    )  # fmt: skip
    assert claims["sub"] == USER


def test_init_text_output_names_the_certificate_and_next_steps(run_cli) -> None:
    result = _init(run_cli, "prod")
    assert result.code == 0, result
    cert_path = config_path().parent / "keys" / "prod" / "server.crt"
    assert f"upload {cert_path} to the External Client App" in result.stderr
    assert "sfbearer doctor" in result.stderr
    assert "(generated, mode 0600)" in result.stdout


def test_init_refuses_to_overwrite_and_force_keeps_the_generated_key(run_cli) -> None:
    assert _init(run_cli, "prod").code == 0
    key_path = config_path().parent / "keys" / "prod" / "server.key"
    key_bytes = key_path.read_bytes()
    result = _init(run_cli, "prod")
    assert result.code == 78
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    result = run_cli(
        "init", "prod", "-i", CID, "-o", "fixed@acme.com", "-r", "production", "--force"
    )
    assert result.code == 0, result
    assert get_profile("prod").username == "fixed@acme.com"
    assert key_path.read_bytes() == key_bytes  # the uploaded certificate still fits
    assert "using the existing key pair" in result.stderr


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["init", "p", "-o", USER, "-r", "production"], 64, "--client-id"),
        (["init", "p", "-i", CID, "-o", USER], 64, "--environment"),
        (["init", "-i", CID, "-o", USER, "-r", "production"], 64, "NAME"),
        (
            ["init", "bad name", "-i", CID, "-o", USER, "-r", "production"],
            78,
            "invalid profile name",
        ),
        (["init", "p", "-i", CID, "-o", USER, "-r", "http://evil.example.com"], 78, "plain http"),
        (["init", "p", "-i", CID, "-o", USER, "-r", "https://sf.evil.com"], 78, "--allow-host"),
        (["init", "p", "-i", CID, "-o", USER, "-r", "production", "--cert", "x.crt"], 64, "--cert"),
        (
            ["init", "p", "-i", CID, "-o", USER, "-r", "production", "--cache", "disk"],
            78,
            "not a cache",
        ),
        (
            ["init", "p", "-i", CID, "-o", USER, "-r", "production", "--session-timeout", "0"],
            64,
            "session-timeout",
        ),
    ],
)
def test_init_bad_input_writes_nothing(run_cli, argv, code: int, message: str) -> None:
    result = run_cli(*argv)
    assert result.code == code, result
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not config_path().exists()
    assert not (config_path().parent / "keys").exists()


def test_init_allow_host_and_audience(run_cli, key_files) -> None:
    result = _init(
        run_cli, "custom", "-f", key_files[0], "--allow-host", "sf.example.net",
        "--audience", "https://acme.my.salesforce.com", env="https://sf.example.net",
    )  # fmt: skip
    assert result.code == 0, result
    env = get_profile("custom").env()
    assert (env.token_url, env.audience) == (
        "https://sf.example.net/services/oauth2/token",
        "https://acme.my.salesforce.com",
    )


def test_init_checks_the_key_and_certificate(
    run_cli, tmp_path: Path, key_files, other_key_pair: KeyPair
) -> None:
    other = tmp_path / "other.crt"
    other.write_bytes(other_key_pair.certificate_info.pem())
    result = _init(run_cli, "p", "-f", key_files[0], "--cert", other)
    assert result.code == 78
    assert "does not belong to the key" in result.stderr
    result = _init(run_cli, "p", "-f", key_files[0], "--cert", tmp_path / "none.crt")
    assert result.code == 78
    key_files[0].chmod(0o644)
    result = _init(run_cli, "p", "-f", key_files[0])
    assert result.code == 78
    assert "chmod 600" in result.stderr
    assert not config_path().exists()


def test_init_without_a_certificate_beside_the_key_warns(run_cli, key_files) -> None:
    key_files[1].unlink()
    result = _init(run_cli, "p", "-f", key_files[0])
    assert result.code == 0, result
    assert "warning: no certificate at" in result.stderr
    # The next steps do not ask to upload a file that does not exist.
    assert f"upload {key_files[1]}" not in result.stderr
    assert "repeat init with --cert CRT --force" in result.stderr


def test_init_relative_paths_are_stored_absolute(run_cli, key_files, monkeypatch) -> None:
    monkeypatch.chdir(key_files[0].parent)
    result = _init(
        run_cli, "p", "-f", "server.key", "--audit", "audit.jsonl", "--cache", "file:tok.json"
    )
    assert result.code == 0, result
    raw = tomllib.loads(config_path().read_text())["profiles"]["p"]
    assert raw["jwt_key_file"] == str(key_files[0])
    assert raw["audit"] == str(key_files[0].parent / "audit.jsonl")
    assert raw["cache"] == "file:" + str(key_files[0].parent / "tok.json")


def test_init_warns_about_a_sandbox_username_in_production(run_cli, key_files) -> None:
    result = run_cli(
        "init", "p", "-i", CID, "-o", "int@acme.com.uat", "-r", "production", "-f", key_files[0]
    )
    assert result.code == 0
    assert "looks like a sandbox username" in result.stderr


def test_init_warns_about_a_username_that_is_not_an_address(run_cli, key_files) -> None:
    result = run_cli(
        "init", "p", "-i", CID, "-o", "integration", "-r", "production", "-f", key_files[0]
    )
    assert result.code == 0
    assert "'integration' is not a Salesforce username (user@domain)" in result.stderr
    fine = run_cli(
        "init", "q", "-i", CID, "-o", "int@acme.com", "-r", "production", "-f", key_files[0]
    )
    assert "not a Salesforce username" not in fine.stderr


def test_init_default_flag(run_cli, key_files) -> None:
    assert _init(run_cli, "a", "-f", key_files[0]).code == 0
    assert _init(run_cli, "b", "-f", key_files[0]).code == 0
    assert default_profile_name() == "a"
    assert _init(run_cli, "c", "-f", key_files[0], "--default").code == 0
    assert default_profile_name() == "c"


# -- profiles ---------------------------------------------------------------------------------


@pytest.fixture
def two_profiles(run_cli, key_files) -> None:
    assert _init(run_cli, "prod", "-f", key_files[0]).code == 0
    assert _init(run_cli, "uat", "-f", key_files[0], env="sandbox").code == 0


def test_list_empty(run_cli) -> None:
    result = run_cli("profiles", "list")
    assert result.code == 0
    assert "no profiles in" in result.stderr
    assert json.loads(run_cli("profiles", "list", "--json").stdout)["profiles"] == []


def test_list_marks_the_default(run_cli, two_profiles) -> None:
    result = run_cli("profiles", "list")
    assert result.code == 0, result
    rows = [
        [cell.strip() for cell in line.split("\u2502")[1:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("\u2502")  # the table's body rows
    ]
    # (a long key path may wrap onto a continuation row with an empty name)
    assert {row[1]: row[0] for row in rows if row[1]} == {"prod": "*", "uat": ""}
    data = json.loads(run_cli("profiles", "list", "--json").stdout)
    assert data["default"] == "prod"
    assert [(p["name"], p["default"]) for p in data["profiles"]] == [("prod", True), ("uat", False)]


def test_show(run_cli, two_profiles, key_files) -> None:
    result = run_cli("profiles", "show", "uat")
    assert result.code == 0, result
    assert "token url:          https://test.salesforce.com/services/oauth2/token" in result.stdout
    assert f"key:                {key_files[0]}" in result.stdout
    assert (
        run_cli("-p", "uat", "profiles", "show", "--json").stdout
        == run_cli("profiles", "show", "uat", "--json").stdout
    )
    assert json.loads(run_cli("profiles", "show", "--json").stdout)["name"] == "prod"
    result = run_cli("profiles", "show", "upt")
    assert result.code == 78
    assert "did you mean 'uat'?" in result.stderr


def test_show_never_prints_secrets(run_cli, tmp_path: Path) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(
        f'[profiles.env]\nclient_id = "{CID}"\nusername = "{USER}"\n'
        'jwt_key_env = "MY_PEM"\npassphrase_env = "MY_PASS"\n'
        'proxy = "http://me:canary-proxy-pw@proxy.acme.com:3128"\n'
        'cache = "rediss://:canary-redis-pw@redis.acme.com:6380/0"\n'
    )
    canary_pem = "-----BEGIN PRIVATE KEY-----\nCANARYKEYBYTES\n-----END PRIVATE KEY-----"
    env = {"MY_PEM": canary_pem, "MY_PASS": "canary-passphrase", "SFBEARER_JWT_KEY": canary_pem,
           "SFBEARER_KEY_PASSPHRASE": "canary-passphrase-2"}  # fmt: skip
    for argv in (["profiles", "show", "env"], ["profiles", "show", "env", "--json"],
                 ["profiles", "list"], ["profiles", "list", "--json"]):  # fmt: skip
        result = run_cli(*argv, env=env)
        assert result.code == 0, result
        assert "CANARY" not in result.output
        assert "canary" not in result.output
    result = run_cli("profiles", "show", "env", env=env)
    assert "MY_PEM (set)" in result.stdout
    assert "MY_PASS (set)" in result.stdout
    assert "http://me:***@proxy.acme.com:3128" in result.stdout
    assert "rediss://:***@redis.acme.com:6380/0" in result.stdout
    assert "SFBEARER_JWT_KEY" in result.stderr  # noted as overriding, by name only


def test_remove_keeps_the_key_files(run_cli, two_profiles, key_files) -> None:
    result = run_cli("profiles", "remove", "uat")
    assert result.code == 0, result
    assert set(load_profiles()) == {"prod"}
    assert key_files[0].exists()
    assert str(key_files[0]) in result.stderr
    result = run_cli("profiles", "remove", "prd", "--json")
    assert result.code == 78
    assert "did you mean 'prod'?" in result.stderr
    data = json.loads(run_cli("profiles", "remove", "prod", "--json").stdout)
    assert data["removed"] == "prod"
    assert load_profiles() == {}


def test_default(run_cli, two_profiles) -> None:
    assert run_cli("profiles", "default", "uat").code == 0
    assert default_profile_name() == "uat"
    assert run_cli("profiles", "default", "nope").code == 78


def test_a_corrupt_config_is_one_line_and_exit_78(run_cli) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('[profiles.prod]\nclient_id = "x\n')
    for argv in (
        ["profiles", "list"],
        ["profiles", "show", "prod"],
        ["-p", "prod", "assertion", "new"],
    ):
        result = run_cli(*argv)
        assert result.code == 78, result
        assert str(config_path()) in result.stderr
        assert "line 2" in result.stderr
        assert "Traceback" not in result.output


def test_init_generates_an_encrypted_key_with_passphrase_env(run_cli) -> None:
    result = _init(run_cli, "enc", "--passphrase-env", "ENC_PASS")
    assert result.code == 78  # the variable is not set: nothing generated, nothing saved
    assert "ENC_PASS" in result.stderr
    assert not config_path().exists()
    assert not (config_path().parent / "keys").exists()
    env = {"ENC_PASS": "gen-canary-passphrase"}
    result = run_cli(
        "init", "enc", "-i", CID, "-o", USER, "-r", "production", "--passphrase-env", "ENC_PASS",
        env=env,
    )  # fmt: skip
    assert result.code == 0, result
    key_path = config_path().parent / "keys" / "enc" / "server.key"
    assert b"ENCRYPTED" in key_path.read_bytes()
    assert get_profile("enc").passphrase_env == "ENC_PASS"
    minted = run_cli("-p", "enc", "assertion", "new", env=env)
    assert minted.code == 0, minted
    assert "gen-canary" not in minted.output + result.output
    assert run_cli("-p", "enc", "assertion", "new").code == 78


ROTATION_FIELDS = (
    "next_jwt_key_file",
    "next_cert_file",
    "previous_jwt_key_file",
    "previous_cert_file",
    "previous_client_id",
)


def test_show_without_a_rotation_prints_no_rotation_fields(run_cli, two_profiles) -> None:
    result = run_cli("profiles", "show", "prod")
    assert result.code == 0, result
    for field in ROTATION_FIELDS:
        assert field.replace("_", " ") not in result.stdout
    assert "rotation is pending" not in result.stderr
    data = json.loads(run_cli("profiles", "show", "prod", "--json").stdout)
    assert {field: data[field] for field in ROTATION_FIELDS} == dict.fromkeys(ROTATION_FIELDS)


def test_show_prints_every_rotation_field_that_is_set(run_cli, two_profiles, tmp_path) -> None:
    from dataclasses import replace

    from sfbearer.config import save_profile

    values = {
        "next_jwt_key_file": str(tmp_path / "server-20270101.key"),
        "next_cert_file": str(tmp_path / "server-20270101.crt"),
        "previous_jwt_key_file": str(tmp_path / "server-20260101.key"),
        "previous_cert_file": str(tmp_path / "server-20260101.crt"),
        "previous_client_id": "3MVG9" + "OLD" * 10,
    }
    save_profile(replace(get_profile("prod"), **values), force=True)
    result = run_cli("profiles", "show", "prod")
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    for field, value in values.items():
        label = field.replace("_", " ") + ":"
        line = next(x for x in lines if x.startswith(label))
        assert line.endswith(value)
        assert line[len(label) :].strip() == value
    # one column for every value, wide enough for the longest label
    starts = {len(x) - len(x[x.index(":") + 1 :].lstrip()) for x in lines}
    assert starts == {len("previous jwt key file:") + 1}
    assert "a key rotation is pending" in result.stderr
    assert values["next_cert_file"] in result.stderr
    assert "sfbearer certs promote -p prod" in result.stderr
    data = json.loads(run_cli("profiles", "show", "prod", "--json").stdout)
    assert {field: data[field] for field in ROTATION_FIELDS} == values


def test_show_only_previous_fields_after_a_promotion(run_cli, two_profiles, tmp_path) -> None:
    from dataclasses import replace

    from sfbearer.config import save_profile

    old_key = str(tmp_path / "old.key")
    save_profile(replace(get_profile("uat"), previous_jwt_key_file=old_key), force=True)
    result = run_cli("profiles", "show", "uat")
    assert result.code == 0, result
    assert f"previous jwt key file: {old_key}" in result.stdout
    assert "next jwt key file" not in result.stdout
    assert "previous client id" not in result.stdout
    assert "rotation is pending" not in result.stderr  # promoted: nothing pending


def test_show_follows_a_real_rotation_and_promotion(run_cli, two_profiles, key_files) -> None:
    rotated = run_cli("-p", "prod", "certs", "rotate", "--json")
    assert rotated.code == 0, rotated
    pending = get_profile("prod")
    assert pending.next_jwt_key_file
    assert pending.next_cert_file
    shown = json.loads(run_cli("profiles", "show", "prod", "--json").stdout)
    assert shown["next_jwt_key_file"] == pending.next_jwt_key_file
    assert shown["next_cert_file"] == pending.next_cert_file
    assert shown["previous_jwt_key_file"] is None
    promoted = run_cli("-p", "prod", "certs", "promote")
    assert promoted.code == 0, promoted
    shown = json.loads(run_cli("profiles", "show", "prod", "--json").stdout)
    assert shown["key"] == pending.next_jwt_key_file
    assert shown["next_jwt_key_file"] is None
    assert shown["previous_jwt_key_file"] == str(key_files[0])
    text = run_cli("profiles", "show", "prod").stdout
    assert f"previous jwt key file: {key_files[0]}" in text
