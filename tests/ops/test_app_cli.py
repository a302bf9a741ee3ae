"""``sfbearer app manifest|checklist``: files, warnings, refusals and exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfbearer.keys import load_certificate
from sfbearer.manifest import METADATA_NAMESPACE

RunCli = Callable[..., Any]
MakeCert = Callable[..., Path]


def _policies(out: Path, name: str) -> dict[str, str]:
    root = ET.parse(out / "extlClntAppOauthPolicies" / f"{name}.ecaOauthPlcy-meta.xml").getroot()
    return {c.tag.removeprefix(f"{{{METADATA_NAMESPACE}}}"): c.text or "" for c in root}


def test_manifest_writes_files(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    cert = make_cert()
    out = tmp_path / "force-app" / "main" / "default"
    result = run_cli(
        "app", "manifest", "--name", "Acme_Sync", "--cert", cert, "--permission-set", "Acme_Int",
        "--session-timeout", "120", "--contact-email", "ops@acme.example", "--out-dir", out,
    )  # fmt: skip
    assert result.code == 0, result
    assert len(result.stdout.splitlines()) == 6
    assert (out / "package.xml").exists()
    policies = _policies(out, "Acme_Sync")
    assert policies["commaSeparatedPermissionSet"] == "Acme_Int"
    assert policies["sessionTimeoutInMinutes"] == "120"
    assert "do not commit" in result.stderr
    assert "extlClntAppGlobalOauthSets/" in result.stderr
    assert "sf project deploy start --manifest" in result.stderr
    assert "warning: scope" not in result.stderr


def test_manifest_json_and_scope_warning(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    cert = make_cert()
    result = run_cli(
        "app", "manifest", "--json", "--name", "Wide", "--cert", cert, "--sf-profile", "Integration",
        "--scopes", "api,refresh_token,full", "--out-dir", tmp_path,
    )  # fmt: skip
    assert result.code == 0
    data = json.loads(result.stdout)
    assert data["scopes"] == ["Api", "RefreshToken", "Full"]
    assert data["certificate_sha256"] == load_certificate(cert).sha256_fingerprint
    assert data["gitignore_line"].endswith("extlClntAppGlobalOauthSets/")
    assert any("Full" in w for w in data["warnings"])
    assert "scope Full is beyond least privilege" in result.stderr


def test_manifest_refuses_to_overwrite(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    args = ("app", "manifest", "--name", "Acme", "--cert", make_cert(), "--out-dir", tmp_path)
    assert run_cli(*args, "--permission-set", "P").code == 0
    before = _policies(tmp_path, "Acme")
    again = run_cli(*args, "--permission-set", "Other")
    assert again.code == 78
    assert "refusing to overwrite" in again.stderr
    assert "--force" in again.stderr
    assert _policies(tmp_path, "Acme") == before
    forced = run_cli(*args, "--permission-set", "Other", "--force")
    assert forced.code == 0
    assert _policies(tmp_path, "Acme")["commaSeparatedPermissionSet"] == "Other"


def test_manifest_warns_when_nobody_is_preauthorized(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    result = run_cli("app", "manifest", "--name", "A", "--cert", make_cert(), "--out-dir", tmp_path)
    assert result.code == 0
    assert "hasn't approved this consumer" in result.stderr


def test_manifest_warns_on_a_certificate_near_expiry(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    result = run_cli(
        "app", "manifest", "--name", "A", "--cert", make_cert(days_left=10), "--permission-set",
        "P", "--out-dir", tmp_path,
    )  # fmt: skip
    assert "(9 days left)" in result.stderr


def test_manifest_bad_input(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    cert = make_cert()
    base = ("app", "manifest", "--cert", cert, "--out-dir", tmp_path / "o")
    cases = [
        ((*base, "--name", "bad name"), 78, "invalid External Client App name"),
        ((*base, "--name", "A", "--scopes", "api,bogus"), 78, "unknown OAuth scope"),
        ((*base, "--name", "A", "--sf-profile", "P", "--permission-set", "S"), 64, "exclusive"),
        ((*base, "--name", "A", "--session-timeout", "45"), 64, "45"),
        ((*base, "--name", "A", "--contact-email", "x"), 78, "contact email"),
        (("app", "manifest", "--name", "A", "--cert", tmp_path / "none.crt"), 78, "not found"),
        (("app", "manifest", "--cert", cert), 64, "--name"),
    ]
    for args, code, text in cases:
        result = run_cli(*args)
        assert result.code == code, (args, result)
        assert text in result.stderr, (args, result)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()  # nothing written by any refusal


def test_manifest_key_instead_of_certificate(
    run_cli: RunCli, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key, _ = key_files
    result = run_cli("app", "manifest", "--name", "A", "--cert", key, "--out-dir", tmp_path / "o")
    assert result.code == 78
    assert "private key" in result.stderr
    assert "PRIVATE KEY" not in result.stdout + result.stderr


def test_checklist_text(run_cli: RunCli, make_cert: MakeCert) -> None:
    cert = make_cert()
    info = load_certificate(cert)
    result = run_cli(
        "app", "checklist", "--cert", cert, "--name", "Acme", "--permission-set", "Int"
    )
    assert result.code == 0, result
    assert info.sha1_fingerprint in result.stdout
    assert info.sha256_fingerprint in result.stdout
    assert str(cert) in result.stdout
    assert "Admin approved users are pre-authorized" in result.stdout
    assert "Enable JWT Bearer Flow" in result.stdout
    assert "Permission set: Int" in result.stdout
    assert result.stderr == ""


def test_checklist_json_and_warnings(run_cli: RunCli) -> None:
    result = run_cli("app", "checklist", "--json", "--scopes", "Api,RefreshToken,Web")
    assert result.code == 1
    data = json.loads(result.stdout)
    assert len(data["steps"]) >= 6
    assert any("Web" in w for w in data["warnings"])
    assert any("hasn't approved" in w for w in data["warnings"])


def test_checklist_bad_input(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("app", "checklist", "--scopes", "nope").code == 78
    assert run_cli("app", "checklist", "--cert", tmp_path / "x.crt").code == 78
    assert run_cli("app", "checklist", "--sf-profile", "a", "--permission-set", "b").code == 64


def test_manifest_warns_on_an_expired_certificate(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    result = run_cli(
        "app", "manifest", "--name", "A", "--cert", make_cert(days_left=-2), "--permission-set",
        "P", "--out-dir", tmp_path,
    )  # fmt: skip
    assert result.code == 0
    assert "the certificate expired on" in result.stderr
