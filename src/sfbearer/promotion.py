"""Environment promotion: derive the next environment's profile from a working one.

A sandbox profile that passes ``doctor`` says almost everything production needs: the
same integration user (without the sandbox suffix Salesforce appends to usernames), the
same session timeout, cache and audit trail. What must change is the environment (token
URL and audience), the External Client App (its own consumer key in that org) and, unless
told to share it, the key pair: a key that can log in to production should never have sat
in a sandbox configuration.

Example:
    >>> from sfbearer.promotion import strip_sandbox_suffix
    >>> strip_sandbox_suffix("integration@acme.com.uat")
    'integration@acme.com'
    >>> result = promote_profile("uat", to="prod", environment="production")  # doctest: +SKIP
    >>> result.profile.username  # doctest: +SKIP
    'integration@acme.com'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sfbearer._exceptions import ProfileError

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.environments import Environment
    from sfbearer.keys import CertificateInfo

__all__ = [
    "CLIENT_ID_PLACEHOLDER",
    "ProfilePromotion",
    "derive_profile",
    "promote_profile",
    "strip_sandbox_suffix",
]

#: The consumer key of a promoted profile until the target org's app exists (doctor then
#: fails with invalid_client_id, and ``profiles show`` makes the gap obvious).
CLIENT_ID_PLACEHOLDER = "SET-ME-consumer-key-of-the-target-org-app"

# Last labels that are real top-level domains, never a sandbox name.
_TLDS = frozenset(
    {"com", "org", "net", "io", "co", "edu", "gov", "mil", "uk", "de", "fr", "ai", "dev", "eu"}
)
# Settings that describe the integration rather than the org, carried to the new profile.
_CARRIED = ("session_timeout", "cache", "audit", "proxy", "ca_bundle", "timeout")


def strip_sandbox_suffix(username: str, *, from_sandbox: bool = False) -> str | None:
    """The production username of a sandbox user: ``user@acme.com.uat`` → ``user@acme.com``.

    Salesforce appends ``.SANDBOXNAME`` to every username when it copies production into a
    sandbox. The last label is taken as that suffix when it looks like a sandbox name
    (``uat``, ``qa``, ``dev1``...), or, with ``from_sandbox`` (the source profile is a
    sandbox), whenever it is not a top-level domain. Returns None when there is no suffix
    to strip.

    Example:
        >>> strip_sandbox_suffix("int@acme.com.jan26", from_sandbox=True)
        'int@acme.com'
        >>> strip_sandbox_suffix("int@acme.com") is None
        True
    """
    from sfbearer.environments import looks_like_sandbox_username

    local, at, domain = username.rpartition("@")
    labels = domain.split(".")
    if not at or not local or len(labels) < 3 or not all(labels):
        return None
    last = labels[-1].lower()
    if looks_like_sandbox_username(username) or (from_sandbox and last not in _TLDS):
        return f"{local}@{'.'.join(labels[:-1])}"
    return None


def _sandbox_name(env: Environment) -> str | None:
    """``uat`` for ``https://acme--uat.sandbox.my.salesforce.com``, else None."""
    host = (urlsplit(env.base_url).hostname or "").lower()
    if host.endswith(".sandbox.my.salesforce.com"):
        _, sep, name = host.split(".", 1)[0].partition("--")
        return name or None if sep else None
    return None


