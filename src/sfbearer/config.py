"""Profiles: named connection settings in a TOML file, environment variables and flags.

One precedence order everywhere: **flags > SFBEARER_* environment variables > profile file >
defaults**. The file (``config.toml`` in the platform config directory, or the file named by
``SFBEARER_CONFIG``) holds named profiles and, optionally, which one is the default::

    default = "prod"

    [profiles.prod]
    client_id = "3MVG9..."
    username = "integration@acme.com"
    environment = "https://acme.my.salesforce.com"
    jwt_key_file = "/etc/sfbearer/prod/server.key"

A profile holds no secret: the key is a path, the *name* of an environment variable holding
the PEM, or a signer URI; the passphrase comes from a named variable or a file.

Example:
    >>> from sfbearer.config import resolve_profile
    >>> profile = resolve_profile(overrides={  # doctest: +SKIP
    ...     "client_id": "3MVG9...", "username": "int@acme.com", "jwt_key_file": "server.key"})
    >>> profile.env().token_url  # doctest: +SKIP
    'https://login.salesforce.com/services/oauth2/token'
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfbearer._config_file import (
    PROFILE_FIELDS,
    Document,
    check_profile_name,
    close_match,
    profile_to_table,
    read_document,
    unwritable_config_hint,
    validate_table,
    write_document,
)
from sfbearer._config_layers import (
    ENV_VARS,
    apply_layer,
    check_required,
    env_layer,
    has_identity,
    warn_identity_override,
)
from sfbearer._exceptions import ProfileError
from sfbearer._key_source import PASSPHRASE_VAR, SIGNER_URI_SCHEMES, load_signer, needs_passphrase

if TYPE_CHECKING:
    from sfbearer.environments import Environment

log = logging.getLogger("sfbearer.config")

__all__ = [
    "ENV_VARS",
    "PASSPHRASE_VAR",
    "SIGNER_URI_SCHEMES",
    "Profile",
    "config_path",
    "default_profile_name",
    "get_profile",
    "load_profiles",
    "load_signer",
    "needs_passphrase",
    "remove_profile",
    "resolve_profile",
    "save_profile",
    "set_default_profile",
]


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything needed to get a token for one identity (no secrets, only where they are).

    Attributes:
        name: the profile's name (``""`` for an identity given only by flags and env vars).
        client_id: the External Client App's consumer key.
        username: the Salesforce username the integration acts as.
        environment: ``production``, ``sandbox`` or a URL (My Domain, site, emulator).
        audience: the ``aud`` claim when it differs from the environment's default.
        allow_hosts: extra non-Salesforce hosts explicitly trusted.
        jwt_key_file: path to the private key PEM, or a ``pkcs11:`` / ``awskms:`` signer URI.
        jwt_key_env: the NAME of an environment variable holding the private key PEM.
        cert_file: the certificate; defaults to ``server.crt`` beside the key.
        passphrase_env: the NAME of an environment variable holding the key passphrase.
        passphrase_file: a file (0600) holding the key passphrase.
        session_timeout: the External Client App's session timeout, in minutes.
        cache: ``memory``, ``file:PATH``, ``redis://...`` or ``rediss://...``.
        audit: the audit trail's path.
        proxy: an HTTP(S) proxy URL.
        ca_bundle: a CA bundle for TLS verification.
        timeout: the HTTP timeout, in seconds.
        next_jwt_key_file: the pending key of a rotation (``sfbearer certs rotate``).
        next_cert_file: the pending key's certificate.
        previous_jwt_key_file: the key the last ``sfbearer certs promote`` replaced (kept).
        previous_cert_file: that key's certificate.
        previous_client_id: the consumer key that promotion replaced, when it changed.
    """

    name: str
    client_id: str
    username: str
    environment: str = "production"
    audience: str | None = None
    allow_hosts: tuple[str, ...] = ()
    jwt_key_file: str | None = None
    jwt_key_env: str | None = None
    cert_file: str | None = None
    passphrase_env: str | None = None
    passphrase_file: str | None = None
    session_timeout: int = 120
    cache: str = "memory"
    audit: str | None = None
    proxy: str | None = None
    ca_bundle: str | None = None
    timeout: float = 30.0
    next_jwt_key_file: str | None = None
    next_cert_file: str | None = None
    previous_jwt_key_file: str | None = None
    previous_cert_file: str | None = None
    previous_client_id: str | None = None

    def env(self) -> Environment:
        """The :class:`~sfbearer.Environment` (token URL + audience), host rules applied.

        Raises:
            EnvironmentConfigError: the environment breaks the host rules.
        """
        from sfbearer.environments import Environment

        return Environment.parse(
            self.environment, audience=self.audience, allow_hosts=self.allow_hosts
        )

    @property
    def uses_signer_uri(self) -> bool:
        """True when the key is an HSM / KMS signer URI rather than a file."""
        return bool(self.jwt_key_file and self.jwt_key_file.startswith(SIGNER_URI_SCHEMES))

    def certificate_path(self) -> Path | None:
        """``cert_file``, or ``server.crt`` beside a key file; None when unknown."""
        if self.cert_file:
            return Path(self.cert_file).expanduser()
        if self.jwt_key_file and not self.uses_signer_uri:
            return Path(self.jwt_key_file).expanduser().with_name("server.crt")
        return None

    def key_source(self) -> str:
        """Where the key comes from, for people (never the key itself)."""
        if self.jwt_key_env:
            return f"env:{self.jwt_key_env}"
        return self.jwt_key_file or "(none)"


