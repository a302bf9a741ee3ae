"""Read External Client App metadata (the files ``sf project deploy start`` takes) into AppSpecs.

This reader is written apart from the manifest writer on purpose: a misunderstanding
shared by both could not then pass the round trip. Files are parsed with the standard
library after refusing DTDs outright (no DOCTYPE, no ENTITY: nothing to expand) and
capping their size.

Layout (names of the settings files need not match the app's; they point at it through
``externalClientApplication``)::

    externalClientApps/NAME.eca-meta.xml
    extlClntAppGlobalOauthSets/*.ecaGlblOauth-meta.xml   certificate, consumerKey
    extlClntAppOauthSettings/*.ecaOauth-meta.xml         commaSeparatedOauthScopes
    extlClntAppOauthPolicies/*.ecaOauthPlcy-meta.xml     permitted users, profiles, timeout
    extlClntAppPolicies/*.ecaPlcy-meta.xml               isEnabled

Example:
    >>> parse_scopes("Api, RefreshToken") == parse_scopes("api,refresh_token")
    True
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sfbearer._exceptions import ConfigError
from sfbearer._xml import declares_dtd

from .config import format_scopes
from .config import parse_scopes as _parse_scope_set

__all__ = [
    "MAX_FILE_BYTES",
    "METADATA_NAMESPACE",
    "AppSpec",
    "MetadataError",
    "parse_scopes",
    "read_app_metadata",
]

METADATA_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 1000
ADMIN_APPROVED = "admin-approved"
SELF_AUTHORIZED = "self-authorized"
_POLICIES = {"AdminApprovedPreAuthorized": ADMIN_APPROVED, "AllSelfAuthorized": SELF_AUTHORIZED}


class MetadataError(ConfigError):
    """A metadata file or directory that cannot configure the emulator; names the file."""


@dataclass(frozen=True)
class AppSpec:
    """One External Client App as its metadata describes it.

    Attributes:
        name: the app's API name (the ``.eca-meta.xml`` file's name).
        scopes: OAuth scopes in their token spelling (``api``, ``refresh_token``), in
            Salesforce's order; empty when the app has no OAuth settings.
        policy: ``admin-approved`` or ``self-authorized`` (Salesforce's default, used when
            the app has no OAuth policies file).
    """

    name: str
    label: str
    consumer_key: str | None = None
    certificate_pem: str | None = None
    scopes: tuple[str, ...] = ()
    policy: str = SELF_AUTHORIZED
    profiles: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()
    session_timeout_minutes: int | None = None
    contact_email: str | None = None
    description: str | None = None
    enabled: bool = True


def parse_scopes(text: str) -> tuple[str, ...]:
    """Scopes from either spelling, in the emulator's one canonical form and order.

    ``Api, RefreshToken`` and ``api,refresh_token`` give the same answer; the metadata
    names (``Full``, ``Web``, ``OpenID``, ``OfflineAccess``, ``Basic``...) map to the token
    names the emulator's configuration uses.

    Example:
        >>> parse_scopes("RefreshToken, Api")
        ('refresh_token', 'api')

    Raises:
        ValueError: an empty list, or a token that is not a scope name.
    """
    return tuple(format_scopes(set(_parse_scope_set(text))).split())


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))

    return False


@contextmanager
def _listing(directory: Path) -> Iterator[None]:
    """Turn an unreadable directory into a MetadataError that names it."""
    try:
        yield
    except OSError as exc:
        raise MetadataError(f"{directory}: cannot be read ({exc.strerror})") from None


def _load(path: Path, root_type: str) -> dict[str, str]:
    """The simple child elements of one metadata file, by local name."""
    try:
        with path.open("rb") as handle:  # read at most one byte past the cap, whatever stat says
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise MetadataError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise MetadataError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    if declares_dtd(data):
        raise MetadataError(
            f"{path}: DOCTYPE and ENTITY declarations are not allowed in metadata files"
        )
    try:
        # The standard parser is safe here: DTDs were refused above, so there are no
        # entities to expand and nothing external to fetch.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise MetadataError(f"{path}: not well-formed XML ({exc})") from None
    if root.tag != f"{{{METADATA_NAMESPACE}}}{root_type}":
        raise MetadataError(
            f"{path}: expected a {root_type} element in the namespace {METADATA_NAMESPACE}",
            hint="metadata files start with <" + root_type + f' xmlns="{METADATA_NAMESPACE}">',
        )
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        local = child.tag.rpartition("}")[2]
        fields.setdefault(local, (child.text or "").strip())
    return fields


def _files(base: Path, folder: str, suffix: str) -> list[Path]:
    directory = base / folder
    with _listing(directory):
        if not directory.is_dir():
            return []
        found = sorted(p for p in directory.iterdir() if p.name.endswith(suffix) and p.is_file())
    if len(found) > MAX_FILES:
        raise MetadataError(f"{directory}: more than {MAX_FILES} metadata files")
    return found


def _bool(path: Path, fields: dict[str, str], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise MetadataError(f"{path}: {name} must be true or false, not {value[:40]!r}")
    return value.lower() == "true"


def _owner(path: Path, fields: dict[str, str], apps: dict[str, AppSpec]) -> str:
    name = fields.get("externalClientApplication", "")
    if not name:
        raise MetadataError(f"{path}: externalClientApplication is required")
    if name not in apps:
        raise MetadataError(
            f"{path}: refers to External Client App {name[:80]!r}, which has no "
            "externalClientApps/*.eca-meta.xml file"
        )
    return name


def read_app_metadata(directory: str | Path) -> tuple[AppSpec, ...]:
    """Read every External Client App under ``directory`` (e.g. ``force-app/main/default``).

    Example:
        >>> apps = read_app_metadata("force-app/main/default")  # doctest: +SKIP
        >>> apps[0].scopes  # doctest: +SKIP
        ('refresh_token', 'api')

    Raises:
        MetadataError: a missing directory, an unreadable, malformed or inconsistent file
            (the message names it), or no External Client App at all.
    """
    base = Path(directory)
    with _listing(base):
        if not base.is_dir():
            raise MetadataError(f"{base}: not a directory")
        if not (base / "externalClientApps").is_dir():
            # A project root holds force-app/main/default/externalClientApps: look a few
            # levels down, not through a whole tree.
            patterns = (
                "*/externalClientApps",
                "*/*/externalClientApps",
                "*/*/*/externalClientApps",
            )
            nested = sorted({p.parent for pat in patterns for p in base.glob(pat) if p.is_dir()})
            if len(nested) == 1:
                base = nested[0]
    apps: dict[str, AppSpec] = {}
    for path in _files(base, "externalClientApps", ".eca-meta.xml"):
        f = _load(path, "ExternalClientApplication")
        name = path.name[: -len(".eca-meta.xml")]
        apps[name] = AppSpec(name=name, label=f.get("label") or name,
                             contact_email=f.get("contactEmail") or None,
                             description=f.get("description") or None)  # fmt: skip
    if not apps:
        raise MetadataError(
            f"{base}: no externalClientApps/*.eca-meta.xml file",
            hint="point at the directory that holds externalClientApps/ "
            "(for a project: force-app/main/default)",
        )
    seen: set[tuple[str, str]] = set()

    def claim(path: Path, kind: str, name: str) -> None:
        if (kind, name) in seen:
            raise MetadataError(f"{path}: a second {kind} file for {name!r}")
        seen.add((kind, name))

    for path in _files(base, "extlClntAppGlobalOauthSets", ".ecaGlblOauth-meta.xml"):
        f = _load(path, "ExtlClntAppGlobalOauthSettings")
        name = _owner(path, f, apps)
        claim(path, "global OAuth settings", name)
        cert = f.get("certificate") or None
        if cert is not None and "-----BEGIN CERTIFICATE-----" not in cert:
            raise MetadataError(f"{path}: certificate is not a PEM certificate")
        apps[name] = replace(apps[name], consumer_key=f.get("consumerKey") or None,
                             certificate_pem=cert)  # fmt: skip
    for path in _files(base, "extlClntAppOauthSettings", ".ecaOauth-meta.xml"):
        f = _load(path, "ExtlClntAppOauthSettings")
        name = _owner(path, f, apps)
        claim(path, "OAuth settings", name)
        try:
            scopes = parse_scopes(f.get("commaSeparatedOauthScopes", ""))
        except ValueError as exc:
            raise MetadataError(f"{path}: commaSeparatedOauthScopes: {exc}") from None
        apps[name] = replace(apps[name], scopes=scopes)
    for path in _files(base, "extlClntAppOauthPolicies", ".ecaOauthPlcy-meta.xml"):
        f = _load(path, "ExtlClntAppOauthConfigurablePolicies")
        name = _owner(path, f, apps)
        claim(path, "OAuth policies", name)
        raw_policy = f.get("permittedUsersPolicyType") or "AllSelfAuthorized"
        if raw_policy not in _POLICIES:
            raise MetadataError(
                f"{path}: permittedUsersPolicyType must be one of "
                f"{', '.join(_POLICIES)}, not {raw_policy[:40]!r}"
            )
        timeout: int | None = None
        raw_timeout = f.get("sessionTimeoutInMinutes")
        if raw_timeout:
            if not raw_timeout.isdigit() or not 1 <= int(raw_timeout) <= 1440:
                raise MetadataError(
                    f"{path}: sessionTimeoutInMinutes must be 1 to 1440, not {raw_timeout[:20]!r}"
                )
            timeout = int(raw_timeout)
        apps[name] = replace(
            apps[name], policy=_POLICIES[raw_policy],
            profiles=_split(f.get("commaSeparatedProfile")),
            permission_sets=_split(f.get("commaSeparatedPermissionSet")),
            session_timeout_minutes=timeout,
        )  # fmt: skip
    for path in _files(base, "extlClntAppPolicies", ".ecaPlcy-meta.xml"):
        f = _load(path, "ExtlClntAppConfigurablePolicies")
        name = _owner(path, f, apps)
        claim(path, "policies", name)
        enabled = _bool(path, f, "isEnabled", True) and _bool(path, f, "isOauthPluginEnabled", True)
        apps[name] = replace(apps[name], enabled=enabled)
    return tuple(apps[n] for n in sorted(apps))
