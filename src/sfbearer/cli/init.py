"""``sfbearer init NAME``: create a profile, and a key pair when none is given.

A profile names where things are (key file, certificate, environment); it never holds a
secret. The key given is loaded and checked against its certificate before anything is saved.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfbearer.cli._app import EXIT_OK, App, global_options, pass_app
from sfbearer.cli._options import sandbox_mismatch

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.keys import CertificateInfo

__all__ = ["init"]

_CERT_WARN_DAYS = 30
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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
@click.option("--cache", help="memory, file:DIR (a directory) or redis://... [default: memory].")
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
    if mismatch or not _EMAIL_LIKE.fullmatch(profile.username):
        app.warn(mismatch or f"{profile.username!r} is not a Salesforce username (user@domain)")
    if info is not None and info.days_left < _CERT_WARN_DAYS:
        app.warn(f"the certificate expires {info.not_after:%Y-%m-%d} ({info.days_text()})")
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
    if info is not None:
        app.info(
            f"  1. upload {cert_path_final} to the External Client App (OAuth settings >"
            ' "Use digital signatures")'
        )
    else:  # no certificate found: name the one that must exist, without inventing a path
        app.info(
            "  1. upload the certificate made with this key; name it: repeat init with --cert CRT --force"
        )
    app.info(
        f"  2. pre-authorize {profile.username}: admin-approved policy, and the user's"
        " profile or permission set assigned to the app"
    )
    app.info(f"  3. check the whole chain: sfbearer{use} doctor")
    app.info(f"  4. get a token: sfbearer{use} token")
    return EXIT_OK