def config_path() -> Path:
    """The configuration file: ``SFBEARER_CONFIG`` or ``<user config dir>/sfbearer/config.toml``."""
    override = os.environ.get("SFBEARER_CONFIG", "").strip()
    if override:
        return Path(override).expanduser()
    # Imported here: platformdirs costs ~20 ms and most commands never need it.
    from platformdirs import user_config_dir

    return Path(user_config_dir("sfbearer", appauthor=False)) / "config.toml"


def _path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path).expanduser() if path is not None else config_path()


def _profile_from_table(name: str, table: Mapping[str, Any]) -> Profile:
    return Profile(name=name, **table)


def load_profiles(path: str | os.PathLike[str] | None = None) -> dict[str, Profile]:
    """Every profile in the configuration file (an empty dict when the file does not exist).

    Raises:
        ProfileError: unreadable or invalid TOML (with the file and line), an unknown key
            (with a "did you mean"), or a value of the wrong type.
    """
    doc = read_document(_path(path))
    return {name: _profile_from_table(name, t) for name, t in doc.profiles.items()}


def default_profile_name(path: str | os.PathLike[str] | None = None) -> str | None:
    """The file's ``default`` key, or the only profile's name, or None."""
    doc = read_document(_path(path))
    if doc.default:
        return doc.default
    if len(doc.profiles) == 1:
        return next(iter(doc.profiles))
    return None


def get_profile(name: str | None = None, *, path: str | os.PathLike[str] | None = None) -> Profile:
    """A profile from the file, by name.

    ``name`` None means: ``SFBEARER_PROFILE``, else the file's ``default``, else the only profile.

    Raises:
        ProfileError: no such profile (with a "did you mean"), or none can be chosen.
    """
    file = _path(path)
    chosen = name or os.environ.get("SFBEARER_PROFILE", "").strip() or None
    doc = read_document(file)
    if chosen is None:
        chosen = doc.default or (next(iter(doc.profiles)) if len(doc.profiles) == 1 else None)
        if chosen is None:
            if not doc.profiles:
                raise ProfileError(
                    f"no profile configured (no profiles in {file})",
                    hint="create one: sfbearer init NAME --client-id ID --username USER "
                    "--environment production",
                )
            raise ProfileError(
                f"{len(doc.profiles)} profiles in {file} and none is the default",
                hint="choose one with --profile NAME (or SFBEARER_PROFILE), or set one: "
                "sfbearer profiles default NAME",
            )
    table = doc.profiles.get(chosen)
    if table is None:
        guess = close_match(chosen, doc.profiles)
        where = f"in {file}" if file.exists() else f"({file} does not exist)"
        raise ProfileError(
            f"no profile named {chosen!r} {where}",
            hint=f"did you mean {guess!r}?"
            if guess
            else f"create it: sfbearer init {chosen} --client-id ID --username USER "
            "--environment production",
        )
    return _profile_from_table(chosen, table)


