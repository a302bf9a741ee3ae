"""Where a profile's private key comes from: a key file, a PEM in a variable, or a signer URI.

Re-exported by :mod:`sfbearer.config`; kept apart so each module holds one concern.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sfbearer._exceptions import KeyFileError, SignerError

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.signers import Signer

__all__ = ["PASSPHRASE_VAR", "SIGNER_URI_SCHEMES", "load_signer", "needs_passphrase"]

SIGNER_URI_SCHEMES = ("pkcs11:", "awskms:")
PASSPHRASE_VAR = "SFBEARER_KEY_PASSPHRASE"
_MAX_KEY_BYTES = 64 * 1024


def _passphrase(profile: Profile, explicit: str | None) -> str | None:
    if explicit is not None:
        return explicit
    if profile.passphrase_env:
        value = os.environ.get(profile.passphrase_env)
        if not value:
            raise KeyFileError(
                f"environment variable {profile.passphrase_env} (the key passphrase) is not set",
                hint=f"export {profile.passphrase_env}=... or remove passphrase_env",
            )
        return value
    if profile.passphrase_file:
        return _read_passphrase_file(Path(profile.passphrase_file).expanduser())
    return os.environ.get(PASSPHRASE_VAR) or None


def _read_passphrase_file(path: Path) -> str:
    import stat

    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"passphrase file {path} has mode {mode:04o}: it must not be accessible "
                "by group or others",
                hint=f"chmod 600 {os.path.realpath(path)}",
            )
        with open(path, encoding="utf-8") as fh:
            value = fh.read(4096).rstrip("\r\n")
    except OSError as exc:
        raise KeyFileError(f"cannot read passphrase file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"passphrase file {path} is not UTF-8 text") from None
    if not value:
        raise KeyFileError(f"passphrase file {path} is empty")
    return value


def needs_passphrase(profile: Profile) -> bool:
    """True when the key is encrypted and no passphrase source is configured (prompt for one)."""
    if profile.passphrase_env or profile.passphrase_file or os.environ.get(PASSPHRASE_VAR):
        return False
    if profile.jwt_key_env:
        data = os.environ.get(profile.jwt_key_env, "").encode()
    elif profile.jwt_key_file and not profile.uses_signer_uri:
        from sfbearer.keys import check_key_file_permissions

        path = Path(profile.jwt_key_file).expanduser()
        try:
            # An unsafe key is refused without asking for its passphrase first (as OpenSSH).
            check_key_file_permissions(path)
        except (OSError, KeyFileError):
            return False  # load_signer reports the real problem
        from sfbearer._files import read_head

        data = read_head(path, _MAX_KEY_BYTES) or b""
    else:
        return False
    from sfbearer.keys import is_encrypted_private_key

    return bool(data) and is_encrypted_private_key(data)


def load_signer(
    profile: Profile, *, passphrase: str | None = None, pin: str | None = None
) -> Signer:
    """The profile's signer: a key file (permissions checked), a PEM in a variable, or a URI.

    The passphrase comes from ``passphrase``, else ``passphrase_env``, else
    ``passphrase_file``, else ``SFBEARER_KEY_PASSPHRASE``. ``pin`` is the HSM user PIN for a
    ``pkcs11:`` URI without a ``pin-source`` (the CLI prompts for it on a terminal).

    Raises:
        KeyFileError: the key cannot be loaded (missing, unsafe permissions, wrong type or
            passphrase).
        SignerError: no key is configured, or a signer URI cannot be used.
    """
    from sfbearer.signers import FileSigner

    if profile.jwt_key_env:
        from sfbearer.keys import load_private_key_from_env

        key = load_private_key_from_env(profile.jwt_key_env, _passphrase(profile, passphrase))
        return FileSigner(key, source=f"env:{profile.jwt_key_env}")
    if not profile.jwt_key_file:
        raise SignerError(
            "no private key configured",
            hint="pass --jwt-key-file KEY, set SFBEARER_JWT_KEY_FILE or SFBEARER_JWT_KEY",
        )
    if profile.uses_signer_uri:
        try:
            from sfbearer.signers.uri import resolve_signer
        except ImportError:
            raise SignerError(
                f"signer URIs ({', '.join(SIGNER_URI_SCHEMES)}) are not available in this "
                "installation",
                hint="install the extra: pip install 'sfbearer[pkcs11]' or 'sfbearer[kms]'",
            ) from None
        signer: Signer = resolve_signer(profile.jwt_key_file, pin=pin)
        return signer
    from sfbearer.keys import load_private_key

    key_path = Path(profile.jwt_key_file).expanduser()
    key = load_private_key(key_path, _passphrase(profile, passphrase))
    return FileSigner(key, source=str(key_path))
