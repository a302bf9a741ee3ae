"""External Client App as code: Salesforce metadata for a JWT bearer integration, and a checklist.

:func:`build_metadata` makes the source-format files ``sf project deploy start`` takes
(one ``NAME`` component of each type; folder and suffix as Salesforce documents them):

==========================================================  ==================================
``externalClientApps/NAME.eca-meta.xml``                    ExternalClientApplication
``extlClntAppGlobalOauthSets/NAME.ecaGlblOauth-meta.xml``   ExtlClntAppGlobalOauthSettings
``extlClntAppOauthSettings/NAME.ecaOauth-meta.xml``         ExtlClntAppOauthSettings
``extlClntAppOauthPolicies/NAME.ecaOauthPlcy-meta.xml``     ExtlClntAppOauthConfigurablePolicies
``extlClntAppPolicies/NAME.ecaPlcy-meta.xml``               ExtlClntAppConfigurablePolicies
``package.xml``                                             the manifest listing them
==========================================================  ==================================

The global OAuth settings carry the certificate (which enables the JWT bearer flow; API
60.0+) and must not be committed: Salesforce keeps consumer secrets in that type.
:func:`checklist` is the same setup as manual steps with the values to paste.

Example:
    >>> spec = AppSpec(name="Acme_Sync", certificate_pem=pem, permission_set="Acme_Integration")  # doctest: +SKIP
    >>> files = build_metadata(spec)  # doctest: +SKIP
    >>> sorted(files)[0]  # doctest: +SKIP
    'extlClntAppGlobalOauthSets/Acme_Sync.ecaGlblOauth-meta.xml'
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sfbearer._exceptions import ConfigError
from sfbearer._files import atomic_write
from sfbearer._package_merge import MAX_PACKAGE_XML_BYTES, merge_package_xml

__all__ = [
    "API_VERSION",
    "DEFAULT_SCOPES",
    "GLOBAL_OAUTH_DIR",
    "KNOWN_SCOPES",
    "METADATA_NAMESPACE",
    "SESSION_TIMEOUTS",
    "AppSpec",
    "build_metadata",
    "merge_package_xml",
    "parse_scopes",
    "scope_warnings",
    "write_metadata",
]

METADATA_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "66.0"  # the certificate field needs 60.0 or later
DEFAULT_SCOPES = ("Api", "RefreshToken")
DEFAULT_CALLBACK_URL = "http://localhost:1717/OauthRedirect"
SESSION_TIMEOUTS = (15, 30, 60, 120, 240, 480, 720, 1440)
GLOBAL_OAUTH_DIR = "extlClntAppGlobalOauthSets"

# The scope tokens of ExtlClntAppOauthSettings.commaSeparatedOauthScopes, by lower-cased
# spelling (people type "api" or "refresh_token"; Salesforce wants "Api", "RefreshToken").
KNOWN_SCOPES: dict[str, str] = {
    token.lower(): token
    for token in (
        "Basic", "Api", "Web", "Full", "Chatter", "CustomApplications", "RefreshToken",
        "OpenID", "Profile", "Email", "Address", "Phone", "OfflineAccess", "CustomPermissions",
        "Wave", "Eclair", "Pardot", "Lightning", "Content", "CDPIngest", "CDPProfile",
        "CDPQuery", "Chatbot", "CDPSegment", "CDPIdentityResolution", "CDPCalculatedInsight",
        "SFApiPlatform", "Interaction", "EinsteinGPT", "PwdlessLogin", "ForgotPassword",
        "UserRegistration", "MCP", "SCRT",
    )
}  # fmt: skip
_SCOPE_ALIASES = {
    "refresh_token": "RefreshToken",
    "offline_access": "OfflineAccess",
    "openid": "OpenID",
}
_BROAD_SCOPES = {
    "Full": "Full grants everything the user can do, including the web UI",
    "Web": "Web lets the token drive the web UI and Visualforce",
}
# Salesforce API names: a letter, then letters, digits and single underscores; ≤ 80 chars.
_API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$")

_EXTERNAL_CLIENT_APP = ("externalClientApps", "eca", "ExternalClientApplication")
_GLOBAL_OAUTH = (GLOBAL_OAUTH_DIR, "ecaGlblOauth", "ExtlClntAppGlobalOauthSettings")
_OAUTH_SETTINGS = ("extlClntAppOauthSettings", "ecaOauth", "ExtlClntAppOauthSettings")
_OAUTH_POLICIES = (
    "extlClntAppOauthPolicies",
    "ecaOauthPlcy",
    "ExtlClntAppOauthConfigurablePolicies",
)
_APP_POLICIES = ("extlClntAppPolicies", "ecaPlcy", "ExtlClntAppConfigurablePolicies")
_TYPES = (_EXTERNAL_CLIENT_APP, _GLOBAL_OAUTH, _OAUTH_SETTINGS, _OAUTH_POLICIES, _APP_POLICIES)


def parse_scopes(text: str | Iterable[str]) -> tuple[str, ...]:
    """Normalise scope names to Salesforce's metadata tokens, in order, without duplicates.

    Accepts ``"Api,RefreshToken"``, ``"api refresh_token"`` or a list.

    Raises:
        ConfigError: an unknown scope (the message lists the known ones).

    Example:
        >>> parse_scopes("api, refresh_token")
        ('Api', 'RefreshToken')
    """
    items = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
    scopes: list[str] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        token = _SCOPE_ALIASES.get(item.lower()) or KNOWN_SCOPES.get(item.lower())
        if token is None:
            raise ConfigError(
                f"unknown OAuth scope {item!r}",
                hint="scopes are Salesforce metadata tokens such as Api, RefreshToken, "
                "OpenID, Basic (see docs/external-client-app.md)",
            )
        if token not in scopes:
            scopes.append(token)
    if not scopes:
        raise ConfigError(
            "at least one OAuth scope is needed", hint="use --scopes Api,RefreshToken"
        )
    return tuple(scopes)


def scope_warnings(scopes: Iterable[str]) -> list[str]:
    """What is wrong with ``scopes`` for a least-privilege JWT bearer integration.

    ``Api`` and ``RefreshToken`` (or ``OfflineAccess``) are what the flow needs; the token
    request fails without the refresh scope even though no refresh token is ever issued.

    Example:
        >>> scope_warnings(["Api", "RefreshToken", "Full"])[0]
        'scope Full is beyond least privilege: Full grants everything the user can do, including the web UI'
    """
    chosen = list(scopes)
    warnings = []
    for scope in chosen:
        if scope in _BROAD_SCOPES:
            warnings.append(f"scope {scope} is beyond least privilege: {_BROAD_SCOPES[scope]}")
        elif scope not in ("Api", "RefreshToken", "OfflineAccess"):
            warnings.append(
                f"scope {scope} is beyond least privilege: a JWT bearer integration needs "
                "Api and RefreshToken only"
            )
    if "Api" not in chosen:
        warnings.append("scope Api is missing: the token will not work with the REST API")
    if "RefreshToken" not in chosen and "OfflineAccess" not in chosen:
        warnings.append(
            "scope RefreshToken is missing: Salesforce refuses the JWT bearer token request "
            "without it (refresh_token scope is required...)"
        )
    return warnings


@dataclass(frozen=True, slots=True)
class AppSpec:
    """What the External Client App should be.

    Attributes:
        name: the app's API name (letters, digits, single underscores; starts with a letter).
        certificate_pem: the X.509 certificate (PEM) whose key signs the assertions.
        scopes: metadata scope tokens (default ``Api``, ``RefreshToken``).
        sf_profile: the Salesforce profile(s) pre-authorized, comma-separated.
        permission_set: the permission set(s) pre-authorized, comma-separated.
        session_timeout: minutes (15, 30, 60, 120, 240, 480, 720, 1440) or ``None`` for the
            org's default.
        contact_email: the app's contact address.
        label: the display label (default: the name).
        description: the app's description.
        callback_url: required by the OAuth settings, unused by the JWT bearer flow.
    """

    name: str
    certificate_pem: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    sf_profile: str | None = None
    permission_set: str | None = None
    session_timeout: int | None = None
    contact_email: str | None = None
    label: str | None = None
    description: str = "Server-to-server integration over the OAuth 2.0 JWT bearer flow (sfbearer)."
    callback_url: str = DEFAULT_CALLBACK_URL

    def __post_init__(self) -> None:
        if len(self.name) > 80 or not _API_NAME.match(self.name) or self.name.endswith("_"):
            raise ConfigError(
                f"invalid External Client App name {self.name!r}",
                hint="use an API name: a letter, then letters, digits and single underscores "
                "(at most 80 characters), e.g. Acme_Sync",
            )
        if "-----BEGIN CERTIFICATE-----" not in self.certificate_pem:
            raise ConfigError("the certificate must be a PEM X.509 certificate")
        if self.sf_profile and self.permission_set:
            raise ConfigError("give either a Salesforce profile or a permission set, not both")
        if self.session_timeout is not None and self.session_timeout not in SESSION_TIMEOUTS:
            allowed = ", ".join(map(str, SESSION_TIMEOUTS))
            raise ConfigError(
                f"session timeout {self.session_timeout} is not one Salesforce offers",
                hint=f"use one of {allowed} minutes",
            )
        if self.contact_email is not None and not re.fullmatch(
            r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", self.contact_email
        ):
            raise ConfigError(f"invalid contact email {self.contact_email!r}")
        parse_scopes(self.scopes)  # validates

    @property
    def display_label(self) -> str:
        return self.label or self.name

    @property
    def preauthorized(self) -> str:
        if self.sf_profile:
            return f"profile {self.sf_profile}"
        if self.permission_set:
            return f"permission set {self.permission_set}"
        return "nobody yet"


def _document(root_tag: str, fields: Iterable[tuple[str, str | None]]) -> bytes:
    ET.register_namespace("", METADATA_NAMESPACE)
    root = ET.Element(f"{{{METADATA_NAMESPACE}}}{root_tag}")
    # Fields in alphabetical order, as Salesforce itself writes them on retrieve.
    for name, value in sorted(fields):
        if value is None:
            continue
        child = ET.SubElement(root, f"{{{METADATA_NAMESPACE}}}{name}")
        child.text = value
    ET.indent(root, space="    ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _path(kind: tuple[str, str, str], name: str) -> str:
    folder, suffix, _ = kind
    return f"{folder}/{name}.{suffix}-meta.xml"


def build_metadata(spec: AppSpec, *, api_version: str = API_VERSION) -> dict[str, bytes]:
    """The metadata files for ``spec``: relative path → XML bytes (``package.xml`` included).

    Example:
        >>> files = build_metadata(spec)  # doctest: +SKIP
        >>> "package.xml" in files  # doctest: +SKIP
        True
    """
    if float(api_version) < 60.0:
        raise ConfigError("the certificate field needs metadata API version 60.0 or later")
    name = spec.name
    pem = spec.certificate_pem.strip() + "\n"
    files = {
        _path(_EXTERNAL_CLIENT_APP, name): _document(
            "ExternalClientApplication",
            [
                ("contactEmail", spec.contact_email),
                ("description", spec.description),
                ("distributionState", "Local"),
                ("isProtected", "false"),
                ("label", spec.display_label),
            ],
        ),
        _path(_GLOBAL_OAUTH, name): _document(
            "ExtlClntAppGlobalOauthSettings",
            [
                ("callbackUrl", spec.callback_url),
                ("certificate", pem),
                ("externalClientApplication", name),
                ("isConsumerSecretOptional", _bool(False)),
                ("isIntrospectAllTokens", _bool(False)),
                ("isPkceRequired", _bool(True)),
                ("isSecretRequiredForRefreshToken", _bool(True)),
                ("label", f"{spec.display_label} global OAuth settings"),
                ("shouldRotateConsumerKey", _bool(False)),
                ("shouldRotateConsumerSecret", _bool(False)),
            ],
        ),
        _path(_OAUTH_SETTINGS, name): _document(
            "ExtlClntAppOauthSettings",
            [
                ("commaSeparatedOauthScopes", ", ".join(spec.scopes)),
                ("externalClientApplication", name),
                ("label", f"{spec.display_label} OAuth settings"),
            ],
        ),
        _path(_OAUTH_POLICIES, name): _document(
            "ExtlClntAppOauthConfigurablePolicies",
            [
                ("commaSeparatedPermissionSet", spec.permission_set),
                ("commaSeparatedProfile", spec.sf_profile),
                ("externalClientApplication", name),
                ("ipRelaxationPolicyType", "Enforce"),
                ("label", f"{spec.display_label} OAuth policies"),
                ("permittedUsersPolicyType", "AdminApprovedPreAuthorized"),
                ("refreshTokenPolicyType", "Zero"),
                (
                    "sessionTimeoutInMinutes",
                    str(spec.session_timeout) if spec.session_timeout else None,
                ),
            ],
        ),
        _path(_APP_POLICIES, name): _document(
            "ExtlClntAppConfigurablePolicies",
            [
                ("externalClientApplication", name),
                ("isEnabled", "true"),
                ("isOauthPluginEnabled", "true"),
                ("label", f"{spec.display_label} policies"),
            ],
        ),
    }
    files["package.xml"] = _package_xml(name, api_version)
    return files


def _package_xml(name: str, api_version: str) -> bytes:
    ET.register_namespace("", METADATA_NAMESPACE)
    ns = f"{{{METADATA_NAMESPACE}}}"
    root = ET.Element(f"{ns}Package")
    for _, _, type_name in _TYPES:
        types = ET.SubElement(root, f"{ns}types")
        ET.SubElement(types, f"{ns}members").text = name
        ET.SubElement(types, f"{ns}name").text = type_name
    ET.SubElement(root, f"{ns}version").text = api_version
    ET.indent(root, space="    ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def write_metadata(
    out_dir: str | os.PathLike[str],
    files: Mapping[str, bytes],
    *,
    force: bool = False,
    on_package_xml: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write ``files`` under ``out_dir``, each atomically; refuse to overwrite unless ``force``.

    An existing ``package.xml`` is merged, not replaced: its members are kept and the new
    ones added, so a second app (or any other component of the project) stays in the deploy
    manifest, with or without ``force``. Every target is checked (and the merge made) before
    any is written, so a refusal leaves nothing half done.

    ``on_package_xml`` hears what became of ``package.xml``: ``"written"`` (there was none),
    ``"merged"``, or ``"replaced"`` (one that could not be merged, with ``force``).

    Raises:
        ConfigError: a file exists (without ``force``), the existing ``package.xml`` cannot be
            merged (without ``force``), or a file cannot be written.
    """
    base = Path(out_dir)
    targets = [(base / relative, data) for relative, data in files.items()]
    manifest_path = base / "package.xml"
    if not force:
        existing = [
            str(p) for p, _ in targets if p != manifest_path and (p.exists() or p.is_symlink())
        ]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise ConfigError(
                f"{existing[0]} already exists{more}; refusing to overwrite it",
                hint="pass --force to replace this app's files (package.xml is merged "
                "either way), or choose another --name or --out-dir",
            )
    outcome = "written"
    for index, (path, data) in enumerate(targets):
        if path == manifest_path and path.is_file():
            try:
                with path.open("rb") as handle:  # a manifest is small; never read a huge file
                    current = handle.read(MAX_PACKAGE_XML_BYTES + 1)
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
            try:
                targets[index] = (path, merge_package_xml(current, data, source=str(path)))
                outcome = "merged"
            except ConfigError:
                if not force:
                    raise
                outcome = "replaced"
    written = []
    try:
        for path, data in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, mode=0o600 if GLOBAL_OAUTH_DIR in path.parts else 0o644)
            written.append(path)
    except OSError as exc:
        raise ConfigError(f"cannot write into {base}: {exc.strerror or exc}") from None
    if on_package_xml is not None and manifest_path in written:
        on_package_xml(outcome)
    return written
