"""``sfbearer profiles promote``: derived values, sandbox suffixes, own keys, refusals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sfbearer._exceptions import EnvironmentConfigError, ProfileError
from sfbearer.config import Profile, config_path, get_profile, load_profiles, save_profile
from sfbearer.keys import key_matches_certificate, load_certificate, load_private_key
from sfbearer.promotion import (
    CLIENT_ID_PLACEHOLDER,
    derive_profile,
    promote_profile,
    strip_sandbox_suffix,
)

from .conftest import RunCli

UAT_USER = "integration@acme.com.uat"


@pytest.fixture
def uat(key_files: tuple[Path, Path]) -> Profile:
    profile = Profile(
        name="uat",
        client_id="3MVG9sandboxapp",
        username=UAT_USER,
        environment="https://acme--uat.sandbox.my.salesforce.com",
        jwt_key_file=str(key_files[0]),
        session_timeout=30,
        audit="/var/log/sfbearer/audit.jsonl",
        allow_hosts=("proxy.acme.internal",),
    )
    save_profile(profile)
    return profile


@pytest.mark.parametrize(
    ("username", "from_sandbox", "expected"),
    [
        ("integration@acme.com.uat", False, "integration@acme.com"),
        ("integration@acme.com.qa2", False, "integration@acme.com"),
        ("integration@acme.co.uk.fullcopy", False, "integration@acme.co.uk"),
        ("integration@acme.com.jan26", True, "integration@acme.com"),
        ("integration@acme.com.jan26", False, None),
        ("integration@acme.com", True, None),
        ("integration@acme.co.uk", True, None),
        ("integration@acme", True, None),
        ("not-a-username", True, None),
        ("@acme.com.uat", True, None),
    ],
)
def test_strip_sandbox_suffix(username: str, from_sandbox: bool, expected: str | None) -> None:
    assert strip_sandbox_suffix(username, from_sandbox=from_sandbox) == expected


def test_derived_values_for_production(uat: Profile) -> None:
    derived, note = derive_profile(uat, to="prod", environment="production")
    assert derived.name == "prod"
    assert derived.username == "integration@acme.com"
    assert "without its sandbox suffix" in note
    env = derived.env()
    assert env.token_url == "https://login.salesforce.com/services/oauth2/token"
    assert env.audience == "https://login.salesforce.com"
    assert derived.client_id == CLIENT_ID_PLACEHOLDER
    # The integration's settings travel; the org's do not.
    assert derived.session_timeout == 30
    assert derived.audit == uat.audit
    assert derived.allow_hosts == ()
    assert derived.jwt_key_file is None


def test_derived_values_for_a_my_domain_and_explicit_values(uat: Profile) -> None:
    derived, note = derive_profile(
        uat,
        to="prod",
        environment="https://acme.my.salesforce.com",
        username="svc@acme.com",
        client_id=" 3MVG9prodapp ",
    )
    assert derived.env().token_url == "https://acme.my.salesforce.com/services/oauth2/token"
    assert derived.env().audience == "https://login.salesforce.com"
    assert derived.username == "svc@acme.com"
    assert note == "as given (--username)"
    assert derived.client_id == "3MVG9prodapp"


def test_a_sandbox_target_gets_its_own_suffix_or_asks(uat: Profile) -> None:
    derived, _ = derive_profile(
        uat, to="qa", environment="https://acme--qa.sandbox.my.salesforce.com"
    )
    assert derived.username == "integration@acme.com.qa"
    assert derived.env().audience == "https://test.salesforce.com"
    with pytest.raises(ProfileError) as asked:
        derive_profile(uat, to="qa", environment="sandbox")
    assert "--username" in asked.value.hint


@pytest.mark.parametrize("sandbox", ["dev", "io", "uat"])
def test_the_source_sandbox_name_is_stripped_even_when_it_is_a_tld(
    uat: Profile, sandbox: str
) -> None:
    from dataclasses import replace

    source = replace(
        uat,
        username=f"integration@acme.com.{sandbox}",
        environment=f"https://acme--{sandbox}.sandbox.my.salesforce.com",
    )
    qa, _ = derive_profile(
        source, to="qa", environment="https://acme--qa.sandbox.my.salesforce.com"
    )
    assert qa.username == "integration@acme.com.qa"
    prod, note = derive_profile(source, to="prod", environment="production")
    assert prod.username == "integration@acme.com"
    assert "without its sandbox suffix" in note
    # A production username that merely ends in the same word is left alone.
    plain = replace(source, username="integration@acme.dev")
    assert derive_profile(plain, to="p", environment="production")[0].username == (
        "integration@acme.dev"
    )


def test_a_bad_environment_is_refused(uat: Profile) -> None:
    with pytest.raises(EnvironmentConfigError):
        derive_profile(uat, to="prod", environment="http://evil.example.com")


def test_promote_generates_a_key_pair_of_its_own(
    uat: Profile, key_files: tuple[Path, Path]
) -> None:
    result = promote_profile("uat", to="prod", environment="production", client_id="3MVG9prod")
    saved = get_profile("prod")
    assert saved == result.profile
    assert result.generated_key
    key = Path(saved.jwt_key_file or "")
    assert key.parent == config_path().parent / "keys" / "prod"
    assert key != key_files[0]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    info = load_certificate(saved.certificate_path() or "")
    assert key_matches_certificate(load_private_key(key).public_key(), info.certificate)
    assert result.certificate is not None
    assert result.certificate.sha1_fingerprint == info.sha1_fingerprint
    assert load_profiles()["uat"] == uat  # the source is untouched
    steps = "\n".join(result.steps)
    assert str(saved.certificate_path()) in steps
    assert info.sha1_fingerprint in steps
    assert "integration@acme.com" in steps
    assert "sfbearer doctor -p prod" in steps
    assert "--client-id CONSUMER_KEY" not in steps  # it was given
    assert result.warnings == ()


def test_refuses_to_overwrite_and_reuses_the_keys_with_force(uat: Profile) -> None:
    first = promote_profile("uat", to="prod", environment="production")
    assert first.profile.client_id == CLIENT_ID_PLACEHOLDER
    assert any("--client-id CONSUMER_KEY --force" in s for s in first.steps)
    before = Path(first.profile.jwt_key_file or "").read_bytes()
    with pytest.raises(ProfileError, match="already exists"):
        promote_profile("uat", to="prod", environment="production", client_id="3MVG9prod")
    assert get_profile("prod").client_id == CLIENT_ID_PLACEHOLDER
    again = promote_profile(
        "uat", to="prod", environment="production", client_id="3MVG9prod", force=True
    )
    assert not again.generated_key
    assert Path(again.profile.jwt_key_file or "").read_bytes() == before
    assert get_profile("prod").client_id == "3MVG9prod"
    with pytest.raises(ProfileError, match="onto itself"):
        promote_profile("uat", to="uat", environment="production", force=True)
    with pytest.raises(ProfileError):
        promote_profile("nope", to="prod2", environment="production")


def test_share_key_keeps_the_source_pair_and_warns(
    uat: Profile, key_files: tuple[Path, Path]
) -> None:
    result = promote_profile("uat", to="prod", environment="production", share_key=True)
    assert result.profile.jwt_key_file == str(key_files[0])
    assert result.profile.certificate_path() == key_files[1]
    assert not result.generated_key
    assert not (config_path().parent / "keys" / "prod").exists()
    assert any("shares the key" in w for w in result.warnings)


def test_warnings_for_the_same_environment_and_a_sandbox_username(uat: Profile) -> None:
    result = promote_profile(
        "uat",
        to="again",
        environment="https://acme--uat.sandbox.my.salesforce.com",
        username="integration@acme.com.uat",
    )
    assert any("logs in where 'uat' does" in w for w in result.warnings)
    prod = promote_profile("uat", to="prod", environment="production", username=UAT_USER)
    assert any("looks like a sandbox username" in w for w in prod.warnings)


def test_cli_prints_the_derived_profile_and_the_setup(run_cli: RunCli, uat: Profile) -> None:
    result = run_cli("profiles", "promote", "uat", "--to", "prod", "--environment", "production")
    assert result.code == 0, result
    out = result.stdout
    assert "integration@acme.com (integration@acme.com.uat without its sandbox suffix)" in out
    assert "not set yet" in out
    assert "generated now" in out
    assert "https://login.salesforce.com/services/oauth2/token" in out
    assert "sfbearer doctor -p prod" in out
    assert "PRIVATE KEY" not in result.output

    refused = run_cli("profiles", "promote", "uat", "--to", "prod", "-r", "production")
    assert refused.code == 78
    assert "already exists" in refused.stderr
    assert "--force" in refused.stderr

    forced = run_cli(
        "profiles", "promote", "uat", "--to", "prod", "-r", "production",
        "-i", "3MVG9prod", "--force", "--json",
    )  # fmt: skip
    assert forced.code == 0, forced
    data = json.loads(forced.stdout)
    assert data["client_id"] == "3MVG9prod"
    assert data["client_id_set"] is True
    assert data["generated_key"] is False
    assert data["carried"] == {"session_timeout": 30, "audit": uat.audit}
    assert data["audience"] == "https://login.salesforce.com"


def test_cli_usage_and_configuration_errors(run_cli: RunCli, uat: Profile) -> None:
    missing = run_cli("profiles", "promote", "uat", "--to", "prod")
    assert missing.code == 64
    bad_env = run_cli("profiles", "promote", "uat", "--to", "prod", "-r", "nowhere")
    assert bad_env.code == 78
    assert "prod" not in load_profiles()
    bad_name = run_cli("profiles", "promote", "uat", "--to", "../x", "-r", "production")
    assert bad_name.code == 78
    assert "Traceback" not in bad_name.output
