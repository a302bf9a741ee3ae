"""External Client App metadata: names, namespace, values, escaping; scopes; the checklist."""

from __future__ import annotations

import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sfbearer._exceptions import ConfigError
from sfbearer.checklist import checklist, checklist_warnings
from sfbearer.keys import KeyPair, load_certificate
from sfbearer.manifest import (
    METADATA_NAMESPACE,
    AppSpec,
    build_metadata,
    parse_scopes,
    scope_warnings,
    write_metadata,
)

NS = {"md": METADATA_NAMESPACE}
EXPECTED_FILES = {
    "externalClientApps/Acme_Sync.eca-meta.xml": "ExternalClientApplication",
    "extlClntAppGlobalOauthSets/Acme_Sync.ecaGlblOauth-meta.xml": "ExtlClntAppGlobalOauthSettings",
    "extlClntAppOauthSettings/Acme_Sync.ecaOauth-meta.xml": "ExtlClntAppOauthSettings",
    "extlClntAppOauthPolicies/Acme_Sync.ecaOauthPlcy-meta.xml": "ExtlClntAppOauthConfigurablePolicies",
    "extlClntAppPolicies/Acme_Sync.ecaPlcy-meta.xml": "ExtlClntAppConfigurablePolicies",
    "package.xml": "Package",
}


@pytest.fixture
def pem(key_pair: KeyPair) -> str:
    return key_pair.certificate_info.pem().decode()


def _root(data: bytes) -> ET.Element:
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(data)


def _fields(root: ET.Element) -> dict[str, str]:
    return {child.tag.split("}")[1]: child.text or "" for child in root}


def test_files_types_and_namespace(pem: str) -> None:
    files = build_metadata(
        AppSpec(name="Acme_Sync", certificate_pem=pem, permission_set="Acme_Int")
    )
    assert set(files) == set(EXPECTED_FILES)
    for path, type_name in EXPECTED_FILES.items():
        root = _root(files[path])
        assert root.tag == f"{{{METADATA_NAMESPACE}}}{type_name}", path
        for child in root.iter():
            assert child.tag.startswith(f"{{{METADATA_NAMESPACE}}}")
        names = [c.tag for c in root]
        if type_name != "Package":
            assert names == sorted(names)  # alphabetical, as Salesforce retrieves them
            assert _fields(root).get("externalClientApplication", "Acme_Sync") == "Acme_Sync"


def test_values(pem: str) -> None:
    spec = AppSpec(
        name="Acme_Sync",
        certificate_pem=pem,
        sf_profile="Integration Profile",
        session_timeout=60,
        contact_email="ops@acme.example",
    )
    files = build_metadata(spec)
    header = _fields(_root(files["externalClientApps/Acme_Sync.eca-meta.xml"]))
    assert header["distributionState"] == "Local"
    assert header["contactEmail"] == "ops@acme.example"
    assert header["label"] == "Acme_Sync"
    glbl = _fields(_root(files["extlClntAppGlobalOauthSets/Acme_Sync.ecaGlblOauth-meta.xml"]))
    assert (
        load_certificate(glbl["certificate"].encode()).sha256_fingerprint
        == load_certificate(pem.encode()).sha256_fingerprint
    )
    assert "consumerKey" not in glbl  # Salesforce generates it
    assert "consumerSecret" not in glbl
    oauth = _fields(_root(files["extlClntAppOauthSettings/Acme_Sync.ecaOauth-meta.xml"]))
    assert oauth["commaSeparatedOauthScopes"] == "Api, RefreshToken"
    policies = _fields(_root(files["extlClntAppOauthPolicies/Acme_Sync.ecaOauthPlcy-meta.xml"]))
    assert policies["permittedUsersPolicyType"] == "AdminApprovedPreAuthorized"
    assert policies["commaSeparatedProfile"] == "Integration Profile"
    assert "commaSeparatedPermissionSet" not in policies
    assert policies["ipRelaxationPolicyType"] == "Enforce"
    assert policies["sessionTimeoutInMinutes"] == "60"
    plugin = _fields(_root(files["extlClntAppPolicies/Acme_Sync.ecaPlcy-meta.xml"]))
    assert plugin["isEnabled"] == "true"
    assert plugin["isOauthPluginEnabled"] == "true"


def test_package_xml_lists_every_type(pem: str) -> None:
    files = build_metadata(AppSpec(name="Acme_Sync", certificate_pem=pem), api_version="61.0")
    root = _root(files["package.xml"])
    types = {
        t.findtext("md:name", namespaces=NS): [m.text for m in t.findall("md:members", NS)]
        for t in root.findall("md:types", NS)
    }
    assert types == {t: ["Acme_Sync"] for t in EXPECTED_FILES.values() if t != "Package"}
    assert root.findtext("md:version", namespaces=NS) == "61.0"
    default = _root(build_metadata(AppSpec(name="Acme_Sync", certificate_pem=pem))["package.xml"])
    assert float(default.findtext("md:version", namespaces=NS) or 0) >= 60.0
    with pytest.raises(ConfigError, match=r"60\.0"):
        build_metadata(AppSpec(name="Acme_Sync", certificate_pem=pem), api_version="59.0")


