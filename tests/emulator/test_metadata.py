"""Reading External Client App metadata, built after the samples in Salesforce's Metadata API guide."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from sfbearer._exceptions import ConfigError
from sfbearer.emulator.metadata import AppSpec, MetadataError, parse_scopes, read_app_metadata
from sfbearer.keys import KeyPair

NS = "http://soap.sforce.com/2006/04/metadata"


def write(base: Path, folder: str, filename: str, root: str, body: str, *, ns: str = NS) -> Path:
    path = base / folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">\n{body}\n</{root}>\n'
    )
    return path


def full_app(base: Path, pem: str, name: str = "OrderSync") -> None:
    """One app described by all five files, as a project's force-app/main/default holds it.

    The settings files carry their own names (as Salesforce's samples do) and point at the
    app through externalClientApplication.
    """
    write(
        base,
        "externalClientApps",
        f"{name}.eca-meta.xml",
        "ExternalClientApplication",
        """
    <contactEmail>integrations@acme.example</contactEmail>
    <description>Order sync service</description>
    <distributionState>Local</distributionState>
    <isProtected>false</isProtected>
    <label>Order Sync</label>""",
    )
    write(base, "extlClntAppGlobalOauthSets", f"{name}GlobalSettings.ecaGlblOauth-meta.xml",
          "ExtlClntAppGlobalOauthSettings", f"""
    <callbackUrl>https://localhost/callback</callbackUrl>
    <certificate>{pem}</certificate>
    <consumerKey>3MVG9exampleConsumerKey</consumerKey>
    <externalClientApplication>{name}</externalClientApplication>
    <isConsumerSecretOptional>true</isConsumerSecretOptional>
    <idTokenConfig>
        <idTokenAudience>SalesforceAudience</idTokenAudience>
        <idTokenIncludeStandardClaims>true</idTokenIncludeStandardClaims>
    </idTokenConfig>
    <!-- Salesforce says this file stays out of source control. -->
    <isPkceRequired>false</isPkceRequired>
    <label>{name} global</label>""")  # fmt: skip
    write(base, "extlClntAppOauthSettings", f"{name}Settings.ecaOauth-meta.xml",
          "ExtlClntAppOauthSettings", f"""
    <commaSeparatedOauthScopes>Api, RefreshToken</commaSeparatedOauthScopes>
    <externalClientApplication>{name}</externalClientApplication>
    <label>{name} OAuth settings</label>""")  # fmt: skip
    write(base, "extlClntAppOauthPolicies", f"{name}Policies.ecaOauthPlcy-meta.xml",
          "ExtlClntAppOauthConfigurablePolicies", f"""
    <commaSeparatedPermissionSet>Order Sync Access</commaSeparatedPermissionSet>
    <commaSeparatedProfile>Integration User, Minimum Access</commaSeparatedProfile>
    <externalClientApplication>{name}</externalClientApplication>
    <ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType>
    <label>{name} policies</label>
    <permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>
    <refreshTokenPolicyType>SpecificLifetime</refreshTokenPolicyType>
    <refreshTokenValidityPeriod>1</refreshTokenValidityPeriod>
    <refreshTokenValidityUnit>Days</refreshTokenValidityUnit>
    <sessionTimeoutInMinutes>30</sessionTimeoutInMinutes>""")  # fmt: skip
    write(base, "extlClntAppPolicies", f"{name}Plcy.ecaPlcy-meta.xml",
          "ExtlClntAppConfigurablePolicies", f"""
    <externalClientApplication>{name}</externalClientApplication>
    <isEnabled>true</isEnabled>
    <isOauthPluginEnabled>true</isOauthPluginEnabled>
    <label>{name} plcy</label>""")  # fmt: skip


@pytest.fixture
def pem(key_pair: KeyPair) -> str:
    return key_pair.certificate.public_bytes(Encoding.PEM).decode()


def test_full_app(tmp_path: Path, pem: str) -> None:
    full_app(tmp_path, pem)
    (app,) = read_app_metadata(tmp_path)
    assert app == AppSpec(
        name="OrderSync", label="Order Sync", consumer_key="3MVG9exampleConsumerKey",
        certificate_pem=pem.strip(), scopes=("refresh_token", "api"), policy="admin-approved",
        profiles=("Integration User", "Minimum Access"), permission_sets=("Order Sync Access",),
        session_timeout_minutes=30, contact_email="integrations@acme.example",
        description="Order sync service", enabled=True,
    )  # fmt: skip


def test_project_root_and_several_apps(tmp_path: Path, pem: str) -> None:
    base = tmp_path / "force-app" / "main" / "default"
    full_app(base, pem, "Alpha")
    write(
        base,
        "externalClientApps",
        "Beta.eca-meta.xml",
        "ExternalClientApplication",
        "<label>Beta</label>",
    )
    write(base, "extlClntAppOauthSettings", "BetaOauth.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
          "<commaSeparatedOauthScopes>api,refresh_token,OfflineAccess,Full,Web,OpenID</commaSeparatedOauthScopes>"
          "<externalClientApplication>Beta</externalClientApplication>")  # fmt: skip
    apps = read_app_metadata(tmp_path)  # the project root is found from above
    assert [a.name for a in apps] == ["Alpha", "Beta"]
    beta = apps[1]
    # Without a policies file Salesforce's default applies; no certificate, no key.
    assert (beta.policy, beta.certificate_pem, beta.consumer_key) == ("self-authorized", None, None)
    assert set(beta.scopes) == {"api", "refresh_token", "full", "web", "openid"}


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Api, RefreshToken", "api,refresh_token"),
        ("RefreshToken Api", "refresh_token, api"),
        ("OfflineAccess,Api", "api, refresh_token"),
        ("OpenID, Profile, Email", "openid,profile,email"),
        ("Full", "full"),
        ("Web, Api", "web api"),
    ],
)
def test_parse_scopes_one_parser_for_both_spellings(left: str, right: str) -> None:
    assert parse_scopes(left) == parse_scopes(right)
    assert all(s == s.lower() for s in parse_scopes(left))


def test_parse_scopes_order_and_errors() -> None:
    assert parse_scopes("Api, RefreshToken") == ("refresh_token", "api")
    with pytest.raises(ValueError, match="scope"):
        parse_scopes("")
    with pytest.raises(ValueError, match="scope"):
        parse_scopes("Api, <script>")


def _error(base: Path) -> MetadataError:
    with pytest.raises(MetadataError) as info:
        read_app_metadata(base)
    assert isinstance(info.value, ConfigError)
    return info.value


def test_dtd_and_entities_are_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "externalClientApps" / "Evil.eca-meta.xml"
    path.parent.mkdir()
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
                    f'<ExternalClientApplication xmlns="{NS}"><label>&b;</label>'
                    "</ExternalClientApplication>")  # fmt: skip
    err = _error(tmp_path)
    assert str(path) in str(err)
    assert "DOCTYPE" in str(err)
    path.write_text(f'<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd">'
                    f'<ExternalClientApplication xmlns="{NS}"/>')  # fmt: skip
    assert "DOCTYPE" in str(_error(tmp_path))


def test_malformed_files_name_the_file(tmp_path: Path, pem: str) -> None:
    full_app(tmp_path, pem)
    bad = tmp_path / "extlClntAppOauthSettings" / "OrderSyncSettings.ecaOauth-meta.xml"
    bad.write_text("<ExtlClntAppOauthSettings><unclosed>")
    err = _error(tmp_path)
    assert str(bad) in str(err)
    assert "well-formed" in str(err)
    write(
        tmp_path,
        "extlClntAppOauthSettings",
        bad.name,
        "ExtlClntAppOauthSettings",
        "<externalClientApplication>OrderSync</externalClientApplication>",
        ns="urn:wrong",
    )
    assert "namespace" in str(_error(tmp_path))
    write(
        tmp_path,
        "extlClntAppOauthSettings",
        bad.name,
        "ConnectedApp",
        "<externalClientApplication>OrderSync</externalClientApplication>",
    )
    assert "ExtlClntAppOauthSettings" in str(_error(tmp_path))


@pytest.mark.parametrize(
    ("folder", "filename", "root", "body", "fragment"),
    [
        ("extlClntAppOauthSettings", "x.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
         "<commaSeparatedOauthScopes>Api</commaSeparatedOauthScopes>", "externalClientApplication is required"),
        ("extlClntAppOauthSettings", "x.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
         "<externalClientApplication>Ghost</externalClientApplication>", "'Ghost'"),
        ("extlClntAppOauthSettings", "x.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
         "<externalClientApplication>OrderSync</externalClientApplication>"
         "<commaSeparatedOauthScopes>Api</commaSeparatedOauthScopes>", "a second OAuth settings file"),
        ("extlClntAppOauthSettings", "OrderSyncSettings.ecaOauth-meta.xml", "ExtlClntAppOauthSettings",
         "<externalClientApplication>OrderSync</externalClientApplication>"
         "<commaSeparatedOauthScopes>Api; DROP</commaSeparatedOauthScopes>", "commaSeparatedOauthScopes"),
        ("extlClntAppOauthPolicies", "OrderSyncPolicies.ecaOauthPlcy-meta.xml",
         "ExtlClntAppOauthConfigurablePolicies",
         "<externalClientApplication>OrderSync</externalClientApplication>"
         "<permittedUsersPolicyType>Everyone</permittedUsersPolicyType>", "permittedUsersPolicyType"),
        ("extlClntAppOauthPolicies", "OrderSyncPolicies.ecaOauthPlcy-meta.xml",
         "ExtlClntAppOauthConfigurablePolicies",
         "<externalClientApplication>OrderSync</externalClientApplication>"
         "<sessionTimeoutInMinutes>0</sessionTimeoutInMinutes>", "sessionTimeoutInMinutes"),
        ("extlClntAppGlobalOauthSets", "OrderSyncGlobalSettings.ecaGlblOauth-meta.xml",
         "ExtlClntAppGlobalOauthSettings",
         "<externalClientApplication>OrderSync</externalClientApplication>"
         "<certificate>not a certificate</certificate>", "PEM"),
        ("extlClntAppPolicies", "OrderSyncPlcy.ecaPlcy-meta.xml", "ExtlClntAppConfigurablePolicies",
         "<externalClientApplication>OrderSync</externalClientApplication><isEnabled>yes</isEnabled>",
         "isEnabled"),
    ],
)  # fmt: skip
def test_inconsistent_files(
    tmp_path: Path, pem: str, folder: str, filename: str, root: str, body: str, fragment: str
) -> None:
    full_app(tmp_path, pem)
    path = write(tmp_path, folder, filename, root, body)
    err = _error(tmp_path)
    assert fragment in str(err)
    assert str(path) in str(err)


def test_disabled_app(tmp_path: Path, pem: str) -> None:
    full_app(tmp_path, pem)
    write(
        tmp_path,
        "extlClntAppPolicies",
        "OrderSyncPlcy.ecaPlcy-meta.xml",
        "ExtlClntAppConfigurablePolicies",
        "<externalClientApplication>OrderSync</externalClientApplication><isEnabled>false</isEnabled>",
    )
    assert read_app_metadata(tmp_path)[0].enabled is False


def test_directory_problems(tmp_path: Path) -> None:
    assert "not a directory" in str(_error(tmp_path / "missing"))
    assert "no externalClientApps" in str(_error(tmp_path))
    big = tmp_path / "externalClientApps" / "Big.eca-meta.xml"
    big.parent.mkdir()
    big.write_bytes(b" " * (1024 * 1024 + 1))
    assert "larger than" in str(_error(tmp_path))


def test_reads_what_the_manifest_writer_generates(tmp_path: Path, pem: str) -> None:
    """The round trip, reader side: files from ``sfbearer app manifest`` configure an app."""
    from sfbearer import manifest

    spec = manifest.AppSpec(name="Acme_Sync", certificate_pem=pem, sf_profile="Integration User",
                            session_timeout=60, contact_email="ops@acme.example")  # fmt: skip
    out = tmp_path / "force-app" / "main" / "default"
    for relative, body in manifest.build_metadata(spec).items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    (app,) = read_app_metadata(tmp_path)
    assert app.name == "Acme_Sync"
    assert app.certificate_pem == pem.strip()
    assert app.consumer_key is None  # Salesforce (or the emulator) generates it
    assert app.scopes == ("refresh_token", "api")
    assert app.policy == "admin-approved"
    assert app.profiles == ("Integration User",)
    assert app.permission_sets == ()
    assert app.session_timeout_minutes == 60
    assert app.contact_email == "ops@acme.example"
    assert app.enabled is True
