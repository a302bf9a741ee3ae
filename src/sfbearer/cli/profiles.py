"""``sfbearer profiles list|show|remove|default|promote``.

A profile names where things are (key file, certificate, environment); it never holds a
secret, and ``profiles show`` never prints one (only whether a named variable is set).
``sfbearer init`` (which creates one) lives in :mod:`sfbearer.cli.init`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_OK, App, global_options, pass_app

if TYPE_CHECKING:
    from sfbearer.config import Profile

__all__ = ["profiles"]


@click.group("profiles", context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def profiles() -> None:
    """List, show, remove profiles and choose the default one."""


@profiles.command("list")
@global_options
@pass_app
def list_(app: App) -> int:
    """List the profiles (* marks the default).

    \b
    Examples:
      sfbearer profiles list
      sfbearer profiles list --json
    """
    from sfbearer.config import config_path, default_profile_name, load_profiles

    found = load_profiles()
    default = default_profile_name()
    if app.json_mode:
        app.json(
            {
                "config": str(config_path()),
                "default": default,
                "profiles": [
                    {
                        "name": p.name,
                        "default": p.name == default,
                        "environment": p.environment,
                        "client_id": p.client_id,
                        "username": p.username,
                        "key": p.key_source(),
                    }
                    for p in found.values()
                ],
            }
        )
        return EXIT_OK
    if not found:
        app.info(f"no profiles in {config_path()}")
        app.info("create one: sfbearer init NAME --client-id ID --username USER --environment ENV")
        return EXIT_OK
    rows = [
        ("*" if p.name == default else "", p.name, p.environment, p.username, p.key_source())
        for p in found.values()
    ]
    app.table(["", "NAME", "ENVIRONMENT", "USERNAME", "KEY"], rows)
    return EXIT_OK


def _var_state(var: str | None) -> str | None:
    if not var:
        return None
    return f"{var} ({'set' if os.environ.get(var) else 'not set'})"


def _redact_url(url: str | None) -> str | None:
    """Hide a password in ``scheme://user:password@host`` (proxy and Redis URLs may hold one)."""
    if not url or "@" not in url or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or "/" in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else url


@profiles.command("show")
@click.argument("name", required=False)
@global_options
@pass_app
def show(app: App, name: str | None) -> int:
    """Show a profile (NAME, else --profile, else the default). Never prints secrets.

    \b
    Examples:
      sfbearer profiles show acme
      sfbearer -p acme profiles show --json
    """
    from sfbearer._config_file import PROFILE_FIELDS
    from sfbearer._exceptions import EnvironmentConfigError
    from sfbearer.config import ENV_VARS, config_path, default_profile_name, get_profile

    profile = get_profile(name or app.profile)
    rotation = [f for f in PROFILE_FIELDS if f.startswith(("next_", "previous_"))]
    data: dict[str, Any] = {
        "name": profile.name,
        "default": default_profile_name() == profile.name,
        "config": str(config_path()),
        "client_id": profile.client_id,
        "username": profile.username,
        "environment": profile.environment,
        "audience": profile.audience,
        "allow_hosts": list(profile.allow_hosts),
        "key": profile.key_source(),
        "jwt_key_env": _var_state(profile.jwt_key_env),
        "certificate": str(profile.certificate_path() or "") or None,
        "passphrase_env": _var_state(profile.passphrase_env),
        "passphrase_file": profile.passphrase_file,
        "session_timeout": profile.session_timeout,
        "cache": _redact_url(profile.cache),
        "audit": profile.audit,
        "proxy": _redact_url(profile.proxy),
        "ca_bundle": profile.ca_bundle,
        "timeout": profile.timeout,
        # A key rotation in progress (certs rotate) or the settings the last promote replaced.
        **{field: getattr(profile, field) for field in rotation},
    }
    code = EXIT_OK
    try:
        env = profile.env()
        data["token_url"], data["effective_audience"] = env.token_url, env.audience
    except EnvironmentConfigError as exc:
        data["token_url"] = data["effective_audience"] = None
        app.warn(f"the environment is not usable: {exc}")
        code = EXIT_CONFIG
    overriding = [v for v in ENV_VARS if v not in ("SFBEARER_PROFILE", "SFBEARER_CONFIG")]
    data["overridden_by"] = [v for v in overriding if os.environ.get(v)]
    if app.json_mode:
        app.json(data)
        return code
    shown = {
        key.replace("_", " ") + ":": ", ".join(value) if isinstance(value, list) else value
        for key, value in data.items()
        if value is not None and value != [] and key not in ("name", "default")
    }
    width = max([20, *(len(label) + 1 for label in shown)])  # rotation labels are longer
    for label, value in shown.items():
        app.out(f"{label.ljust(width)}{value}")
    if profile.next_jwt_key_file:
        app.info(
            f"a key rotation is pending: once {profile.next_cert_file or 'its certificate'} is "
            f"uploaded, switch with: sfbearer certs promote -p {profile.name}"
        )
    if data["overridden_by"]:
        app.info("note: these variables override the profile: " + ", ".join(data["overridden_by"]))
    return code


@profiles.command("remove")
@click.argument("name")
@global_options
@pass_app
def remove(app: App, name: str) -> int:
    """Remove profile NAME. Its key files are kept (delete them once retired).

    \b
    Examples:
      sfbearer profiles remove acme-old
    """
    from sfbearer.config import config_path, get_profile, remove_profile

    profile = get_profile(name)
    remove_profile(name)
    kept = [str(p) for p in (_key_path(profile), profile.certificate_path()) if p and p.exists()]
    if app.json_mode:
        app.json({"removed": name, "config": str(config_path()), "kept": kept})
        return EXIT_OK
    app.info(f"removed profile {name!r} from {config_path()}")
    if kept:
        app.info("kept: " + ", ".join(kept))
    return EXIT_OK


def _key_path(profile: Profile) -> Path | None:
    if profile.jwt_key_file and not profile.uses_signer_uri:
        return Path(profile.jwt_key_file)
    return None


@profiles.command("default")
@click.argument("name")
@global_options
@pass_app
def default(app: App, name: str) -> int:
    """Make NAME the default profile.

    \b
    Examples:
      sfbearer profiles default acme
    """
    from sfbearer.config import config_path, set_default_profile

    set_default_profile(name)
    if app.json_mode:
        app.json({"default": name, "config": str(config_path())})
    else:
        app.info(f"{name!r} is now the default profile")
    return EXIT_OK


# `profiles promote` lives in its own module (environment promotion).
from sfbearer.cli.promote import promote_profile_command as _promote  # noqa: E402

profiles.add_command(_promote)