def resolve_profile(
    name: str | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Profile:
    """The effective profile: flags (``overrides``) > SFBEARER_* variables > file > defaults.

    ``overrides`` maps :class:`Profile` field names to flag values (None = flag not given).
    When no profile is named (argument or ``SFBEARER_PROFILE``) and the flags and variables
    already give a client id, a username and a key, the file is not read at all: such an
    identity is complete on its own, and a default profile's environment or audience must not
    leak into it. Otherwise the named profile, or the default one, is the base.

    Raises:
        ProfileError: the named profile does not exist, or a required value is missing
            (the message names each one and the flag / variable that sets it).
    """
    given = {k: v for k, v in (overrides or {}).items() if v is not None and v != ()}
    unknown = sorted(set(given) - set(PROFILE_FIELDS) - {"name"})
    if unknown:
        raise TypeError(f"unknown profile field(s): {', '.join(unknown)}")
    from_env = env_layer()
    chosen = name or os.environ.get("SFBEARER_PROFILE", "").strip() or None
    upper: dict[str, Any] = {}
    apply_layer(upper, from_env)
    apply_layer(upper, given)
    base: dict[str, Any] = {}
    profile_name = ""
    # With no profile configured at all, flags and variables are the whole story; a corrupt
    # file, or several profiles and no default, is still an error worth showing.
    if chosen is not None or (not has_identity(upper) and read_document(_path(path)).profiles):
        stored = get_profile(chosen, path=path)
        profile_name = stored.name
        base = {f.name: getattr(stored, f.name) for f in fields(Profile) if f.name != "name"}
        warn_identity_override(profile_name, base, from_env)
    apply_layer(base, from_env)
    apply_layer(base, given)
    check_required(base)
    final_name = str(given.get("name") or profile_name)
    checked = validate_table(final_name or "(flags)", base, source="flags and environment")
    return Profile(name=final_name, **checked)


def save_profile(
    profile: Profile,
    *,
    force: bool = False,
    make_default: bool = False,
    path: str | os.PathLike[str] | None = None,
) -> Path:
    """Add (or with ``force`` replace) ``profile`` in the configuration file.

    The file is rewritten atomically with mode 0600 under a lock (TOML comments are not kept).
    The first profile saved becomes the default.

    Raises:
        ProfileError: the profile exists and ``force`` is false, or its values are invalid.
    """
    file = _path(path)
    check_profile_name(profile.name)
    table = validate_table(profile.name, profile_to_table(profile), source=str(file))
    with _editing(file) as doc:
        if profile.name in doc.profiles and not force:
            raise ProfileError(
                f"profile {profile.name!r} already exists in {file}",
                hint="pass --force to replace it, or choose another name",
            )
        doc.profiles[profile.name] = table
        if make_default or not doc.default:
            doc.default = profile.name
    return file


def remove_profile(name: str, *, path: str | os.PathLike[str] | None = None) -> None:
    """Remove a profile (and the ``default`` key when it named it). Key files are kept.

    Raises:
        ProfileError: no such profile.
    """
    file = _path(path)
    with _editing(file) as doc:
        _require(doc, name, file)
        del doc.profiles[name]
        if doc.default == name:
            doc.default = None


def set_default_profile(name: str, *, path: str | os.PathLike[str] | None = None) -> None:
    """Make ``name`` the default profile.

    Raises:
        ProfileError: no such profile.
    """
    file = _path(path)
    with _editing(file) as doc:
        _require(doc, name, file)
        doc.default = name


def _require(doc: Document, name: str, file: Path) -> None:
    if name not in doc.profiles:
        guess = close_match(name, doc.profiles)
        raise ProfileError(
            f"no profile named {name!r} in {file}",
            hint=f"did you mean {guess!r}?" if guess else "see: sfbearer profiles list",
        )


@contextlib.contextmanager
def _editing(file: Path) -> Iterator[Document]:
    """Read, change and rewrite the file under a lock, so concurrent edits are not lost."""
    from filelock import FileLock, Timeout

    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(str(file) + ".lock", timeout=10)
        with lock:
            doc = read_document(file)
            yield doc
            write_document(file, doc)
    except Timeout:
        raise ProfileError(f"{file} is locked by another sfbearer process") from None
    except OSError as exc:
        raise ProfileError(
            f"cannot write {file}: {exc.strerror or exc}", hint=unwritable_config_hint(file)
        ) from None