def test_text_is_escaped(pem: str) -> None:
    spec = AppSpec(
        name="Acme_Sync",
        certificate_pem=pem,
        permission_set="A&B <Int>",
        label='Acme "Sync" & <Co>',
        description="x]]>y</description><evil/>",
    )
    files = build_metadata(spec)
    header = _fields(_root(files["externalClientApps/Acme_Sync.eca-meta.xml"]))
    assert header["label"] == 'Acme "Sync" & <Co>'
    assert header["description"] == "x]]>y</description><evil/>"
    policies = _root(files["extlClntAppOauthPolicies/Acme_Sync.ecaOauthPlcy-meta.xml"])
    assert _fields(policies)["commaSeparatedPermissionSet"] == "A&B <Int>"
    assert policies.find("md:evil", NS) is None


@pytest.mark.parametrize(
    ("text", "scopes"),
    [
        ("Api,RefreshToken", ("Api", "RefreshToken")),
        ("api refresh_token", ("Api", "RefreshToken")),
        ("API, api, offline_access", ("Api", "OfflineAccess")),
        (["openid", "Basic"], ("OpenID", "Basic")),
    ],
)
def test_parse_scopes(text: str | list[str], scopes: tuple[str, ...]) -> None:
    assert parse_scopes(text) == scopes


@pytest.mark.parametrize("text", ["Api,Everything", "", " , ", "api;web"])
def test_parse_scopes_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_scopes(text)


def test_scope_warnings() -> None:
    assert scope_warnings(["Api", "RefreshToken"]) == []
    assert scope_warnings(["Api", "OfflineAccess"]) == []
    full = scope_warnings(["Api", "RefreshToken", "Full", "Web", "Chatter"])
    assert [w.split()[1] for w in full] == ["Full", "Web", "Chatter"]
    assert any("RefreshToken is missing" in w for w in scope_warnings(["Api"]))
    assert any("Api is missing" in w for w in scope_warnings(["RefreshToken"]))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"name": "1bad"}, "invalid External Client App name"),
        ({"name": "two__underscores"}, "invalid"),
        ({"name": "trailing_"}, "invalid"),
        ({"name": "a" * 81}, "invalid"),
        ({"name": "has space"}, "invalid"),
        ({"certificate_pem": "-----BEGIN PRIVATE KEY-----"}, "PEM X.509"),
        ({"sf_profile": "P", "permission_set": "S"}, "not both"),
        ({"session_timeout": 45}, "session timeout"),
        ({"contact_email": "nobody"}, "contact email"),
        ({"scopes": ("Api", "Nope")}, "unknown OAuth scope"),
    ],
)
def test_spec_validation(pem: str, changes: dict[str, object], match: str) -> None:
    values: dict[str, object] = {"name": "Acme_Sync", "certificate_pem": pem}
    values.update(changes)
    with pytest.raises(ConfigError, match=match):
        AppSpec(**values)  # type: ignore[arg-type]


def test_write_refuses_to_overwrite(tmp_path: Path, pem: str) -> None:
    files = build_metadata(AppSpec(name="Acme_Sync", certificate_pem=pem))
    written = write_metadata(tmp_path, files)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == set(files)
    secret = tmp_path / "extlClntAppGlobalOauthSets/Acme_Sync.ecaGlblOauth-meta.xml"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    (tmp_path / "package.xml").write_text("mine")
    (tmp_path / "externalClientApps/Acme_Sync.eca-meta.xml").unlink()
    with pytest.raises(ConfigError, match="refusing to overwrite") as info:
        write_metadata(tmp_path, files)
    assert "--force" in info.value.hint
    assert (tmp_path / "package.xml").read_text() == "mine"  # nothing half done
    assert not (tmp_path / "externalClientApps/Acme_Sync.eca-meta.xml").exists()
    write_metadata(tmp_path, files, force=True)
    assert (tmp_path / "package.xml").read_bytes() == files["package.xml"]


def test_write_into_unwritable_place(tmp_path: Path, pem: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write"):
        write_metadata(blocker, build_metadata(AppSpec(name="Acme_Sync", certificate_pem=pem)))


def test_checklist_values(key_pair: KeyPair) -> None:
    info = key_pair.certificate_info
    steps = checklist(
        name="Acme_Sync",
        certificate=info,
        certificate_file="keys/server.crt",
        permission_set="Acme_Int",
        session_timeout=30,
    )
    values = {k: v for s in steps for k, v in s.values.items()}
    assert values["Certificate file"] == "keys/server.crt"
    assert values["SHA-1 fingerprint"] == info.sha1_fingerprint
    assert values["SHA-256 fingerprint"] == info.sha256_fingerprint
    assert values["Permission set"] == "Acme_Int"
    assert values["Permitted Users"] == "Admin approved users are pre-authorized"
    assert values["Session Timeout"] == "30 minutes"
    assert values["API Name"] == "Acme_Sync"
    assert "(api)" in values["Selected OAuth Scopes"]
    assert "refresh_token" in values["Selected OAuth Scopes"]
    text = " ".join(a for s in steps for a in s.actions)
    assert "Enable JWT Bearer Flow" in text
    assert "External Client App Manager" in text
    assert steps[0].as_dict()["title"] == "Create the integration user"


def test_checklist_warnings() -> None:
    assert checklist_warnings(["Api", "RefreshToken"], sf_profile=None, permission_set="S") == []
    (warning,) = checklist_warnings(["Api", "RefreshToken"], sf_profile=None, permission_set=None)
    assert "hasn't approved" in warning
