"""The words of an environment promotion: what to set up in the target org, and what looks
wrong. Pure functions of the source and derived profiles, used by :mod:`sfbearer.promotion`.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.keys import CertificateInfo

__all__ = ["promotion_steps", "promotion_warnings"]


def _init_flags(profile: Profile) -> list[tuple[str, object]]:
    """The ``sfbearer init`` flags that recreate ``profile``'s other settings."""
    import dataclasses

    from sfbearer.config import Profile

    defaults = {f.name: f.default for f in dataclasses.fields(Profile)}
    flags: list[tuple[str, object]] = [
        ("--jwt-key-file", profile.jwt_key_file),
        ("--cert", profile.cert_file),
        ("--audience", profile.audience),
        *(("--allow-host", host) for host in profile.allow_hosts),
        ("--passphrase-env", profile.passphrase_env),
        ("--cache", profile.cache if profile.cache != defaults["cache"] else None),
        ("--audit", profile.audit),
        ("--proxy", profile.proxy),
        ("--ca-bundle", profile.ca_bundle),
    ]
    if profile.session_timeout != defaults["session_timeout"]:
        flags.append(("--session-timeout", profile.session_timeout))
    return [(flag, value) for flag, value in flags if value]


def promotion_steps(
    source: Profile, derived: Profile, info: CertificateInfo | None
) -> tuple[str, ...]:
    """What must exist in the target org before ``sfbearer doctor -p NAME`` passes."""
    from sfbearer.promotion import CLIENT_ID_PLACEHOLDER

    name = derived.name
    env = derived.env()
    cert = derived.certificate_path()
    cert_text = str(cert) if cert else "the key's certificate"
    fingerprint = f" (SHA-1 {info.sha1_fingerprint})" if info else ""
    steps = [
        f"In the target org ({env.base_url}), create the External Client App with the "
        f"certificate {cert_text}{fingerprint}, scopes Api and RefreshToken, and the policy "
        "'Admin approved users are pre-authorized': sfbearer app manifest --name APP --cert "
        f"{cert_text} --permission-set PERMSET, then sf project deploy start; or by hand: "
        f"sfbearer app checklist --cert {cert_text}.",
        f"Make sure the user {derived.username} exists and is active there, and pre-authorize "
        "it: assign its profile or permission set to the app.",
    ]
    if derived.client_id == CLIENT_ID_PLACEHOLDER:
        q = shlex.quote
        init = (
            f"sfbearer init {q(name)} --client-id CONSUMER_KEY --username "
            f"{q(derived.username)} --environment {q(derived.environment)}"
        )
        init += "".join(f" {flag} {q(str(value))}" for flag, value in _init_flags(derived))
        steps.append(
            "Copy the new app's consumer key into the profile: sfbearer profiles promote "
            f"{q(source.name)} --to {q(name)} --environment {q(derived.environment)} "
            f"--username {q(derived.username)} --client-id CONSUMER_KEY --force (the key "
            f"pair is kept), or {init} --force."
        )
    steps.append(f"Check the whole chain: sfbearer doctor -p {name}")
    return tuple(steps)


def promotion_warnings(source: Profile, derived: Profile, *, share_key: bool) -> tuple[str, ...]:
    """Things that are allowed but probably not meant."""
    from sfbearer.environments import looks_like_sandbox_username

    warnings = []
    src_env, env = source.env(), derived.env()
    if (src_env.token_url, src_env.audience) == (env.token_url, env.audience):
        warnings.append(
            f"{derived.name!r} logs in where {source.name!r} does ({env.token_url}): "
            "is --environment right?"
        )
    if not env.is_sandbox and looks_like_sandbox_username(derived.username):
        warnings.append(
            f"{derived.username} looks like a sandbox username, but {derived.name!r} logs in "
            "to production: give the production username with --username"
        )
    if share_key and not env.is_sandbox:
        warnings.append(
            f"{derived.name!r} shares the key of {source.name!r}: whoever can read the "
            "sandbox configuration can log in to this org too"
        )
    return tuple(warnings)
