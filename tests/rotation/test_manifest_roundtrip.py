"""The manifest round trip, driven as a user would from the command line:

sandbox profile → ``profiles promote`` (a key pair of its own) → ``app manifest`` with that
certificate → an org configured from the metadata directory → the user added and
pre-authorized the way the manifest says → the printed steps followed → ``doctor`` passes
and ``token`` issues a token with the promoted profile's key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfbearer.config import get_profile, save_profile
from sfbearer.emulator import Emulator
from sfbearer.promotion import CLIENT_ID_PLACEHOLDER

from .conftest import RunCli

SF_PROFILE = "Acme Integration"


@pytest.fixture
def uat(key_files: tuple[Path, Path]) -> None:
    from sfbearer.config import Profile

    save_profile(
        Profile(
            name="uat",
            client_id="3MVG9sandboxapp",
            username="integration@acme.com.uat",
            environment="sandbox",
            jwt_key_file=str(key_files[0]),
        )
    )


def _manifest(run_cli: RunCli, cert: str, out: Path, *who: str) -> dict[str, object]:
    result = run_cli(
        "app", "manifest", "--name", "Acme_Sync", "--cert", cert, "--out-dir", out,
        "--session-timeout", "60", *who, "--json",
    )  # fmt: skip
    assert result.code == 0, result
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_promoted_profile_manifest_org_token(
    run_cli: RunCli, uat: None, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    promoted = run_cli("profiles", "promote", "uat", "--to", "prod", "-r", "production")
    assert promoted.code == 0, promoted
    prod = get_profile("prod")
    assert prod.client_id == CLIENT_ID_PLACEHOLDER
    cert = str(prod.certificate_path())
    assert cert != str(key_files[1])

    out = tmp_path / "force-app" / "main" / "default"
    _manifest(run_cli, cert, out, "--sf-profile", SF_PROFILE)
    with Emulator(app_metadata=out) as sf:
        app = sf.ctx.registry.get_app("Acme_Sync")
        assert app is not None
        assert app.session_timeout == 60
        assert app.profiles == (SF_PROFILE,)
        # Step 2 of the printed setup: the user exists and carries the pre-authorized profile.
        sf.add_user(username=prod.username, profile=SF_PROFILE)

        # Before step 3 (the consumer key), doctor cannot pass.
        early = run_cli("doctor", "-p", "prod", "-r", sf.url)
        assert early.code == 2, early
        assert "invalid_client_id" in early.stdout

        # Step 3, exactly as printed (with the org's URL as the environment).
        forced = run_cli(
            "profiles", "promote", "uat", "--to", "prod", "-r", sf.url,
            "--username", prod.username, "--client-id", app.consumer_key, "--force",
        )  # fmt: skip
        assert forced.code == 0, forced
        assert get_profile("prod").jwt_key_file == prod.jwt_key_file  # the same key pair

        doctor = run_cli("doctor", "-p", "prod")
        assert doctor.code == 0, doctor
        token = run_cli("token", "-p", "prod", "--json")
        assert token.code == 0, token
        data = json.loads(token.stdout)
        assert data["instance_url"] == sf.url
        assert "access_token" not in data  # printed only with --show-token
        assert len(data["token_hash"]) == 12
        assert sf.stats()["token_requests"]["by_app"]["Acme_Sync"] >= 2

        # The sandbox key is not the production key: the app refuses it.
        other = run_cli(
            "token", "-i", app.consumer_key, "-o", prod.username, "-r", sf.url,
            "-f", key_files[0],
        )  # fmt: skip
        assert other.code == 2, other
        assert "invalid_grant" in other.stderr


def test_permission_set_manifest_preauthorizes_only_its_holders(
    run_cli: RunCli, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key, cert = key_files
    out = tmp_path / "md"
    _manifest(run_cli, str(cert), out, "--permission-set", "Acme_Integration")
    with Emulator(app_metadata=out) as sf:
        app = sf.ctx.registry.get_app("Acme_Sync")
        assert app is not None
        sf.add_user(username="int@acme.com", permission_sets=("Acme_Integration",))
        sf.add_user(username="other@acme.com")
        flags = ("-i", app.consumer_key, "-r", sf.url, "-f", key)
        ok = run_cli("token", "-o", "int@acme.com", *flags)
        assert ok.code == 0, ok
        refused = run_cli("token", "-o", "other@acme.com", *flags)
        assert refused.code == 2, refused
        assert "approved" in refused.stderr
