"""The manifest round trip: ``sfbearer app manifest`` → emulator configured from those files →
a token is issued, audited in a trail, and refused for users the policy does not cover."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfbearer._exceptions import TokenRequestError
from sfbearer.audit import AuditTrail, read_trail, token_hash
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

RunCli = Callable[..., Any]


def _manifest(run_cli: RunCli, cert: Path, out: Path, *extra: str, code: int = 0) -> None:
    result = run_cli(
        "app", "manifest", "--name", "Acme_Sync", "--cert", cert, "--out-dir", out, *extra
    )
    assert result.code == code, result


def test_generated_metadata_configures_an_app_that_issues_tokens(
    run_cli: RunCli, key_pair: KeyPair, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _key, cert = key_files
    out = tmp_path / "force-app" / "main" / "default"
    _manifest(run_cli, cert, out, "--permission-set", "Acme_Integration", "--session-timeout", "30")
    trail_path = tmp_path / "audit.jsonl"
    with Emulator(app_metadata=out) as sf:
        app = sf.ctx.registry.get_app("Acme_Sync")
        assert app is not None
        assert app.session_timeout == 30
        sf.add_user(username="int@acme.com", permission_sets=("Acme_Integration",))
        sf.add_user(username="other@acme.com")
        creds = JWTBearerCredentials(
            client_id=app.consumer_key,
            username="int@acme.com",
            private_key=key_pair.private_key,
            environment=sf.url,
            audit=AuditTrail(trail_path),
            profile="acme",
        )
        with creds:
            token = creds.token()
        assert token.access_token.startswith(sf.org_id[:15])
        outsider = JWTBearerCredentials(
            client_id=app.consumer_key,
            username="other@acme.com",
            private_key=key_pair.private_key,
            environment=sf.url,
        )
        with outsider, pytest.raises(TokenRequestError) as refused:
            outsider.token()
        assert refused.value.error in ("invalid_app_access", "invalid_grant")
    records = list(read_trail(trail_path, profile="acme"))
    issued = [r for r in records if r["event"] == "token.issued"]
    assert len(issued) == 1
    assert issued[0]["token_hash"] == token_hash(token.access_token)
    assert issued[0]["username"] == "int@acme.com"
    assert token.access_token not in trail_path.read_text()


def test_scopes_from_the_manifest_reach_the_app(
    run_cli: RunCli, key_pair: KeyPair, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _key, cert = key_files
    out = tmp_path / "md"
    # without RefreshToken: a planned-setup warning, exit 1, the files written all the same
    _manifest(run_cli, cert, out, "--sf-profile", "Integration User", "--scopes", "Api", code=1)
    with Emulator(app_metadata=out) as sf:
        app = sf.ctx.registry.get_app("Acme_Sync")
        assert app is not None
        sf.add_user(username="int@acme.com")
        creds = JWTBearerCredentials(
            client_id=app.consumer_key,
            username="int@acme.com",
            private_key=key_pair.private_key,
            environment=sf.url,
        )
        with creds, pytest.raises(TokenRequestError) as refused:
            creds.token()  # no RefreshToken scope: Salesforce refuses, as the warning said
    assert refused.value.error == "invalid_request"
