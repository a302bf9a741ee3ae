"""The layers above a stored profile: SFBEARER_* variables and flags, and how they combine.

:func:`sfbearer.config.resolve_profile` puts flags over variables over the stored profile;
this module holds what it needs to do so (the variable table, the merge rules, the checks).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from sfbearer._config_file import PROFILE_FIELDS
from sfbearer._exceptions import ProfileError
from sfbearer._key_source import PASSPHRASE_VAR

__all__ = [
    "ENV_VARS",
    "JWT_KEY_VAR",
    "apply_layer",
    "check_required",
    "env_layer",
    "has_identity",
    "warn_identity_override",
]

log = logging.getLogger("sfbearer.config")

JWT_KEY_VAR = "SFBEARER_JWT_KEY"

#: The documented environment variables (connection and configuration only) → what they set.
ENV_VARS: Mapping[str, str] = {
    "SFBEARER_PROFILE": "the profile to use",
    "SFBEARER_CONFIG": "the configuration file to read and write",
    "SFBEARER_CLIENT_ID": "client_id",
    "SFBEARER_USERNAME": "username",
    "SFBEARER_JWT_KEY_FILE": "jwt_key_file",
    "SFBEARER_CERT_FILE": "cert_file",
    JWT_KEY_VAR: "the private key PEM itself (sets jwt_key_env)",
    PASSPHRASE_VAR: "the key passphrase itself (the last passphrase source)",
    "SFBEARER_ENVIRONMENT": "environment",
    "SFBEARER_AUDIENCE": "audience",
    "SFBEARER_CACHE": "cache",
    "SFBEARER_AUDIT": "audit",
    "SFBEARER_PROXY": "proxy",
    "SFBEARER_CA_BUNDLE": "ca_bundle",
}
# Variables that set one profile field verbatim.
_FIELD_VARS = {
    var: field
    for var, field in ENV_VARS.items()
    if field in PROFILE_FIELDS and var != "SFBEARER_PROFILE"
}


def env_layer() -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for var, field in _FIELD_VARS.items():
        value = os.environ.get(var, "").strip()
        if value:
            layer[field] = value
    if os.environ.get(JWT_KEY_VAR, "").strip():
        if "jwt_key_file" in layer:
            raise ProfileError(
                f"both SFBEARER_JWT_KEY_FILE and {JWT_KEY_VAR} are set",
                hint="unset one of them: a key comes from a file or from a variable",
            )
        layer["jwt_key_env"] = JWT_KEY_VAR
    return layer


def has_identity(layer: Mapping[str, Any]) -> bool:
    return bool(
        layer.get("client_id")
        and layer.get("username")
        and (layer.get("jwt_key_file") or layer.get("jwt_key_env"))
    )


def apply_layer(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Put ``layer`` over ``base``, keeping values that belong together consistent."""
    if layer.get("jwt_key_file") or layer.get("jwt_key_env"):
        # A key from a higher layer replaces the whole key source: the lower layer's
        # certificate and passphrase belonged to the other key.
        for stale in (
            "jwt_key_file",
            "jwt_key_env",
            "cert_file",
            "passphrase_env",
            "passphrase_file",
        ):
            base.pop(stale, None)
    if layer.get("environment"):
        # The lower layer's audience was chosen for its environment, not this one.
        base.pop("audience", None)
    for key, value in layer.items():
        if key == "allow_hosts":
            # Trust is additive: every layer's explicitly allowed hosts stay allowed.
            merged = list(base.get("allow_hosts", ()))
            merged += [h for h in value if h not in merged]
            base["allow_hosts"] = tuple(merged)
        elif value is not None:
            base[key] = value


_IDENTITY_VARS = {
    "client_id": "SFBEARER_CLIENT_ID",
    "username": "SFBEARER_USERNAME",
    "jwt_key_file": "SFBEARER_JWT_KEY_FILE",
    "jwt_key_env": JWT_KEY_VAR,
}


def warn_identity_override(
    name: str, stored: Mapping[str, Any], env_layer: Mapping[str, Any]
) -> None:
    """Log when an SFBEARER_* variable replaces a named profile's identity.

    The precedence is documented, but in a process running many identities one stray
    ``SFBEARER_USERNAME`` makes every profile act as that one user; say so at each load.
    """
    stored_key = stored.get("jwt_key_file") or stored.get("jwt_key_env")
    changed = []
    for field, var in _IDENTITY_VARS.items():
        value = env_layer.get(field)
        had = stored_key if field.startswith("jwt_key") else stored.get(field)
        if value and had and stored.get(field) != value:
            changed.append(var)
    if changed:
        log.warning(
            "profile %s: %s from the environment replace%s the profile's saved identity; "
            "unset %s to use the profile as saved",
            name,
            ", ".join(changed),
            "" if len(changed) > 1 else "s",
            "them" if len(changed) > 1 else "it",
        )


def check_required(values: Mapping[str, Any]) -> None:
    missing = []
    if not values.get("client_id"):
        missing.append("client id (--client-id / SFBEARER_CLIENT_ID)")
    if not values.get("username"):
        missing.append("username (--username / SFBEARER_USERNAME)")
    if not (values.get("jwt_key_file") or values.get("jwt_key_env")):
        missing.append("private key (--jwt-key-file / SFBEARER_JWT_KEY_FILE / SFBEARER_JWT_KEY)")
    if missing:
        raise ProfileError(
            "missing " + ", ".join(missing),
            hint="pass the flags, set the variables, or use a profile: "
            "sfbearer init NAME (then --profile NAME)",
        )