@dataclass(frozen=True, slots=True)
class ProfilePromotion:
    """What :func:`promote_profile` derived, made and saved.

    Attributes:
        source: the profile promoted from.
        profile: the new profile, as saved.
        generated_key: True when a key pair was generated now for it.
        certificate: the certificate to upload to the target org's app (parsed).
        username_note: how the username was chosen, for people.
        steps: what must be set up in the target org before ``doctor`` passes.
        warnings: anything suspicious (same environment as the source, sandbox username...).
    """

    source: Profile
    profile: Profile
    generated_key: bool
    certificate: CertificateInfo | None
    username_note: str
    steps: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The result for ``--json`` (carried settings only when they differ from defaults)."""
        from sfbearer._config_file import PROFILE_FIELDS

        p = self.profile
        env = p.env()
        cert = self.certificate
        return {
            "profile": p.name,
            "source": self.source.name,
            "client_id": p.client_id,
            "client_id_set": p.client_id != CLIENT_ID_PLACEHOLDER,
            "username": p.username,
            "username_note": self.username_note,
            "environment": p.environment,
            "token_url": env.token_url,
            "audience": env.audience,
            "key": p.key_source(),
            "generated_key": self.generated_key,
            "shared_key": p.jwt_key_file == self.source.jwt_key_file
            and p.jwt_key_env == self.source.jwt_key_env,
            "certificate": str(p.certificate_path()) if p.certificate_path() else None,
            "sha1_fingerprint": cert.sha1_fingerprint if cert else None,
            "carried": {
                k: getattr(p, k)
                for k in _CARRIED
                if getattr(p, k) is not None and getattr(p, k) != PROFILE_FIELDS[k][1]
            },
            "steps": list(self.steps),
            "warnings": list(self.warnings),
        }


def _strip_known_sandbox(username: str, sandbox: str | None) -> str | None:
    """``int@acme.com.dev`` → ``int@acme.com`` when the source org is the sandbox ``dev``.

    The source's My Domain names its sandbox, so even a suffix that is also a top-level
    domain (``.dev``, ``.io``) is known to be the sandbox's, not the address's.
    """
    if sandbox and username.lower().endswith("." + sandbox) and "@" in username:
        stripped = username[: -len(sandbox) - 1]
        if "." in stripped.rpartition("@")[2]:
            return stripped
    return None


def _username(source: Profile, target: Environment, given: str | None) -> tuple[str, str]:
    if given:
        return given.strip(), "as given (--username)"
    src_env = source.env()
    base = _strip_known_sandbox(source.username, _sandbox_name(src_env))
    if base is None:
        base = strip_sandbox_suffix(source.username, from_sandbox=src_env.is_sandbox)
    name = _sandbox_name(target)
    if target.is_sandbox:
        if name is None:
            raise ProfileError(
                "the target is a sandbox, and its username suffix cannot be known from "
                f"{target.base_url}",
                hint="give the username in that sandbox: --username USER@DOMAIN.SANDBOX",
            )
        return (
            f"{base or source.username}.{name}",
            f"{source.username} with the sandbox suffix .{name}",
        )
    if base is not None:
        return base, f"{source.username} without its sandbox suffix"
    return source.username, f"{source.username} unchanged (no sandbox suffix to strip)"


def derive_profile(
    source: Profile,
    *,
    to: str,
    environment: str,
    username: str | None = None,
    client_id: str | None = None,
    audience: str | None = None,
) -> tuple[Profile, str]:
    """The next environment's profile from ``source``: pure, nothing is read or written.

    The environment (and so token URL and audience) comes from ``environment``; the
    username from ``username``, else the source's without its sandbox suffix; the consumer
    key from ``client_id``, else :data:`CLIENT_ID_PLACEHOLDER`. The key fields are left
    empty (see :func:`promote_profile`); the integration settings (session timeout, cache,
    audit trail, proxy, CA bundle, timeout) are carried over; ``allow_hosts``, the audience
    override and any rotation state belong to the source's org and are not.

    Returns:
        The derived profile and a note on how the username was chosen.

    Raises:
        EnvironmentConfigError: ``environment`` breaks the host rules.
        ProfileError: the username cannot be derived (a sandbox target without My Domain).
    """
    from sfbearer.config import Profile
    from sfbearer.environments import Environment

    target = Environment.parse(environment, audience=audience)
    user, note = _username(source, target, username)
    carried = {k: getattr(source, k) for k in _CARRIED}
    profile = Profile(
        name=to,
        client_id=(client_id or "").strip() or CLIENT_ID_PLACEHOLDER,
        username=user,
        environment=environment.strip(),
        audience=audience,
        **carried,
    )
    return profile, note


def _own_key_pair(
    name: str, directory: Path | None, *, days: int, key_size: int, common_name: str
) -> tuple[Path, Path, bool]:
    """The key pair in ``directory`` (default ``keys/NAME`` beside the configuration file),
    generated when missing; an existing one is reused (its certificate may be uploaded)."""
    from sfbearer.config import config_path
    from sfbearer.keys import generate_key_pair, write_key_pair

    where = directory or config_path().parent / "keys" / name
    key, cert = where / "server.key", where / "server.crt"
    if key.exists():
        return key, cert, False
    where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pair = generate_key_pair(key_size=key_size, common_name=common_name[:64], days=days)
    written = write_key_pair(pair, where)
    os.chmod(where, 0o700)
    return written[0], written[1], True


def promote_profile(
    source_name: str,
    *,
    to: str,
    environment: str,
    username: str | None = None,
    client_id: str | None = None,
    audience: str | None = None,
    share_key: bool = False,
    key_dir: str | os.PathLike[str] | None = None,
    days: int = 365,
    key_size: int = 2048,
    force: bool = False,
    path: str | os.PathLike[str] | None = None,
) -> ProfilePromotion:
    """Derive profile ``to`` from ``source_name`` for ``environment``, with its own key pair.

    A key pair is generated in ``key_dir`` (default ``keys/TO/`` beside the configuration
    file; an existing pair there is reused) unless ``share_key``, which keeps the source's
    key, certificate and passphrase source. Nothing is written when a check fails.

    Raises:
        ProfileError: no source profile, ``to`` exists (without ``force``) or is the source,
            or the username cannot be derived.
        EnvironmentConfigError: ``environment`` breaks the host rules.
    """
    from sfbearer._config_file import check_profile_name
    from sfbearer.config import get_profile, load_profiles, save_profile
    from sfbearer.keys import load_certificate

    check_profile_name(to)
    source = get_profile(source_name, path=path)
    if to == source.name:
        raise ProfileError(
            f"cannot promote profile {to!r} onto itself", hint="choose a new name: --to NAME"
        )
    if to in load_profiles(path) and not force:
        raise ProfileError(
            f"profile {to!r} already exists",
            hint="pass --force to replace it (its key pair in keys/ is reused), or choose "
            "another name",
        )
    derived, note = derive_profile(
        source,
        to=to,
        environment=environment,
        username=username,
        client_id=client_id,
        audience=audience,
    )
    generated = False
    if share_key:
        derived = replace(
            derived,
            jwt_key_file=source.jwt_key_file,
            jwt_key_env=source.jwt_key_env,
            cert_file=str(source.certificate_path()) if source.certificate_path() else None,
            passphrase_env=source.passphrase_env,
            passphrase_file=source.passphrase_file,
        )
    else:
        key, cert, generated = _own_key_pair(
            to,
            Path(key_dir).expanduser().absolute() if key_dir else None,
            days=days,
            key_size=key_size,
            common_name=f"sfbearer-{to}",
        )
        derived = replace(derived, jwt_key_file=str(key), cert_file=str(cert))
    save_profile(derived, force=force, path=path)
    cert_path = derived.certificate_path()
    info = None
    if cert_path is not None and cert_path.exists():
        info = load_certificate(cert_path)
    from sfbearer._promotion_steps import promotion_steps, promotion_warnings

    return ProfilePromotion(
        source=source,
        profile=derived,
        generated_key=generated,
        certificate=info,
        username_note=note,
        steps=promotion_steps(source, derived, info),
        warnings=promotion_warnings(source, derived, share_key=share_key),
    )
