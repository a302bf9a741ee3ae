"""Passphrases for the CLI: from a named env var, ``SFBEARER_KEY_PASSPHRASE``, or a hidden prompt.

A passphrase never comes from the command line itself (it would land in shell history and
``ps``), is never echoed, and never appears in a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import KeyFileError
from sfbearer.cli._app import EXIT_CONFIG, Abort, stdin_is_tty

__all__ = [
    "PASSPHRASE_ENV",
    "load_key_interactive",
    "passphrase_from_env",
    "passphrase_option",
    "prompt_passphrase",
    "prompt_pin",
]

PASSPHRASE_ENV = "SFBEARER_KEY_PASSPHRASE"
F = TypeVar("F", bound=Callable[..., Any])


def passphrase_option(
    help_: str = "Read the key passphrase from this environment variable.",
) -> Callable[[F], F]:
    """The shared ``--passphrase-env VAR`` option (use as a decorator)."""
    return click.option(
        "--passphrase-env",
        metavar="VAR",
        default=None,
        help=f"{help_} [default: {PASSPHRASE_ENV}, else a prompt when interactive]",
    )


def passphrase_from_env(var: str | None) -> str | None:
    """The passphrase from ``var`` (when named) or from ``SFBEARER_KEY_PASSPHRASE``.

    Raises:
        Abort: ``var`` is named but unset or empty (exit 78).
    """
    if var:
        value = os.environ.get(var)
        if not value:
            raise Abort(
                f"environment variable {var} (from --passphrase-env) is not set or empty",
                EXIT_CONFIG,
                hint=f"export {var} first; the passphrase is read from the variable you name",
            )
        return value
    return os.environ.get(PASSPHRASE_ENV) or None


def _hidden_prompt(text: str) -> str:
    value: str = click.prompt(text, hide_input=True, default="", show_default=False)
    return value


def prompt_passphrase(what: str, *, confirm: bool = False) -> str | None:
    """Ask for a passphrase without echo when stdin is a terminal; ``None`` otherwise."""
    if not stdin_is_tty():
        return None
    value = _hidden_prompt(f"Passphrase for {what}")
    if confirm and value and _hidden_prompt("Repeat the passphrase") != value:
        raise Abort("the passphrases do not match", EXIT_CONFIG)
    return value or None


def prompt_pin(uri: str) -> str | None:
    """Ask for the HSM user PIN without echo, when ``uri`` is a ``pkcs11:`` URI without a
    ``pin-source`` and stdin is a terminal; ``None`` otherwise (the signer then reads the
    URI's ``pin-source``, or explains that the token needs a PIN).

    Raises:
        SignerError: ``uri`` is a malformed ``pkcs11:`` URI.
    """
    if not uri.startswith("pkcs11:") or not stdin_is_tty():
        return None
    from sfbearer.signers.uri import parse_pkcs11_uri

    parsed = parse_pkcs11_uri(uri)
    if parsed.pin_source is not None:
        return None
    token = f"token {parsed.token!r}" if parsed.token else "the token"
    return _hidden_prompt(f"User PIN for {token}") or None


def load_key_interactive(
    path: str | os.PathLike[str], passphrase_env: str | None
) -> rsa.RSAPrivateKey:
    """Load a private key file, asking for its passphrase only when needed and possible.

    Permissions are checked before any prompt, so an unsafe key is refused without a question.
    """
    from sfbearer.keys import is_encrypted_private_key, load_private_key

    passphrase = passphrase_from_env(passphrase_env)
    try:
        return load_private_key(path, passphrase)
    except KeyFileError:
        if passphrase is not None:
            raise
        from sfbearer._files import read_head

        encrypted = is_encrypted_private_key(read_head(path) or b"")
        prompted = prompt_passphrase(str(path)) if encrypted else None
        if prompted is None:
            raise
    return load_private_key(path, prompted)
