"""Connection options shared by every command that talks to (or signs for) Salesforce.

Flag names follow the Salesforce CLI where the concept is the same (``--client-id/-i``,
``--username/-o``, ``--jwt-key-file/-f``, ``--instance-url/-r``). Flags only override: the
values are merged with SFBEARER_* variables and the profile by :func:`profile_from_flags`,
so the precedence (flags > env > profile > defaults) lives in one place,
:func:`sfbearer.config.resolve_profile`.

Example::

    @click.command()
    @connection_options
    @global_options
    @pass_app
    def token(app: App, **flags: Any) -> None:
        profile = profile_from_flags(app, **flags)
        signer = signer_for(app, profile)

This module imports only click at import time: ``assertion new`` is timed as a whole process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sfbearer.cli._app import App
    from sfbearer.config import Profile
    from sfbearer.environments import Environment
    from sfbearer.signers import Signer

__all__ = [
    "CONNECTION_FLAGS",
    "connection_options",
    "profile_from_flags",
    "sandbox_mismatch",
    "signer_for",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The keyword arguments :func:`connection_options` adds (each a :class:`Profile` field).
CONNECTION_FLAGS = (
    "client_id",
    "username",
    "jwt_key_file",
    "environment",
    "audience",
    "allow_hosts",
    "passphrase_env",
)


def connection_options(func: F) -> F:
    """Add the connection flags; the command receives them as keyword arguments.

    Each flag defaults to None ("not given"); ``allow_hosts`` is a tuple. Pass them all on to
    :func:`profile_from_flags`.
    """
    options = [
        click.option(
            "-i",
            "--client-id",
            "client_id",
            metavar="ID",
            help="Consumer key of the External Client App [env: SFBEARER_CLIENT_ID].",
        ),
        click.option(
            "-o",
            "--username",
            "username",
            metavar="USER",
            help="Salesforce username to act as [env: SFBEARER_USERNAME].",
        ),
        click.option(
            "-f",
            "--jwt-key-file",
            "jwt_key_file",
            metavar="KEY",
            help="Private key file (or pkcs11:/awskms: URI) [env: SFBEARER_JWT_KEY_FILE; "
            "SFBEARER_JWT_KEY holds a PEM].",
        ),
        click.option(
            "-r",
            "--environment",
            "--instance-url",
            "environment",
            metavar="ENV",
            help="production, sandbox or a login URL (My Domain, site, http://127.0.0.1:PORT "
            "for the emulator) [env: SFBEARER_ENVIRONMENT].",
        ),
        click.option(
            "--audience",
            "audience",
            metavar="URL",
            help="The aud claim, when it differs from the environment's [env: SFBEARER_AUDIENCE].",
        ),
        click.option(
            "--allow-host",
            "allow_hosts",
            metavar="HOST",
            multiple=True,
            help="Trust a non-Salesforce host (repeatable).",
        ),
        click.option(
            "--passphrase-env",
            "passphrase_env",
            metavar="VAR",
            help="Environment variable holding the key passphrase "
            "[default source: SFBEARER_KEY_PASSPHRASE].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def profile_from_flags(app: App, **flags: Any) -> Profile:
    """The effective profile: these flags over SFBEARER_* variables over ``app``'s profile.

    ``flags`` are :class:`~sfbearer.config.Profile` field names (None = not given), usually
    exactly what :func:`connection_options` passed to the command.

    Raises:
        ProfileError: the profile does not exist, or a required value is missing.
    """
    from sfbearer.config import resolve_profile

    overrides = {k: v for k, v in flags.items() if v is not None and v != ()}
    return resolve_profile(app.profile, overrides=overrides)


def signer_for(app: App, profile: Profile) -> Signer:
    """Load the profile's signer, prompting on a terminal for what it lacks.

    The passphrase of an encrypted key file, or the user PIN of an HSM key whose URI has no
    ``pin-source``; neither is echoed.
    """
    from sfbearer.config import load_signer, needs_passphrase

    passphrase = pin = None
    # Imported only when needed: the prompt module loads more than minting needs.
    if needs_passphrase(profile):
        from sfbearer.cli._passphrase import prompt_passphrase

        passphrase = prompt_passphrase(profile.key_source())
    elif profile.uses_signer_uri and profile.jwt_key_file:
        from sfbearer.cli._passphrase import prompt_pin

        pin = prompt_pin(profile.jwt_key_file)
    return load_signer(profile, passphrase=passphrase, pin=pin)


def sandbox_mismatch(username: str, env: Environment) -> str | None:
    """A warning when a sandbox-looking username (``user@acme.com.uat``) meets production."""
    from sfbearer.environments import looks_like_sandbox_username

    if env.is_sandbox or env.kind not in ("production", "my-domain"):
        return None
    if not looks_like_sandbox_username(username):
        return None
    return (
        f"{username} looks like a sandbox username, but the environment is production "
        f"({env.base_url}); for a sandbox use --environment sandbox or its My Domain URL"
    )
