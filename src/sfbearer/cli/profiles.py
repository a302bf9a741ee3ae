"""``sfbearer init NAME`` and ``sfbearer profiles list|show|remove|default``.

A profile names where things are (key file, certificate, environment); it never holds a
secret, and ``profiles show`` never prints one (only whether a named variable is set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_OK, App, global_options, pass_app
from sfbearer.cli._options import sandbox_mismatch

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.keys import CertificateInfo

__all__ = ["init", "profiles"]

_CERT_WARN_DAYS = 30


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().absolute())


def _generated_keys_dir(name: str) -> Path:
    from sfbearer.config import config_path

    return config_path().parent / "keys" / name


def _make_key_pair(app: App, name: str, passphrase_env: str | None) -> tuple[Path, bool]:
    """Reuse the key pair in ``keys/NAME/`` or generate one there (dir 0700, key 0600)."""
    from sfbearer.keys import generate_key_pair, write_key_pair

    directory = _generated_keys_dir(name)
    key_path = directory / "server.key"
    if key_path.exists():
        # A re-run (e.g. init --force to fix a username) must not replace a key whose
        # certificate may already be uploaded to Salesforce.
        app.info(f"using the existing key pair in {directory}")
        return key_path, False
    passphrase = None
    if passphrase_env:
        passphrase = os.environ.get(passphrase_env)
        if not passphrase:
            from sfbearer._exceptions import KeyFileError

            raise KeyFileError(
                f"environment variable {passphrase_env} (from --passphrase-env) is not set",
                hint=f"export {passphrase_env} first, or leave out --passphrase-env",
            )
    # The configuration directory and keys/ are private (0700), not just the key files.
    directory.parent.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.parent.mkdir(exist_ok=True, mode=0o700)
    pair = generate_key_pair(common_name=f"sfbearer-{name}"[:64])
    written = write_key_pair(pair, directory, passphrase=passphrase)
    os.chmod(directory, 0o700)
    return written[0], True


def _check_given_key(app: App, profile: Profile, cert_given: bool) -> CertificateInfo | None:
    """Load the key (permissions, type, size) and check the certificate belongs to it."""
    from sfbearer._exceptions import CertificateError
    from sfbearer.cli._app import stdin_is_tty
    from sfbearer.cli._options import signer_for
    from sfbearer.config import needs_passphrase
    from sfbearer.keys import key_matches_certificate, load_certificate

    if needs_passphrase(profile) and not stdin_is_tty():
        app.warn(f"{profile.key_source()} is encrypted; give --passphrase-env VAR to use it")
        signer = None
    else:
        signer = signer_for(app, profile)
    cert_path = profile.certificate_path()
    if cert_path is None:
        return None
    if not cert_path.exists() and not cert_given:
        app.warn(f"no certificate at {cert_path}; give --cert CRT (the one uploaded to Salesforce)")
        return None
    info = load_certificate(cert_path)
    if signer is not None and not key_matches_certificate(signer.public_key(), info.certificate):
        raise CertificateError(
            f"{cert_path} does not belong to the key {profile.key_source()}",
            hint="give the certificate made with this key: --cert CRT",
        )
    return info


@click.command("init")
@click.argument("name")
@click.option("-i", "--client-id", required=True, metavar="ID", help="Consumer key.")
@click.option("-o", "--username", required=True, metavar="USER", help="Salesforce username.")
@click.option(
    "-r",
    "--environment",
    "--instance-url",
    "environment",
    required=True,
    metavar="ENV",
    help="production, sandbox, or a login URL (My Domain, site, emulator).",
)
@click.option(
    "-f",
    "--jwt-key-file",
    metavar="KEY",
    help="Private key (or signer URI); a key pair is generated when left out.",
)
@click.option("--cert", metavar="CRT", help="Certificate [default: server.crt beside the key].")
@click.option("--audience", metavar="URL", help="The aud claim, when not the default.")
@click.option("--allow-host", multiple=True, metavar="HOST", help="Trust a non-Salesforce host.")
@click.option("--passphrase-env", metavar="VAR", help="Variable holding the key passphrase.")
@click.option("--session-timeout", type=click.IntRange(1, 1440), help="Minutes [default: 120].")
@click.option("--cache", help="memory, file:PATH or redis://... [default: memory].")
@click.option("--audit", metavar="PATH", help="Audit trail file.")
@click.option("--proxy", metavar="URL", help="HTTP(S) proxy.")
@click.option("--ca-bundle", metavar="PATH", help="CA bundle for TLS.")
@click.option("--force", is_flag=True, help="Replace an existing profile of that name.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default profile.")
@global_options
@pass_app
def init(
    app: App, name: str, cert: str | None, force: bool, make_default: bool, **opts: Any
) -> int:
    """Create a profile NAME (and a key pair, when no --jwt-key-file is given).

    A generated key pair goes to keys/NAME/ beside the configuration file (directory 0700,
    key 0600); upload its server.crt to the External Client App.

    \b
    Example:
      sfbearer init prod -i 3MVG9... -o integration@acme.com -r https://acme.my.salesforce.com
    """
    from sfbearer._config_file import check_profile_name, profile_to_table, validate_table
    from sfbearer.config import Profile, config_path, load_profiles, save_profile

    check_profile_name(name)
    opts = {k: v for k, v in opts.items() if v is not None}
    allow_hosts = tuple(opts.pop("allow_host", ()))
    key = opts.pop("jwt_key_file", None)
    if cert is not None and key is None:
        raise click.UsageError("--cert needs --jwt-key-file (a generated key comes with its own)")
    if name in load_profiles() and not force:
        from sfbearer._exceptions import ProfileError

        raise ProfileError(
            f"profile {name!r} already exists in {config_path()}",
            hint="pass --force to replace it, or choose another name",
        )
    for field in ("audit", "ca_bundle"):
        if field in opts:  # stored absolute: the file is read from any directory
            opts[field] = _absolute(opts[field])
    if str(opts.get("cache", "")).startswith("file:"):
        opts["cache"] = "file:" + _absolute(opts["cache"][len("file:") :])
    profile = Profile(name=name, allow_hosts=allow_hosts, **opts)
    validate_table(name, profile_to_table(profile), source="init")
    env = profile.env()  # the host rules, before anything is written
    generated = False
    if key is None:
        key_path, generated = _make_key_pair(app, name, profile.passphrase_env)
        key_ref = str(key_path)
    else:
        key_ref = (
            key if key.startswith(("pkcs11:", "awskms:")) else str(Path(key).expanduser().resolve())
        )
    cert_ref = str(Path(cert).expanduser().resolve()) if cert else None
    from dataclasses import replace

    profile = replace(profile, jwt_key_file=key_ref, cert_file=cert_ref)
    info = _check_given_key(app, profile, cert_given=cert is not None)
    file = save_profile(profile, force=force, make_default=make_default)
    mismatch = sandbox_mismatch(profile.username, env)
    if mismatch:
        app.warn(mismatch)
    if info is not None and info.days_left < _CERT_WARN_DAYS:
        app.warn(f"the certificate expires in {info.days_left} days ({info.not_after:%Y-%m-%d})")
    from sfbearer.config import default_profile_name

    is_default = default_profile_name() == name
    cert_path_final = profile.certificate_path()
    if app.json_mode:
        app.json(
            {
                "profile": name,
                "config": str(file),
                "default": is_default,
                "key": profile.key_source(),
                "generated": generated,
                "certificate": str(cert_path_final) if cert_path_final else None,
                "sha1_fingerprint": info.sha1_fingerprint if info else None,
                "token_url": env.token_url,
                "audience": env.audience,
            }
        )
        return EXIT_OK
    app.out(f"profile:      {name}{' (default)' if is_default else ''} in {file}")
    app.out(f"environment:  {env.describe()}")
    app.out(f"key:          {profile.key_source()}{' (generated, mode 0600)' if generated else ''}")
    if cert_path_final is not None:
        detail = (
            f" (SHA-1 {info.sha1_fingerprint}, expires {info.not_after:%Y-%m-%d})" if info else ""
        )
        app.out(f"certificate:  {cert_path_final}{detail}")
    use = "" if is_default else f" -p {name}"
    app.info("next steps:")
    if cert_path_final is not None:
        app.info(
            f"  1. upload {cert_path_final} to the External Client App (OAuth settings >"
            ' "Use digital signatures")'
        )
    app.info(
        f"  2. pre-authorize {profile.username}: admin-approved policy, and the user's"
        " profile or permission set assigned to the app"
    )
    app.info(f"  3. check the whole chain: sfbearer{use} doctor")
    app.info(f"  4. get a token: sfbearer{use} token")
    return EXIT_OK


@click.group("profiles", context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def profiles() -> None:
    """List, show, remove profiles and choose the default one."""


@profiles.command("list")
@global_options
@pass_app
def list_(app: App) -> int:
    """List the profiles (* marks the default)."""
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
    """Show a profile (NAME, else --profile, else the default). Never prints secrets."""
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
    """Remove profile NAME. Its key files are kept (delete them once retired)."""
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
    """Make NAME the default profile."""
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
