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
    assert result.code == 1  # warnings, as checklist
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1
    assert data["package_xml"] == "written"
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
    assert result.code == 1, result
    assert "hasn't approved this consumer" in result.stderr
    assert (tmp_path / "package.xml").is_file()  # written all the same
    checklist = run_cli("app", "checklist", "--name", "A", "--cert", make_cert())
    assert checklist.code == result.code  # the same verdict for the same planned setup


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
    assert result.code == 1
    assert "the certificate expired on" in result.stderr


def test_manifest_json_without_warnings_says_exit_code_0(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    result = run_cli(
        "app", "manifest", "--json", "--name", "A", "--cert", make_cert(), "--permission-set",
        "P", "--out-dir", tmp_path,
    )  # fmt: skip
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["exit_code"] == 0
    assert data["warnings"] == []
    checklist = run_cli("app", "checklist", "--json", "--permission-set", "P")
    assert json.loads(checklist.stdout)["exit_code"] == checklist.code == 0


def _members(package_xml: Path) -> dict[str, list[str]]:
    ns = f"{{{METADATA_NAMESPACE}}}"
    root = ET.parse(package_xml).getroot()
    return {
        t.findtext(f"{ns}name") or "": [m.text or "" for m in t.findall(f"{ns}members")]
        for t in root.findall(f"{ns}types")
    }


_ECA_TYPES = {
    "ExternalClientApplication",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
    "ExtlClntAppConfigurablePolicies",
}


def test_a_second_app_is_merged_into_package_xml(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    """Plan (b) of a rotation: the second app goes beside the first, in the same manifest."""
    out = tmp_path / "force-app" / "main" / "default"
    first = ("app", "manifest", "--name", "Acme_Sync", "--permission-set", "P", "--out-dir", out)
    assert run_cli(*first, "--cert", make_cert()).code == 0
    second = run_cli(
        "app", "manifest", "--name", "Acme_Sync_2", "--cert", make_cert(), "--permission-set",
        "P", "--out-dir", out,
    )  # fmt: skip
    assert second.code == 0, second
    assert "Acme_Sync_2 added; the members already listed are kept" in second.stderr
    members = _members(out / "package.xml")
    assert set(members) == _ECA_TYPES
    assert all(names == ["Acme_Sync", "Acme_Sync_2"] for names in members.values()), members
    assert (out / "externalClientApps" / "Acme_Sync.eca-meta.xml").is_file()
    assert (out / "externalClientApps" / "Acme_Sync_2.eca-meta.xml").is_file()
    # the first app's own files are still refused without --force, and nothing changes
    before = (out / "package.xml").read_bytes()
    again = run_cli(*first, "--cert", make_cert())
    assert again.code == 78
    assert "refusing to overwrite" in again.stderr
    assert (out / "package.xml").read_bytes() == before
    # with --force the app's files are replaced, and the manifest still lists both apps
    assert run_cli(*first, "--cert", make_cert(), "--force").code == 0
    assert all(v == ["Acme_Sync", "Acme_Sync_2"] for v in _members(out / "package.xml").values())


def test_a_merged_manifest_keeps_the_project_s_other_components(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    (tmp_path / "package.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Package xmlns="{METADATA_NAMESPACE}">\n'
        "    <!-- the project's own classes -->\n"
        "    <types>\n        <members>AcmeSync</members>\n        <name>ApexClass</name>\n"
        "    </types>\n    <version>58.0</version>\n</Package>\n"
    )
    result = run_cli(
        "app", "manifest", "--json", "--name", "A", "--cert", make_cert(), "--permission-set",
        "P", "--out-dir", tmp_path,
    )  # fmt: skip
    assert result.code == 0, result
    assert json.loads(result.stdout)["package_xml"] == "merged"
    members = _members(tmp_path / "package.xml")
    assert members["ApexClass"] == ["AcmeSync"]
    assert {k for k, v in members.items() if v == ["A"]} == _ECA_TYPES
    text = (tmp_path / "package.xml").read_text()
    assert "<!-- the project's own classes -->" in text
    assert "<version>66.0</version>" in text  # the certificate field needs 60.0 or later


def test_a_package_xml_that_cannot_be_merged_is_refused_without_force(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    (tmp_path / "package.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x "y">]>\n<Package>&x;</Package>\n'
    )
    args = ("app", "manifest", "--name", "A", "--cert", make_cert(), "--permission-set", "P")
    result = run_cli(*args, "--out-dir", tmp_path)
    assert result.code == 78, result
    assert "declares a DTD" in result.stderr
    assert "--force" in result.stderr
    assert not (tmp_path / "externalClientApps").exists()  # nothing half done
    forced = run_cli(*args, "--out-dir", tmp_path, "--force")
    assert forced.code == 0, forced
    assert "could not be merged and was replaced" in forced.stderr  # never "kept"
    assert "already listed are kept" not in forced.stderr
    assert set(_members(tmp_path / "package.xml")) == _ECA_TYPES
    again = run_cli(*args, "--out-dir", tmp_path, "--force", "--json")
    assert json.loads(again.stdout)["package_xml"] == "merged"  # the new file merges fine
